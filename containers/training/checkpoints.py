"""Where a training run keeps its state, and whether a run found there is to be resumed.

The run directory is ``/opt/ml/checkpoints/<training job name>/run``: SageMaker syncs /opt/ml/checkpoints to S3 while
training and restores it when a (spot) job restarts. Jobs that share the checkpoint prefix (concurrent executions
on the same data) each write their own folder, so they never clobber each other, and a restarted job (same name)
finds its own run. ``run`` is a sub-folder because ultralytics' DDP launcher deletes the run folder of a fresh run,
and the job's folder itself must survive that.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

from containers.common import contract

__all__ = ["claim", "clear", "job_dir", "job_identity", "last_checkpoint", "resumable", "run_dir"]

RUN_NAME = "run"
OWNER_FILE = "job.json"  # which job the run in the checkpoint folder belongs to


def job_dir() -> Path:
    """This job's own folder under the checkpoint root (``local`` outside SageMaker, which names every job)."""
    name = re.sub(r"[^A-Za-z0-9-]", "-", os.environ.get("TRAINING_JOB_NAME") or "local")
    return contract.checkpoint_dir() / name


def run_dir() -> Path:
    return job_dir() / RUN_NAME


def last_checkpoint() -> Path:
    return run_dir() / "weights" / "last.pt"


def job_identity(hyperparameters: dict[str, str]) -> dict[str, object]:
    """What makes a run this job's own: the job name (kept across spot restarts) and its hyperparameters."""
    return {"training_job_name": os.environ.get("TRAINING_JOB_NAME"), "hyperparameters": dict(sorted(
        hyperparameters.items()))}


def claim(identity: dict[str, object]) -> None:
    """Record that the run about to start in the checkpoint folder belongs to this job."""
    path = job_dir() / OWNER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(identity, sort_keys=True))


def _owned_by(identity: dict[str, object]) -> bool:
    path = job_dir() / OWNER_FILE
    try:
        return json.loads(path.read_text()) == json.loads(json.dumps(identity, sort_keys=True))
    except (OSError, ValueError):
        return False


def resumable(last: Path, identity: dict[str, object]) -> bool:
    """Whether ``last`` is this job's interrupted run: its own, optimizer state still in it and epochs left.

    The checkpoint S3 prefix is shared by the executions that train on the same data (so that step caching still
    works), so a run restored there may be another job's: that one is never resumed. Ultralytics strips the
    optimizer from last.pt when a run finishes; ``resume=True`` on such a file would start a fresh run with
    ultralytics' defaults instead. A file cut short by a kill is not resumable either.
    """
    if not last.is_file():
        return False
    if not _owned_by(identity):
        print(f"Not resuming {last}: it belongs to another training job (or to other hyperparameters)",
              file=sys.stderr)
        return False
    from containers.common.safe_checkpoint import CheckpointError, load

    try:
        ckpt = load(last)
    except CheckpointError as exc:  # truncated, foreign or hostile: start over rather than fail the job
        print(f"WARNING: ignoring checkpoint {last}: {exc}", file=sys.stderr)
        return False
    epoch = ckpt.get("epoch", -1)
    epochs = (ckpt.get("train_args") or {}).get("epochs")
    return ckpt.get("optimizer") is not None and isinstance(epochs, int) and 0 <= epoch < epochs - 1


def clear() -> None:
    """Remove a previous run's files (a finished or unreadable run is never mixed into a new one)."""
    shutil.rmtree(run_dir(), ignore_errors=True)
