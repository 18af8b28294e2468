"""TrainYOLO as a process: real ultralytics training on the sample data, each job in its own temporary /opt/ml."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys

import onnxruntime as ort
import pytest

from benchmarks.training_overhead import epoch_seconds
from containers.training.plots import TRAINING_PLOTS
from pipelines.sample_data import CLASS_NAMES
from tests.containers.conftest import REPO, run_entrypoint
from tests.containers.training.conftest import SHORT_EPOCHS, metric_lines, model_card, quick, training_job

TRAIN = "containers.training.train"
WEIGHTS_URI = "s3://artifacts/yolo11-detection/weights/yolo11n/0123456789ab/yolo11n.pt"


@pytest.mark.slow
def test_trained_model_learns_and_is_packaged(trained_model):
    assert sorted(p.name for p in trained_model.iterdir()) == ["best.onnx", "best.pt", "model.json"]
    card = model_card(trained_model)
    assert card["metrics"]["mAP50"] > 0.3, card["metrics"]
    assert set(card["metrics"]) == {"precision", "recall", "mAP50", "mAP50-95"}
    assert card["names"] == list(CLASS_NAMES)
    assert (card["variant"], card["imgsz"], card["epochs"], card["epochs_completed"]) == ("yolo11n", 128, 12, 12)
    assert card["hyperparameters"]["nbs"] == 4  # defaults to batch: the sample data is too small for nbs=64
    assert card["initialisation"] == {"kind": "yaml", "variant": "yolo11n", "source": None, "sha256": None}
    session = ort.InferenceSession(str(trained_model / "best.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "images"
    assert session.get_outputs()[0].shape[1] == 4 + len(CLASS_NAMES)
    plots = trained_model.parent / "output" / "data" / "plots"
    assert sorted(p.name for p in plots.iterdir()) == sorted(TRAINING_PLOTS[:-2])  # the sample val set: one batch
    assert all(p.stat().st_size > 10_000 for p in plots.iterdir())  # drawn, with the font (offline)
    run_dir = trained_model.parent / "checkpoints" / "local" / "run"  # what ultralytics drew: none of the skipped
    assert (run_dir / "results.png").is_file() and not (run_dir / "labels.jpg").exists()
    assert not list(run_dir.glob("train_batch*.jpg"))


@pytest.mark.slow
def test_fine_tuning_from_a_checkpoint_beats_training_from_the_yaml(prepared_splits, trained_model, weak_model,
                                                                    tmp_path, network_guard, mlflow_store):
    """The same few epochs from the weights of an earlier training reach a higher mAP50-95 than from the YAML; the
    start and the weights' source are in the log, model.json and the MLflow run."""
    uri, client = mlflow_store
    opt_ml = training_job(tmp_path / "opt_ml", prepared_splits, quick(epochs=SHORT_EPOCHS, weights_uri=WEIGHTS_URI))
    (opt_ml / "input" / "data" / "weights").mkdir()
    shutil.copyfile(trained_model / "best.pt", opt_ml / "input" / "data" / "weights" / "yolo11n.pt")
    result = run_entrypoint(TRAIN, ["train"], opt_ml, env={**network_guard.env, "MLFLOW_TRACKING_URI": uri,
                                                           "MLFLOW_EXPERIMENT_NAME": "yolo-test"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert network_guard.attempts() == ""
    digest = hashlib.sha256((trained_model / "best.pt").read_bytes()).hexdigest()
    assert f"Training yolo11n from pretrained weights {WEIGHTS_URI} (sha256 {digest})" in result.stdout
    log = tmp_path / "train.log"  # benchmarks/training_overhead.py times each epoch by its finished progress bar
    log.write_text(result.stdout + result.stderr)
    assert len(epoch_seconds(log)) == int(SHORT_EPOCHS)
    tuned, scratch = model_card(opt_ml / "model"), model_card(weak_model)
    assert scratch["initialisation"]["kind"] == "yaml" and scratch["epochs_completed"] == tuned["epochs_completed"]
    assert tuned["metrics"]["mAP50-95"] > scratch["metrics"]["mAP50-95"] + 0.05, (tuned["metrics"],
                                                                                   scratch["metrics"])
    assert tuned["initialisation"] == {"kind": "pretrained", "variant": "yolo11n", "source": WEIGHTS_URI,
                                       "sha256": digest}
    [run] = client.search_runs([client.get_experiment_by_name("yolo-test").experiment_id])
    assert {k: run.data.params[k] for k in ("initialisation", "weights", "weights_sha256")} == {
        "initialisation": "pretrained", "weights": WEIGHTS_URI, "weights_sha256": digest}
    assert {a.path for a in client.list_artifacts(run.info.run_id, "plots")} >= {"plots/results.png",
                                                                                   "plots/confusion_matrix.png"}


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
    assert result.failure == (f"channel 'weights' must hold exactly one *.pt checkpoint or model.tar.gz, found 2 "
                              f"(a.pt, b.pt) in {weights}")


@pytest.mark.parametrize(("case", "message"), [
    ("wrong-variant", "channel 'weights' holds a yolo11n model but hyperparameter model_variant='yolo11s': "
                      "set model_variant=yolo11n or leave it unset"),
    ("not-a-checkpoint", "channel 'weights': start.pt is not an Ultralytics checkpoint of a YOLO detection model: "
                         "start.pt is not a torch checkpoint (not a zip file"),
    ("missing-uri", f"hyperparameter weights_uri='{WEIGHTS_URI}' names weights, but channel 'weights' has no *.pt "
                    "or model.tar.gz at {root}/input/data/weights"),
])
def test_bad_weights_fail_before_training(prepared_splits, trained_model, tmp_path, case, message):
    opt_ml = training_job(tmp_path / "opt_ml", prepared_splits,
                          quick(model_variant="yolo11s" if case == "wrong-variant" else "yolo11n",
                                weights_uri=WEIGHTS_URI))
    if case != "missing-uri":
        (opt_ml / "input" / "data" / "weights").mkdir()
        start = opt_ml / "input" / "data" / "weights" / "start.pt"
        if case == "wrong-variant":
            shutil.copyfile(trained_model / "best.pt", start)
        else:
            start.write_text("<html>AccessDenied</html>")
    result = run_entrypoint(TRAIN, ["train"], opt_ml)
    assert result.returncode == 1
    assert result.failure.startswith(message.format(root=opt_ml)), result.failure
    assert not (opt_ml / "checkpoints").exists(), "nothing may start before the weights are checked"


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
