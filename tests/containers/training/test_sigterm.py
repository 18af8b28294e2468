"""TrainYOLO on SIGTERM (what SageMaker sends on StopTrainingJob and on a spot interruption, SIGKILL following
120 s later; AWS doc "Use checkpoints in Amazon SageMaker"): it exits at once with 143, keeps the last finished
epoch's checkpoint for the rerun, marks the MLflow run KILLED and removes its temporary folders. The container
version (python as PID 1, then the rerun resuming) is tests/containers/test_step_images.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from containers.training import checkpoints
from tests.containers.conftest import REPO
from tests.containers.training.conftest import quick, training_job


@pytest.mark.slow
def test_sigterm_stops_the_job_keeps_its_checkpoint_and_kills_the_mlflow_run(prepared_splits, tmp_path,
                                                                             monkeypatch):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    client.create_experiment("yolo-test", artifact_location=str(tmp_path / "artifacts"))
    opt_ml = training_job(tmp_path / "opt_ml", prepared_splits, quick(epochs="5"))
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "OPT_ML_ROOT": str(opt_ml), "PYTHONPATH": str(REPO), "MLFLOW_TRACKING_URI": uri,
           "MLFLOW_EXPERIMENT_NAME": "yolo-test", "TRAINING_JOB_NAME": "sigterm-test", "TMPDIR": str(tmp_path / "tmp")}
    job = subprocess.Popen([sys.executable, "-m", "containers.training.train", "train"], cwd=REPO, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert job.stdout is not None
    for line in job.stdout:
        if line.startswith("[metrics] epoch=1 "):
            job.send_signal(signal.SIGTERM)
            break
    stdout, stderr = job.communicate(timeout=120)
    assert job.returncode == 143, stderr[-3000:]
    assert "Stopped by SIGTERM" in stderr and "Traceback" not in stderr
    assert "[metrics] epoch=5 " not in stdout  # it did not train on
    assert not (opt_ml / "output" / "failure").exists() and not (opt_ml / "model" / "model.json").exists()
    assert not list((tmp_path / "tmp").glob("yolo-*"))  # the dataset view (yolo-data-*) is removed
    identity = {"training_job_name": "sigterm-test", "hyperparameters": dict(sorted(quick(epochs="5").items()))}
    monkeypatch.setenv("OPT_ML_ROOT", str(opt_ml))
    monkeypatch.setenv("TRAINING_JOB_NAME", "sigterm-test")  # the job's own checkpoint folder
    assert checkpoints.resumable(checkpoints.last_checkpoint(), identity)  # a rerun resumes it
    [run] = client.search_runs([client.get_experiment_by_name("yolo-test").experiment_id])
    assert run.info.status == "KILLED"
