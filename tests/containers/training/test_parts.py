"""The training image's parts in-process: hyperparameters, device placement, dataset views, checkpoints, names."""

from __future__ import annotations

import json

import pytest

from containers.common.contract import JobFailure
from containers.common.ultralytics_env import configure_offline
from containers.training import checkpoints
from containers.training.datasets import dataset_view, read_split
from containers.training.devices import place
from containers.training.hyperparameters import Hyperparameters, parse
from containers.training.metrics import metrics_line, tracking_name
from tests.containers.conftest import TINY_TRAINING


def test_hyperparameters_parse_the_pipeline_strings():
    parsed = parse({**TINY_TRAINING, "sagemaker_program": "ignored", "sagemaker_region": '"us-east-1"'})
    assert parsed == Hyperparameters(model_variant="yolo11n", epochs=12, imgsz=128, batch=4, patience=50,
                                     optimizer="AdamW", lr0=0.004, warmup_epochs=1.0, workers=0, seed=0,
                                     model_variant_given=True)
    assert parsed.nominal_batch == 4
    assert parse({"batch": "8", "nbs": "64"}).nominal_batch == 64
    assert parse({}) == Hyperparameters()


@pytest.mark.parametrize(("given", "expected"), [("RMSProp", "RMSprop"), ("adamw", "AdamW"), ("AUTO", "auto")])
def test_optimizer_names_are_matched_case_insensitively(given, expected):
    assert parse({"optimizer": given}).optimizer == expected


@pytest.mark.parametrize(("key", "value"), [("epochs", "0"), ("batch", "1.5"), ("lr0", "0"), ("lr0", "nan"),
                                            ("warmup_epochs", "-1"), ("patience", "-1"), ("optimizer", "Lion"),
                                            ("device", "cuda:x"), ("nbs", "")])
def test_out_of_range_values_name_key_and_value(key, value):
    with pytest.raises(JobFailure, match=f"^hyperparameter {key}={value!r} is invalid: expected "):
        parse({key: value})


@pytest.mark.parametrize(("given", "expected"), [("0,1", "0,1"), (" CUDA:1 ", "cuda:1"), ("cpu", "cpu")])
def test_device_syntax(given, expected):
    assert parse({"device": given}).device == expected


def test_placement_without_cuda(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert (place(None, 16).device, place("cpu", 16).amp) == ("cpu", False)
    with pytest.raises(JobFailure, match="asks for a GPU, but CUDA sees none"):
        place("0", 16)


def test_placement_on_gpus(monkeypatch):
    """Every visible GPU by default (DDP); bf16 where the GPUs have it, so ultralytics' AMP check never runs."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i: (8, 6) if i < 2 else (7, 5))
    everything = place(None, 16)
    assert (everything.device, everything.gpus, everything.distributed, everything.amp) == ("0,1,2,3", 4, True, True)
    assert place("cuda:1", 16) == place("1", 16)
    assert place("0,1", 16).amp == "bf16"
    with pytest.raises(JobFailure, match=r"names GPU 4, but only 4 are visible \(0..3\)"):
        place("1,4", 16)
    with pytest.raises(JobFailure, match=r"batch=10 must be a multiple of the number of GPUs \(4\)"):
        place(None, 10)


def test_dataset_view_links_files_and_leaves_the_input_alone(prepared_splits, tmp_path):
    train = read_split("channel 'train'", prepared_splits / "train")
    before = sorted(p.relative_to(prepared_splits) for p in prepared_splits.rglob("*"))
    data = dataset_view({"train": train, "val": read_split("channel 'val'", prepared_splits / "val")},
                        train.names, tmp_path / "view")
    images = sorted((tmp_path / "view" / "train" / "images").iterdir())
    assert len(images) == train.images and all(p.is_symlink() for p in images)
    assert images[0].resolve().parent == (prepared_splits / "train" / "images").resolve()
    assert "train:" in data.read_text() and "val:" in data.read_text()
    assert sorted(p.relative_to(prepared_splits) for p in prepared_splits.rglob("*")) == before


def test_a_split_without_class_names_fails(prepared_splits, tmp_path):
    split = tmp_path / "val"
    (split / "images").mkdir(parents=True)
    (split / "labels").mkdir()
    (split / "images" / "a.jpg").write_bytes((next((prepared_splits / "val" / "images").iterdir())).read_bytes())
    (split / "data.yaml").write_text("nc: 3\n")
    with pytest.raises(JobFailure, match=r"channel 'val': .*data.yaml needs 'names', a non-empty list"):
        read_split("channel 'val'", split)


@pytest.fixture
def offline_ultralytics(monkeypatch, tmp_path):
    """ultralytics importable in this process without network attempts; the environment is restored afterwards."""
    for name, value in {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "0", "YOLO_CONFIG_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    configure_offline()


def test_finished_or_broken_checkpoints_are_not_resumed(trained_model, tmp_path, offline_ultralytics, monkeypatch):
    monkeypatch.setenv("OPT_ML_ROOT", str(trained_model.parent))
    identity = json.loads((checkpoints.job_dir() / checkpoints.OWNER_FILE).read_text())
    finished = checkpoints.last_checkpoint()
    assert finished.is_file()
    assert not checkpoints.resumable(finished, identity)  # optimizer stripped: resume=True would start over
    truncated = tmp_path / "last.pt"
    truncated.write_bytes(finished.read_bytes()[:1000])
    assert not checkpoints.resumable(truncated, identity)
    assert not checkpoints.resumable(tmp_path / "absent.pt", identity)


def test_another_jobs_run_is_never_resumed(tmp_path, monkeypatch, capsys):
    """The checkpoint prefix is shared across executions: a run restored there from another job starts over."""
    monkeypatch.setenv("OPT_ML_ROOT", str(tmp_path))
    monkeypatch.setenv("TRAINING_JOB_NAME", "yolo11-train-1")
    mine = checkpoints.job_identity({"epochs": "3"})
    checkpoints.claim(mine)
    last = checkpoints.last_checkpoint()
    last.parent.mkdir(parents=True)
    last.write_bytes(b"an interrupted run")
    monkeypatch.setenv("TRAINING_JOB_NAME", "yolo11-train-2")
    assert not checkpoints.resumable(last, checkpoints.job_identity({"epochs": "3"}))
    assert "belongs to another training job" in capsys.readouterr().err
    monkeypatch.setenv("TRAINING_JOB_NAME", "yolo11-train-1")
    assert not checkpoints.resumable(last, checkpoints.job_identity({"epochs": "5"}))


def test_metric_names():
    assert metrics_line(3, {"precision": 0.5, "recall": 0.25, "mAP50": 0.75, "mAP50-95": 1e-6}) == (
        "[metrics] epoch=3 precision=0.50000 recall=0.25000 mAP50=0.75000 mAP50-95=0.00000")
    assert [tracking_name(k) for k in ("metrics/mAP50-95(B)", "train/box_loss", "lr/pg0", "metrics/precision(B)")] == [
        "mAP50-95", "train_box_loss", "lr_pg0", "precision"]
