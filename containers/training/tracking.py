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
PLOTS = "plots"  # the run's artifact folder of Ultralytics' plots
JOB_TAG = "sagemaker.training_job_name"


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

    @classmethod
    def find(cls, training_job_name: str) -> Tracker | None:
        """The run a training job opened (by its ``sagemaker.training_job_name`` tag); None when tracking is off or
        there is no such run. A later job (EvaluateYOLO) adds its artifacts to it; a tracking error is a warning."""
        if not os.environ.get("MLFLOW_TRACKING_URI"):
            return None
        os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
        from mlflow import MlflowClient

        client = MlflowClient()
        try:
            experiments = [e.experiment_id for e in client.search_experiments()]
            runs = client.search_runs(experiments, f"tags.`{JOB_TAG}` = '{training_job_name}'", max_results=1) \
                if experiments else []
        except Exception as exc:
            print(f"WARNING: MLflow run of training job {training_job_name} not looked up: {exc}", file=sys.stderr)
            return None
        return cls(runs[0].info.run_id) if runs else None

    def log_files(self, paths: Iterable[Path], folder: str | None = None) -> None:
        """Upload files into the run's artifacts (into ``folder`` when given); an error is a warning."""
        from mlflow import MlflowClient

        client = MlflowClient()
        try:
            for path in paths:
                client.log_artifact(self.run_id, str(path), folder)
        except Exception as exc:
            print(f"WARNING: MLflow artifacts not logged to run {self.run_id}: {exc}", file=sys.stderr)

    def log_metrics(self, values: Mapping[str, float], step: int) -> None:
        from mlflow import MlflowClient
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        try:
            MlflowClient().log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in values.items()])
        except Exception as exc:
            print(f"WARNING: MLflow metrics of step {step} not logged: {exc}", file=sys.stderr)

    def finish(self, artifacts: Iterable[Path], status: str, plots: Iterable[Path] = ()) -> None:
        """Upload the artifacts (files; ``plots`` into ``plots/``) and close the run as ``status``: FINISHED, FAILED
        or KILLED (stopped).

        A tracking error here is a warning: the model is in /opt/ml/model by now (or the job's own error is what
        must be reported).
        """
        from mlflow import MlflowClient

        self.log_files(artifacts)
        self.log_files(plots, PLOTS)
        try:
            MlflowClient().set_terminated(self.run_id, status=status)
        except Exception as exc:
            print(f"WARNING: MLflow run {self.run_id} not closed: {exc}", file=sys.stderr)
