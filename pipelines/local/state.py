"""The local state directory: one folder holds everything local mode writes.

Default ``./.yolo-pipeline/`` (git-ignored), or ``$YOLO_PIPELINE_HOME``, or an explicit path. Inside: the object store
that stands in for S3, the MLflow tracking/registry store, execution records with their logs and work dirs, the step
cache and the local endpoints.

The directory is created owner-only (0700): it holds the registry, the logs and copies of the datasets. It cannot be
copied or moved: MLflow records absolute artifact paths, so a copy would write into the original. The directory
remembers where it was created and refuses to be used anywhere else.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.local.errors import LocalModeError

__all__ = ["DEFAULT_DIRNAME", "HOME_ENV", "StateDir"]

HOME_ENV = "YOLO_PIPELINE_HOME"
DEFAULT_DIRNAME = ".yolo-pipeline"
LOCATION_FILE = "location.json"


@dataclass(frozen=True)
class StateDir:
    """The layout of one state directory (absolute paths; nothing is created until used)."""

    root: Path

    @classmethod
    def at(cls, path: str | os.PathLike[str] | StateDir | None = None) -> StateDir:
        """An explicit path, else ``$YOLO_PIPELINE_HOME``, else ``./.yolo-pipeline`` in the current directory."""
        if isinstance(path, StateDir):
            return path
        chosen = path or os.environ.get(HOME_ENV) or DEFAULT_DIRNAME
        return cls(Path(chosen).expanduser().resolve())

    def ensure(self) -> StateDir:
        """Create the directory (0700) when new, and check that it is where it was created.

        Raises:
            LocalModeError: the path is a file, or the directory is a copy or a move of one created elsewhere.
        """
        if self.root.exists() and not self.root.is_dir():
            raise LocalModeError(f"the local state directory {self.root} is a file: remove it or choose another "
                                 f"directory (--state-dir or {HOME_ENV})")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        marker = self.root / LOCATION_FILE
        try:
            created_at = json.loads(marker.read_text())["root"]
        except FileNotFoundError:
            partial = marker.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps({"root": str(self.root)}))
            partial.replace(marker)
            return self
        except (ValueError, KeyError, TypeError):
            raise LocalModeError(f"{marker} is not readable: it records where this state directory was created; "
                                 f"restore it, or start afresh in another state directory") from None
        if created_at != str(self.root):
            raise LocalModeError(f"the local state directory {self.root} is a copy or a move of {created_at}: MLflow "
                                 "keeps absolute paths there, so it would write into the original; use "
                                 f"{created_at}, or start afresh in an empty state directory")
        return self

    @property
    def store(self) -> Path:
        """The object store: ``s3://bucket/key`` lives at ``store/bucket/key``."""
        return self.root / "store"

    @property
    def executions(self) -> Path:
        return self.root / "executions"

    def execution_dir(self, execution_id: str) -> Path:
        return self.executions / execution_id

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def endpoints(self) -> Path:
        return self.root / "endpoints"

    def image_root(self, image: str) -> Path:
        """The image's own filesystem (what its build bakes outside the copied code), e.g. a config dir."""
        return self.root / "images" / image

    @property
    def mlflow_db(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.root / "mlartifacts"

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking and registry URI (SQLite)."""
        return f"sqlite:///{self.mlflow_db}"
