"""The inference image built and run in a real Docker engine: /ping and /invocations on the running container.

Run it with ``pytest -m container tests/containers/test_container_image.py`` (or ``make container-test``), as root,
with a Docker engine running (``docker info`` works). The default test run deselects it (``-m "not container"``); it is
skipped only when no engine can be reached.

No registry is needed. The public base (``python:3.11-slim``) is replaced through the Dockerfile's ``BASE_IMAGE`` build
arg by a local one, made once and kept: ``debootstrap`` (Debian bookworm with python3, pip and CA certificates, from
the Debian mirror) imported as ``local/python:3.11-bookworm``. When the host sits behind a TLS-intercepting proxy,
its CA bundle reaches pip in the build as the BuildKit secret ``pip_cert`` (never stored in a layer).

Set-up on a Debian host: ``apt-get install -y docker.io debootstrap``, then start ``dockerd`` (as root). Measured
here: ~75 s to make the base the first time, ~10-30 s to build the image, ~10 s to run the checks.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.containers.conftest import REPO
from tests.containers.inference.conftest import matched_objects, read_labelled
from tests.containers.inference.server import call

pytestmark = pytest.mark.container

BASE = "local/python:3.11-bookworm"
IMAGE = "yolo-sagemaker-pipelines/inference:container-test"
# BuildKit (for the secret mount) is built into the 20.10 client Debian ships; a newer client needs buildx instead.
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").is_file() else (shutil.which("docker") or "docker")


def docker(*args: str, timeout: float = 120, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    try:
        result = subprocess.run([DOCKER, "info"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no Docker engine is reachable ({exc})"
    return None if result.returncode == 0 else f"no Docker engine is reachable: {result.stderr.strip()[:300]}"


def ca_bundle() -> Path | None:
    """The CA bundle this host trusts (it may include a proxy's CA), for pip inside the build."""
    for candidate in (os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"),
                      ssl.get_default_verify_paths().cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def make_python_base() -> None:
    """Build ``BASE`` from Debian bookworm with debootstrap, unless the engine already has it.

    bookworm's python3 is 3.11, as in python:3.11-slim. Its EXTERNALLY-MANAGED marker is removed so that
    ``pip install`` works as in the official image (the image is a throwaway build base, not a managed system).
    """
    if docker("image", "inspect", BASE, check=False).returncode == 0:
        return
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        pytest.fail(f"{BASE} is missing and cannot be made: run as root with debootstrap installed "
                    "(apt-get install -y debootstrap)")
    with tempfile.TemporaryDirectory(prefix="python-base-") as work:
        rootfs = Path(work) / "rootfs"
        result = subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip,ca-certificates",
                                 "bookworm", str(rootfs), "http://deb.debian.org/debian"],
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        (rootfs / "usr" / "lib" / "python3.11" / "EXTERNALLY-MANAGED").unlink(missing_ok=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        docker("import", "--change", 'CMD ["python3"]', "-", BASE, stdin=tar.stdout, timeout=600)
        assert tar.wait() == 0


@pytest.fixture(scope="module")
def image() -> str:
    problem = engine_problem()
    if problem:
        pytest.skip(problem)
    make_python_base()
    command = ["build", "-f", "containers/inference/Dockerfile", "--build-arg", f"BASE_IMAGE={BASE}", "-t", IMAGE]
    bundle = ca_bundle()
    if bundle:
        command += ["--secret", f"id=pip_cert,src={bundle}"]
    docker(*command, ".", cwd=REPO, timeout=1800, env={**os.environ, "DOCKER_BUILDKIT": "1"})
    return IMAGE


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
