"""The local MLflow store (SQLite + an artifact root under the state directory): training runs and the registry.

The store is created (schema migrated) once by this process before any job starts, because two processes creating a
fresh SQLite store at the same moment can crash in the migration. Experiments are created here with their artifact
location under the state directory; left to the training job, MLflow would put artifacts in ``./mlruns`` of
whatever directory the job ran in. MLflow's usage telemetry is switched off: local mode makes no network call.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
from typing import TYPE_CHECKING

from pipelines.local.state import StateDir

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["TRAINING_JOB_TAG", "client", "end_stopped_runs", "ensure_experiment", "mlflow_ui_command"]

TRAINING_JOB_TAG = "sagemaker.training_job_name"  # set by the training image on its MLflow run


def client(state: StateDir) -> MlflowClient:
    """A client on the state directory's store, created and migrated on first use."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # else usage reports go to the network (offline here)
    for noisy in ("alembic", "mlflow.store.db.utils"):  # creating the store logs every migration at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from mlflow import MlflowClient

    # MLflow imports polars, which makes system calls restart after SIGINT: Ctrl-C (or SIGTERM) during a job would
    # then wait for the job's next line of output. Python's own behaviour (interrupt the call, raise) comes back.
    for stop in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):
            signal.siginterrupt(stop, True)
    state.ensure()
    if not state.mlflow_db.exists():  # owner-only, as the state directory; an empty file is an empty SQLite database
        os.close(os.open(state.mlflow_db, os.O_CREAT | os.O_WRONLY, 0o600))
    return MlflowClient(tracking_uri=state.tracking_uri, registry_uri=state.tracking_uri)


def ensure_experiment(state: StateDir, name: str) -> str:
    """The id of experiment ``name``, created with its artifacts under ``<state>/mlartifacts/`` when new."""
    mlflow = client(state)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    folder = state.mlflow_artifacts / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "experiment")
    return mlflow.create_experiment(name, artifact_location=folder.as_uri())


def mlflow_ui_command(state_dir: str | os.PathLike[str] | StateDir | None = None) -> str:
    """The command that shows the local runs and registered models in the MLflow UI."""
    return f"mlflow ui --backend-store-uri {StateDir.at(state_dir).tracking_uri}"


def end_stopped_runs(state: StateDir, training_job_name: str) -> None:
    """Mark KILLED the MLflow runs of a training job that was stopped: it left them RUNNING, or, when it handled the
    SIGTERM itself, FAILED (it cannot tell a stop from a failure)."""
    mlflow = client(state)
    experiments = [e.experiment_id for e in mlflow.search_experiments()]
    query = f"tags.`{TRAINING_JOB_TAG}` = '{training_job_name}'"
    for run in mlflow.search_runs(experiments, query) if experiments else []:
        if run.info.status in ("RUNNING", "FAILED"):
            mlflow.set_terminated(run.info.run_id, "KILLED")
