"""The local state directory: one folder holds everything local mode writes.

Default ``./.yolo-pipeline/`` (git-ignored), or ``$YOLO_PIPELINE_HOME``, or an explicit path. Inside: the object store
that stands in for S3, the MLflow tracking/registry store, execution records with their logs and work dirs, the step
cache and the local endpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_DIRNAME", "HOME_ENV", "StateDir"]

HOME_ENV = "YOLO_PIPELINE_HOME"
DEFAULT_DIRNAME = ".yolo-pipeline"


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
