"""A Docker engine for the container tests: the client, locally made base images, the step images built once.

No registry is reachable from the machines these tests run on, so the public bases are replaced through each
Dockerfile's ``BASE_IMAGE`` build argument by local ones, made once and kept by the engine:
- ``local/python:3.11-bookworm`` (for python:3.11-slim): Debian bookworm from ``debootstrap`` (python3 3.11.2, pip,
  CA certificates), imported. Its EXTERNALLY-MANAGED marker is removed so that pip installs as in the official image.
- ``local/pytorch:2.14-bookworm`` (for pytorch/pytorch): that base plus torch and torchvision from PyPI (the CUDA
  build, which runs on CPU). CPU-only torchvision wheels are not on PyPI, and a CUDA torchvision needs a CUDA torch.
  Another stand-in can be named with ``$TRAINING_BASE_IMAGE``.

The step images are built by the project's one entry point, ``yolo-pipeline images build``, and tagged with their
content hash: exactly the URIs the compiled pipeline definition names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest

from pipelines.images.docker import ca_bundle, docker_binary
from tests.containers.conftest import REPO

PYTHON_BASE = "local/python:3.11-bookworm"
TORCH_BASE = os.environ.get("TRAINING_BASE_IMAGE", "local/pytorch:2.14-bookworm")
TORCH_PINS = ("torch==2.14.1", "torchvision==0.29.1")  # the versions the training lock was resolved against
BASES = {"processing": PYTHON_BASE, "inference": PYTHON_BASE, "training": TORCH_BASE}


def docker(*args: str, timeout: float = 300, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([docker_binary(), *args], capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-5000:]}\n"
                             f"{result.stderr[-5000:]}")
    return result


def engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    try:
        result = subprocess.run([docker_binary(), "info"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no Docker engine is reachable ({exc})"
    return None if result.returncode == 0 else f"no Docker engine is reachable: {result.stderr.strip()[:300]}"


def _exists(image: str) -> bool:
    return docker("image", "inspect", image, check=False).returncode == 0


def make_python_base() -> None:
    if _exists(PYTHON_BASE):
        return
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        pytest.fail(f"{PYTHON_BASE} is missing and cannot be made: run as root with debootstrap installed "
                    "(apt-get install -y debootstrap)")
    with tempfile.TemporaryDirectory(prefix="python-base-") as work:
        rootfs = Path(work) / "rootfs"
        result = subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip,ca-certificates",
                                 "bookworm", str(rootfs), "http://deb.debian.org/debian"],
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        (rootfs / "usr" / "lib" / "python3.11" / "EXTERNALLY-MANAGED").unlink(missing_ok=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        docker("import", "--change", 'CMD ["python3"]', "-", PYTHON_BASE, stdin=tar.stdout, timeout=600)
        assert tar.wait() == 0


def make_torch_base() -> None:
    if _exists(TORCH_BASE):
        return
    make_python_base()
    with tempfile.TemporaryDirectory(prefix="torch-base-") as work:
        (Path(work) / "Dockerfile").write_text(
            f"FROM {PYTHON_BASE}\nRUN --mount=type=secret,id=pip_cert "
            "if [ -f /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi "
            f"&& python3 -m pip install --no-cache-dir {' '.join(TORCH_PINS)}\n")
        bundle = ca_bundle()
        secret = ["--secret", f"id=pip_cert,src={bundle}"] if bundle else []
        docker("build", *secret, "-t", TORCH_BASE, work, timeout=3600, env={**os.environ, "DOCKER_BUILDKIT": "1"})


@cache
def built_image(name: str) -> str:
    """Build a step image with ``yolo-pipeline images build`` on its local base; return the URI it printed."""
    problem = engine_problem()
    if problem:
        pytest.skip(problem)
    (make_torch_base if name == "training" else make_python_base)()
    result = subprocess.run([sys.executable, "-m", "pipelines.cli.main", "images", "build", "--image", name,
                             "--base", BASES[name]], cwd=REPO, capture_output=True, text=True, timeout=7200,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result.stdout.split()[-1]


def image_size(image: str) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", image).stdout)
