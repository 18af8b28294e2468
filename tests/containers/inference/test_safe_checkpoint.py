"""A ``.pt`` from outside the job never runs code: a hostile pickle is refused, with its reason, by every entrypoint
that loads one (the torch inference backend, the weights channel, a restored last.pt, EvaluateYOLO); a real
Ultralytics checkpoint still loads (the trained_model fixture's training, resume and evaluation tests cover those).
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.containers.conftest import TINY_TRAINING, place_tree, run_entrypoint, write_training_config
from tests.containers.inference.server import Server


class Payload:
    """Unpickling this runs a shell command: what a hostile best.pt does under ``weights_only=False``."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def hostile_checkpoint(path: Path, marker: Path) -> Path:
    """A torch.save zip whose pickle would create ``marker`` through os.system (posix.system) when loaded."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": Payload(f"touch {marker}"), "train_args": {}}, path)
    return path


def assert_refused(message: str, path: Path, marker: Path) -> None:
    assert not marker.exists(), "the checkpoint's payload ran"
    assert f"refused to load {path}: unpickling it would call posix.system" in message, message
    assert "nothing from the file was run" in message


def test_the_payload_runs_under_a_plain_torch_load(tmp_path):
    """The control: the test checkpoint really is hostile, so the refusals below mean something."""
    import torch

    marker = tmp_path / "ran"
    torch.load(hostile_checkpoint(tmp_path / "evil.pt", marker), weights_only=False)
    assert marker.exists()


def test_the_torch_backend_refuses_a_hostile_best_pt(trained_model, tmp_path):
    opt_ml, marker = tmp_path / "opt_ml", tmp_path / "ran"
    shutil.copytree(trained_model, opt_ml / "model")
    best = hostile_checkpoint(opt_ml / "model" / "best.pt", marker)
    with Server(opt_ml, tmp_path / "server.log", {"INFERENCE_BACKEND": "torch"}, workers=1) as server:
        reply = server.wait_until(503, timeout=120, says="model failed to load")
    assert_refused(reply.body["error"], best, marker)


@pytest.mark.parametrize("disguised", [False, True])
def test_the_weights_channel_refuses_a_hostile_checkpoint(prepared_splits, trained_model, tmp_path, disguised):
    """A payload in place of the model is refused by the metadata check (containers.common.checkpoint_metadata,
    nothing unpickled); one hidden beside a real model passes that check and is refused by the weights-only load."""
    import torch

    opt_ml, marker = tmp_path / "opt_ml", tmp_path / "ran"
    for channel in ("train", "val"):
        place_tree(prepared_splits / channel, opt_ml / "input" / "data" / channel)
    write_training_config(opt_ml, TINY_TRAINING)
    weights = opt_ml / "input" / "data" / "weights" / "start.pt"
    if disguised:
        checkpoint = torch.load(trained_model / "best.pt", weights_only=False)  # our own, trusted file
        weights.parent.mkdir(parents=True)
        torch.save({**checkpoint, "train_args": Payload(f"touch {marker}")}, weights)
    else:
        hostile_checkpoint(weights, marker)
    result = run_entrypoint("containers.training.train", ["train"], opt_ml)
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.failure is not None
    if disguised:
        assert result.failure.startswith("channel 'weights': refused to load"), result.failure
        assert_refused(result.failure, weights, marker)
    else:
        assert result.failure.startswith("channel 'weights': start.pt is not an Ultralytics checkpoint of a YOLO "
                                         "detection model: start.pt is not an Ultralytics detection checkpoint: its "
                                         "'model' is posix.system"), result.failure
        assert not marker.exists()


def test_evaluate_refuses_a_hostile_best_pt(trained_model, prepared_splits, tmp_path):
    opt_ml, marker = tmp_path / "opt_ml", tmp_path / "ran"
    best = hostile_checkpoint(tmp_path / "evil" / "best.pt", marker)
    archive = opt_ml / "processing" / "model" / "model.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(best, arcname="best.pt")
        tar.add(trained_model / "model.json", arcname="model.json")
    place_tree(prepared_splits / "test", opt_ml / "processing" / "test")
    result = run_entrypoint("containers.training.evaluate", [], opt_ml)
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.failure is not None and "unpickling it would call posix.system" in result.failure
    assert not marker.exists()


@pytest.mark.usefixtures("offline_ultralytics")
def test_a_hostile_last_pt_in_the_checkpoint_prefix_is_not_resumed(tmp_path, monkeypatch, capsys):
    """The shared checkpoint prefix is writable by every job of the pipeline: its last.pt is input, not ours."""
    from containers.training import checkpoints

    monkeypatch.setenv("OPT_ML_ROOT", str(tmp_path / "opt_ml"))
    identity = checkpoints.job_identity(TINY_TRAINING)
    checkpoints.claim(identity)  # even a file that claims to be this job's run
    marker = tmp_path / "ran"
    last = hostile_checkpoint(checkpoints.last_checkpoint(), marker)
    assert checkpoints.resumable(last, identity) is False
    assert_refused(capsys.readouterr().err, last, marker)


@pytest.mark.usefixtures("offline_ultralytics")
def test_a_real_checkpoint_loads_weights_only(trained_model):
    import torch

    from containers.common import safe_checkpoint

    checkpoint = safe_checkpoint.load(trained_model / "best.pt")
    assert isinstance(checkpoint["model"], torch.nn.Module) and len(checkpoint["model"].names) == 3
    assert len(safe_checkpoint.load_yolo(trained_model / "best.pt").names) == 3


@pytest.mark.usefixtures("offline_ultralytics")
@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04truncated"])
def test_an_unreadable_file_is_named_in_one_line(tmp_path, content):
    from containers.common import safe_checkpoint

    path = tmp_path / "broken.pt"
    path.write_bytes(content)
    with pytest.raises(safe_checkpoint.CheckpointError, match=f"^cannot load {path} as an Ultralytics checkpoint: ") \
            as error:
        safe_checkpoint.load(path)
    assert "\n" not in str(error.value)
