"""The inference image built and run in a real Docker engine: /ping and /invocations on the running container.

Run it with ``pytest -m container tests/containers/test_container_image.py`` (or ``make container-test``), as root,
with a Docker engine running (``docker info`` works). The default test run deselects it (``-m "not container"``); it is
skipped only when no engine can be reached.

The image is built by ``yolo-pipeline images build`` on a locally made base (tests/containers/engine.py).
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.containers.engine import built_image, docker
from tests.containers.inference.conftest import matched_objects, read_labelled
from tests.containers.inference.server import call

pytestmark = pytest.mark.container


@pytest.fixture(scope="module")
def image() -> str:
    return built_image("inference")


@pytest.fixture
def container(image, trained_model):
    """The image run as SageMaker runs it (``<image> serve``), the model mounted read-only at /opt/ml/model."""
    name = f"inference-test-{os.getpid()}-{time.monotonic_ns()}"
    docker("run", "-d", "--name", name, "-p", "127.0.0.1::8080", "-e", "MODEL_SERVER_WORKERS=2",
           "-v", f"{trained_model}:/opt/ml/model:ro", image, "serve")
    try:
        port = docker("port", name, "8080/tcp").stdout.splitlines()[0].rsplit(":", 1)[1]
        yield name, f"http://127.0.0.1:{port}"
    finally:
        docker("rm", "-f", name, check=False)


def wait_for_ping(name: str, url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if call(url + "/ping", timeout=5).status == 200:
                return
        except OSError:  # the server is not listening yet
            pass
        if docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip() != "true":
            break
        time.sleep(0.5)
    raise AssertionError(f"the container never answered /ping 200:\n{docker('logs', name, check=False).stderr}")


def test_the_image_has_the_contract_in_its_config(image):
    config = json.loads(docker("image", "inspect", image).stdout)[0]["Config"]
    assert config["Entrypoint"] == ["python3", "-m", "containers.inference.serve"]
    assert "8080/tcp" in config["ExposedPorts"]
    assert "PYTHONPATH=/opt/program" in config["Env"]
    probe = docker("run", "--rm", "--entrypoint", "python3", image, "-c",
                   "import importlib.util as u, onnxruntime, gunicorn, flask; "
                   "print(u.find_spec('torch') is None, u.find_spec('ultralytics') is None)")
    assert probe.stdout.split() == ["True", "True"]  # the CPU image ships no torch


def test_the_running_container_serves_the_trained_model(container, prepared_splits):
    name, url = container
    wait_for_ping(name, url)
    assert call(url + "/ping").body == {"status": "ok", "backend": "onnx"}
    hits = 0
    images = [read_labelled(path) for path in sorted((prepared_splits / "test" / "images").iterdir())]
    for sample in images:
        reply = call(url + "/invocations", "POST", sample.jpeg,
                     {"Content-Type": "image/jpeg", "X-Amzn-SageMaker-Custom-Attributes": "conf=0.05"})
        assert reply.status == 200, reply.body
        for prediction in reply.body["predictions"]:
            box = prediction["box"]
            assert 0 <= box["x1"] < box["x2"] <= sample.width and 0 <= box["y1"] < box["y2"] <= sample.height
        hits += matched_objects(sample, reply.body["predictions"]) > 0
    assert hits >= len(images) / 2, f"only {hits} of {len(images)} test images had a correct detection"

    bad = call(url + "/invocations", "POST", b"not an image", {"Content-Type": "image/png"})
    assert bad.status == 400 and "could not decode the request body as an image" in bad.body["error"]
    assert call(url + "/ping").status == 200

    stopped = docker("stop", "-t", "20", name)  # SIGTERM to gunicorn (PID 1): a graceful stop
    assert stopped.returncode == 0
    assert docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
