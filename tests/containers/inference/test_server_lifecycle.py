"""How the server starts, refuses to start, stays unhealthy and stops: one real process per case."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.containers.conftest import REPO
from tests.containers.inference.server import SERVE, Server


def run_serve(opt_ml: Path, args: list[str] | None = None, env: dict[str, str] | None = None):
    """The entrypoint run to completion (for the cases where it must exit at once)."""
    full_env = {**os.environ, "OPT_ML_ROOT": str(opt_ml), "PYTHONPATH": str(REPO), **(env or {})}
    command = SERVE[:-1] + (["serve"] if args is None else args)
    return subprocess.run(command, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120)


def test_a_model_tar_gz_is_extracted_served_and_cleaned_up(trained_model, test_images, tmp_path):
    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "model").mkdir(parents=True)
    archive = opt_ml / "model" / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("best.onnx", "model.json"):
            tar.add(trained_model / name, arcname=name)
    before = archive.read_bytes()
    with Server(opt_ml, tmp_path / "server.log", workers=1) as server:
        server.wait_ready()
        reply = server.post("/invocations", test_images[0].jpeg, "image/jpeg")
        assert reply.status == 200 and isinstance(reply.body["predictions"], list)
        assert server.stop() == 0
    served = re.search(r"INFO serving (\S+) \(3 classes, imgsz \[128, 128\]\) with the onnx backend", server.output())
    assert served, server.output()
    assert Path(served.group(1)) != opt_ml / "model"
    assert not Path(served.group(1)).exists()  # the extracted copy is gone after a graceful stop
    assert archive.read_bytes() == before and sorted(p.name for p in (opt_ml / "model").iterdir()) == ["model.tar.gz"]


def test_a_model_that_cannot_load_keeps_ping_at_503_with_the_reason(trained_model, test_images, tmp_path):
    opt_ml = tmp_path / "opt_ml"
    shutil.copytree(trained_model, opt_ml / "model")
    (opt_ml / "model" / "best.onnx").write_bytes(b"not an onnx model")
    with Server(opt_ml, tmp_path / "server.log", workers=1) as server:
        reply = server.wait_until(503, says="model failed to load")
        assert reply.body["error"].startswith("model failed to load: ONNX Runtime cannot load"), reply.body
        assert "INVALID_PROTOBUF" in reply.body["error"]
        invocation = server.post("/invocations", test_images[0].jpeg, "image/jpeg")
        assert invocation.status == 503 and "model failed to load" in invocation.body["error"]


@pytest.mark.parametrize(("setup", "env", "words"), [
    ("empty", {}, "no model in {model_dir}: expected model.json with best.onnx and/or best.pt"),
    ("no weights", {}, "has model.json but neither best.onnx nor best.pt"),
    ("model", {"MODEL_SERVER_WORKERS": "zero"}, "MODEL_SERVER_WORKERS='zero' must be an integer from 1 to 512"),
    ("model", {"SAGEMAKER_BIND_TO_PORT": "70000"}, "SAGEMAKER_BIND_TO_PORT='70000' must be an integer"),
    ("model", {"MAX_PAYLOAD_MB": "-1"}, "MAX_PAYLOAD_MB='-1' must be a number"),
    ("model", {"INFERENCE_BACKEND": "tensorrt"}, "INFERENCE_BACKEND='tensorrt' is not one of auto, onnx, torch"),
    ("onnx only", {"INFERENCE_BACKEND": "torch"}, "the torch backend needs {model_dir}/best.pt, which does not exist"),
])
def test_a_missing_model_or_bad_setting_stops_the_server_with_exit_2(trained_model, tmp_path, setup, env, words):
    model_dir = tmp_path / "opt_ml" / "model"
    model_dir.mkdir(parents=True)
    if setup != "empty":
        shutil.copy(trained_model / "model.json", model_dir)
    if setup in ("model", "onnx only"):
        shutil.copy(trained_model / "best.onnx", model_dir)
    result = run_serve(tmp_path / "opt_ml", env=env)
    assert result.returncode == 2, result.stderr
    assert words.format(model_dir=model_dir) in result.stderr


@pytest.mark.parametrize("args", [[], ["train"], ["serve", "--port", "1"]])
def test_anything_but_serve_is_a_usage_error(tmp_path, args):
    result = run_serve(tmp_path, args)
    assert result.returncode == 2
    assert result.stderr.strip() == "usage: python3 -m containers.inference.serve serve"


@pytest.mark.slow
def test_the_torch_backend_answers_like_the_onnx_backend(served_opt_ml, test_images, tmp_path):
    def detect_all(server: Server) -> list[list[dict]]:
        low = {"X-Amzn-SageMaker-Custom-Attributes": "conf=0.05"}
        return [server.post("/invocations", i.jpeg, "image/jpeg", low).body["predictions"] for i in test_images]

    with Server(served_opt_ml, tmp_path / "onnx.log", workers=1) as onnx_server:
        onnx_server.wait_ready()
        expected = detect_all(onnx_server)
    with Server(served_opt_ml, tmp_path / "torch.log", {"INFERENCE_BACKEND": "torch"}, workers=1) as torch_server:
        assert torch_server.wait_ready(timeout=120).body == {"status": "ok", "backend": "torch"}
        found = detect_all(torch_server)
    assert any(p["confidence"] > 0.07 for predictions in expected for p in predictions), expected
    for onnx_predictions, torch_predictions in zip(expected, found, strict=True):
        # Same model, two runtimes and two resizers (Pillow vs OpenCV): the same boxes to within a pixel or two and
        # scores to within 0.02, so a box clear of the 0.05 threshold in one answer is in the other one too.
        for ours, theirs in ((onnx_predictions, torch_predictions), (torch_predictions, onnx_predictions)):
            for prediction in ours:
                if prediction["confidence"] > 0.07:
                    assert any(same_detection(prediction, other) for other in theirs), (prediction, theirs)


def same_detection(a: dict, b: dict) -> bool:
    return (a["class_id"] == b["class_id"] and abs(a["confidence"] - b["confidence"]) <= 0.02
            and all(abs(a["box"][key] - b["box"][key]) <= 2.0 for key in ("x1", "y1", "x2", "y2")))


@pytest.mark.slow
def test_torch_workers_remove_their_temporary_folders(served_opt_ml, tmp_path):
    """Each torch worker makes an Ultralytics config folder (``$TMPDIR/yolo-*``); a stopped server leaves none."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"INFERENCE_BACKEND": "torch", "TMPDIR": str(tmp)}
    with Server(served_opt_ml, tmp_path / "server.log", env, workers=2) as server:
        server.wait_ready(timeout=180)
        assert len(list(tmp.glob("yolo-*"))) == 2, sorted(tmp.iterdir())  # one per worker while serving
        assert server.stop() == 0
    assert sorted(tmp.iterdir()) == []


def test_the_master_never_imports_torch(served_opt_ml, tmp_path):
    """``auto`` with a best.pt asks whether CUDA is there; the master must not load torch (~700 MB) to find out."""
    with Server(served_opt_ml, tmp_path / "server.log", {"INFERENCE_BACKEND": "auto"}, workers=1) as server:
        server.wait_ready()
        maps = Path(f"/proc/{server.process.pid}/maps").read_text()
        rss = next(line for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS"))
    print(f"master {rss}")
    assert "INFO serving" in server.output() and "backend" in server.output()
    assert not [line for line in maps.splitlines() if "libtorch" in line], "the master process loaded torch"
