"""TrainYOLO as a process: real ultralytics training on the sample data, each job in its own temporary /opt/ml."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys

import onnxruntime as ort
import pytest

from pipelines.sample_data import CLASS_NAMES
from tests.containers.conftest import REPO, run_entrypoint
from tests.containers.training.conftest import metric_lines, model_card, quick, training_job

TRAIN = "containers.training.train"


@pytest.mark.slow
def test_trained_model_learns_and_is_packaged(trained_model):
    assert sorted(p.name for p in trained_model.iterdir()) == ["best.onnx", "best.pt", "model.json"]
    card = model_card(trained_model)
    assert card["metrics"]["mAP50"] > 0.3, card["metrics"]
    assert set(card["metrics"]) == {"precision", "recall", "mAP50", "mAP50-95"}
    assert card["names"] == list(CLASS_NAMES)
    assert (card["variant"], card["imgsz"], card["epochs"], card["epochs_completed"]) == ("yolo11n", 128, 12, 12)
    assert card["hyperparameters"]["nbs"] == 4  # defaults to batch: the sample data is too small for nbs=64
    session = ort.InferenceSession(str(trained_model / "best.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "images"
    assert session.get_outputs()[0].shape[1] == 4 + len(CLASS_NAMES)


@pytest.mark.parametrize(("hyperparameters", "message"), [
    ({"epochs": "ten"}, "hyperparameter epochs='ten' is invalid: expected an integer >= 1"),
    ({"lr": "0.1"}, "unknown hyperparameter 'lr'='0.1' (did you mean 'lr0'?); allowed: batch, device, epochs"),
    ({"model_variant": "yolo12n"}, "hyperparameter model_variant='yolo12n' is invalid: expected one of yolo11n, "
                                   "yolo11s, yolo11m, yolo11l, yolo11x"),
    ({"imgsz": "100"}, "hyperparameter imgsz='100' is invalid: expected an integer >= 32, a multiple of 32"),
    ({"device": "gpu"}, "hyperparameter device='gpu' is invalid: expected cpu, cuda, cuda:N, or GPU indices"),
])
def test_bad_hyperparameters_fail_with_their_reason(prepared_splits, tmp_path, hyperparameters, message):
    opt_ml = training_job(tmp_path / "opt_ml", prepared_splits, {**quick(), **hyperparameters})
    result = run_entrypoint(TRAIN, ["train"], opt_ml)
    assert result.returncode == 1
    assert message in result.failure
    assert not (opt_ml / "model").exists()


def test_a_gpu_asked_for_without_cuda_fails(prepared_splits, tmp_path):
    opt_ml = training_job(tmp_path / "opt_ml", prepared_splits, quick(device="cuda"))
    result = run_entrypoint(TRAIN, ["train"], opt_ml, env={"CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 1
    assert result.failure.startswith("hyperparameter device='cuda' asks for a GPU, but CUDA sees none")


def test_missing_channel_fails(prepared_splits, tmp_path):
    opt_ml = training_job(tmp_path / "opt_ml", prepared_splits, quick(), channels=("train",))
    result = run_entrypoint(TRAIN, ["train"], opt_ml)
    assert result.returncode == 1
    assert result.failure.startswith(f"channel 'val' is missing: expected {opt_ml / 'input' / 'data' / 'val'}")


def test_empty_channel_fails(prepared_splits, tmp_path):
    opt_ml = training_job(tmp_path / "opt_ml", prepared_splits, quick())
    for image in (opt_ml / "input" / "data" / "train" / "images").iterdir():
        image.unlink()
    result = run_entrypoint(TRAIN, ["train"], opt_ml)
    assert result.returncode == 1
    assert result.failure.startswith("channel 'train' is empty: no images under "
                                     f"{opt_ml / 'input' / 'data' / 'train' / 'images'}")


def test_weights_channel_needs_exactly_one_checkpoint(prepared_splits, trained_model, tmp_path):
    opt_ml = training_job(tmp_path / "opt_ml", prepared_splits, quick())
    weights = opt_ml / "input" / "data" / "weights"
    weights.mkdir()
    for name in ("a.pt", "b.pt"):
        shutil.copyfile(trained_model / "best.pt", weights / name)
    result = run_entrypoint(TRAIN, ["train"], opt_ml)
    assert result.returncode == 1
    assert result.failure == (f"channel 'weights' must hold exactly one *.pt checkpoint, found 2 (a.pt, b.pt) "
                              f"in {weights}")


def test_weights_of_another_variant_fail(prepared_splits, trained_model, tmp_path):
    opt_ml = training_job(tmp_path / "opt_ml", prepared_splits, quick(model_variant="yolo11s"))
    (opt_ml / "input" / "data" / "weights").mkdir()
    shutil.copyfile(trained_model / "best.pt", opt_ml / "input" / "data" / "weights" / "start.pt")
    result = run_entrypoint(TRAIN, ["train"], opt_ml)
    assert result.returncode == 1
    assert result.failure == ("channel 'weights' holds a yolo11n model but hyperparameter model_variant='yolo11s': "
                              "set model_variant=yolo11n or leave it unset")


@pytest.fixture
def mlflow_store(tmp_path):
    """A SQLite tracking store with an experiment, made once before the job (as local mode does)."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    client.create_experiment("yolo-test", artifact_location=str(tmp_path / "artifacts"))
    return uri, client


@pytest.mark.slow
def test_killed_run_resumes_into_the_same_mlflow_run(prepared_splits, tmp_path, network_guard, mlflow_store):
    """A spot interruption: SIGKILL after epoch 2's line; the restarted job resumes from its checkpoint, finishes the
    same epoch count and keeps logging into the same MLflow run (params, per-epoch metrics, artifacts)."""
    uri, client = mlflow_store
    opt_ml = training_job(tmp_path / "opt_ml", prepared_splits, quick(epochs="3"))
    env = {**network_guard.env, "MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": "yolo-test",
           "TRAINING_JOB_NAME": "yolo11-train-42", "GIT_SHA": "0123abc",
           "TMPDIR": str(tmp_path)}  # the killed job cannot remove its temporary dataset view
    job = subprocess.Popen([sys.executable, "-m", TRAIN, "train"], cwd=REPO, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, env={**os.environ, "OPT_ML_ROOT": str(opt_ml), **env})
    first = []
    for line in job.stdout:
        first.append(line)
        if line.startswith("[metrics] epoch=2 "):
            job.send_signal(signal.SIGKILL)
            break
    job.wait(timeout=60)
    assert job.returncode == -signal.SIGKILL, "".join(first[-20:])
    assert not (opt_ml / "model" / "model.json").exists()

    result = run_entrypoint(TRAIN, ["train"], opt_ml, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming the interrupted run" in result.stdout
    printed = metric_lines("".join(first)) + metric_lines(result.stdout)
    assert [line[0] for line in printed] == [1, 2, 3]
    card = model_card(opt_ml / "model")
    assert (card["epochs"], card["epochs_completed"], card["training_job_name"]) == (3, 3, "yolo11-train-42")
    with (opt_ml / "checkpoints" / "yolo11-train-42" / "run" / "results.csv").open() as handle:
        epochs = {int(float(row["epoch"])) for row in csv.DictReader(handle, skipinitialspace=True)}
    assert sorted(epochs) == [1, 2, 3]
    assert not list((opt_ml / "input" / "data").rglob("*.cache")), "the channels must not be written to"
    assert network_guard.attempts() == ""

    [run] = client.search_runs([client.get_experiment_by_name("yolo-test").experiment_id])
    assert (run.info.status, run.info.run_name) == ("FINISHED", "yolo11-train-42")
    assert run.data.tags["mlflow.source.git.commit"] == "0123abc"
    assert {k: run.data.params[k] for k in ("model_variant", "epochs", "imgsz", "batch", "nbs", "device")} == {
        "model_variant": "yolo11n", "epochs": "3", "imgsz": "128", "batch": "4", "nbs": "4", "device": "cpu"}
    logged = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "mAP50")]
    assert [(step, round(value, 5)) for step, value in logged] == [(line[0], line[3]) for line in printed]
    assert {"mAP50-95", "precision", "recall", "train_box_loss", "val_box_loss", "lr_pg0",
            "final_mAP50-95"} <= set(run.data.metrics)
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"best.pt", "best.onnx", "model.json",
                                                                        "results.csv"}
