"""MLflow tracking of a training job, done by us (ultralytics' own MLflow logger stays off, see ultralytics_env).

Only when ``MLFLOW_TRACKING_URI`` is set (a server URL, a SageMaker MLflow tracking server ARN, or a local
``sqlite:///`` store). The client API with an explicit run id works from any process: ultralytics' DDP workers log
their epochs into the run the launcher opened, and a job restarted from its checkpoints continues the same run (its
id is kept beside the checkpoints).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from containers.common.contract import JobFailure

__all__ = ["DEFAULT_EXPERIMENT", "Tracker"]

DEFAULT_EXPERIMENT = "yolo11-training"


class Tracker:
    """One MLflow run. Per-epoch logging never fails the training: a lost point is a warning, not a lost job."""

    def __init__(self, run_id: str):
        self.run_id = run_id

    @classmethod
    def open(cls, params: Mapping[str, object], tags: Mapping[str, str], run_id_file: Path,
             resume: bool) -> Tracker | None:
        """Start a run (or, when resuming, reopen the one named in ``run_id_file``); None when tracking is off.

        Raises:
            JobFailure: the tracking server cannot be reached or refuses the run.
        """
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            return None
        os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"  # else MLflow 3 reports usage to its telemetry service
        from mlflow import MlflowClient
        from mlflow.entities import Param

        client = MlflowClient()
        try:
            if resume and run_id_file.is_file():
                run_id = run_id_file.read_text().strip()
                client.update_run(run_id, status="RUNNING")
                return cls(run_id)
            name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
            experiment = client.get_experiment_by_name(name)
            experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
            run = client.create_run(experiment_id, run_name=tags.get("mlflow.runName"), tags=dict(tags))
            client.log_batch(run.info.run_id, params=[Param(key, str(value)) for key, value in params.items()])
        except Exception as exc:
            raise JobFailure(f"MLflow tracking at MLFLOW_TRACKING_URI={uri!r} failed: {type(exc).__name__}: "
                             f"{exc}") from exc
        run_id_file.parent.mkdir(parents=True, exist_ok=True)
        run_id_file.write_text(run.info.run_id)
        return cls(run.info.run_id)

    def log_metrics(self, values: Mapping[str, float], step: int) -> None:
        from mlflow import MlflowClient
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        try:
            MlflowClient().log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in values.items()])
        except Exception as exc:
            print(f"WARNING: MLflow metrics of step {step} not logged: {exc}", file=sys.stderr)

    def finish(self, artifacts: Iterable[Path], status: str) -> None:
        """Upload the artifacts (files) and close the run as ``status``: FINISHED, FAILED or KILLED (stopped).

        A tracking error here is a warning: the model is in /opt/ml/model by now (or the job's own error is what
        must be reported).
        """
        from mlflow import MlflowClient

        client = MlflowClient()
        try:
            for path in artifacts:
                client.log_artifact(self.run_id, str(path))
            client.set_terminated(self.run_id, status=status)
        except Exception as exc:
            print(f"WARNING: MLflow run {self.run_id} not closed: {exc}", file=sys.stderr)
