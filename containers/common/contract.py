"""The SageMaker container contract (/opt/ml), in one place for every image.

SageMaker mounts inputs, configuration and outputs under ``/opt/ml``. Local mode and the tests run the very same
entrypoints as plain processes, so the root is overridable with the ``OPT_ML_ROOT`` environment variable; nothing
else differs between a container and a laptop.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT_ENV = "OPT_ML_ROOT"


def root() -> Path:
    """The /opt/ml root of this job (``$OPT_ML_ROOT`` when set)."""
    return Path(os.environ.get(ROOT_ENV, "/opt/ml"))


def input_config_dir() -> Path:
    return root() / "input" / "config"


def channel_dir(name: str) -> Path:
    """Where a training channel is mounted: /opt/ml/input/data/<channel>."""
    return root() / "input" / "data" / name


def model_dir() -> Path:
    """What SageMaker tars into model.tar.gz after training (and extracts before hosting)."""
    return root() / "model"


def checkpoint_dir() -> Path:
    """Synced to S3 during training and restored after a spot interruption."""
    return root() / "checkpoints"


def output_dir() -> Path:
    return root() / "output"


def output_data_dir() -> Path:
    return output_dir() / "data"


def processing_dir(*parts: str) -> Path:
    """A processing job's local path, by convention under /opt/ml/processing/."""
    return root().joinpath("processing", *parts)


def hyperparameters() -> dict[str, str]:
    """hyperparameters.json as SageMaker writes it: every value a string (missing file: none)."""
    path = input_config_dir() / "hyperparameters.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


class JobFailure(Exception):
    """A failure whose one-line reason belongs where SageMaker surfaces it (see ``failure_files``)."""


def failure_files() -> tuple[Path, Path]:
    """Where a failed job leaves its reason: both files, as one image serves both job kinds.

    Training jobs: /opt/ml/output/failure becomes DescribeTrainingJob's FailureReason (AWS doc "Amazon SageMaker
    Training Output", your-algorithms-training-algo-output). Processing jobs: /opt/ml/output/message becomes
    DescribeProcessingJob's ExitMessage (AWS doc "Save and Access Metadata Information About Your Processing Job",
    byoc-metadata); a processing job does not read the failure file.
    """
    return output_dir() / "failure", output_dir() / "message"


def write_failure(reason: str) -> Path:
    """Record why the job failed where SageMaker reads it: one line of UTF-8, cut to 1 KB like the service."""
    line = " ".join(str(reason).split()).encode()[:1024].decode(errors="ignore")
    paths = failure_files()
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(line + "\n", encoding="utf-8")
    return paths[0]


def run_job(main, argv: list[str] | None = None) -> int:
    """Run ``main(argv)``; on any error write the failure files, print the reason to stderr and return 1.

    Files left by an earlier run in the same root (local mode, tests) are removed first: they are not this run's.
    """
    for path in failure_files():
        path.unlink(missing_ok=True)
    try:
        main(sys.argv[1:] if argv is None else argv)
    except JobFailure as exc:
        write_failure(str(exc))
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # an unexpected error still leaves a reason behind, then the traceback
        write_failure(f"{type(exc).__name__}: {exc}")
        raise
    return 0
