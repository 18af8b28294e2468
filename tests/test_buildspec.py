"""buildspec.yml (model build): tests and validate first, images pushed before the upsert, the upsert a working
run-pipeline call that starts an execution only when START_PIPELINE_EXECUTION is true."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import yaml

BUILDSPEC = Path(__file__).resolve().parents[1] / "buildspec.yml"
ENV = {"SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::123456789012:role/R", "SAGEMAKER_PROJECT_NAME": "p",
       "SAGEMAKER_PROJECT_ID": "p-1", "AWS_REGION": "us-east-1", "ARTIFACT_BUCKET": "b-1",
       "IMAGE_REGISTRY": "123456789012.dkr.ecr.us-east-1.amazonaws.com"}


def _commands(phase: str) -> list[str]:
    return yaml.safe_load(BUILDSPEC.read_text())["phases"][phase]["commands"]


def _start_option(start: str) -> str:
    """What the buildspec's opt-in line sets START_OPTION to, run by bash as CodeBuild does."""
    line = next(c for c in _commands("build") if "START_OPTION=" in c)
    script = f"START_PIPELINE_EXECUTION={start}\n{line}\nprintf %s \"$START_OPTION\""
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout


def test_tests_and_validate_run_before_anything_is_pushed():
    pre_build = " ".join(_commands("pre_build"))
    assert "pytest" in pre_build and "yolo-pipeline validate" in pre_build and "docker login" in pre_build
    build = _commands("build")
    assert build[0].startswith("yolo-pipeline publish-images") and build[-1].startswith("run-pipeline")
    assert yaml.safe_load(BUILDSPEC.read_text())["env"]["variables"]["START_PIPELINE_EXECUTION"] == "false"


def test_starting_an_execution_is_opt_in():
    assert _start_option("false") == "--no-start"
    assert _start_option("") == "--no-start"
    assert _start_option("true") == ""


def test_buildspec_calls_run_pipeline_with_valid_json():
    command = _commands("build")[-1]
    for key, value in {**ENV, "START_OPTION": "--no-start"}.items():
        command = command.replace("${" + key + "}", value)
    words = shlex.split(command)
    assert words[0] == "run-pipeline" and words[-1] == "--no-start"
    options = dict(zip(words[1:-1:2], words[2:-1:2], strict=True))
    kwargs = json.loads(options["--kwargs"])
    assert kwargs["default_bucket"] == "b-1" and kwargs["pipeline_name"] == "p-yolo11"
    assert json.loads(options["--tags"])[0] == {"Key": "sagemaker:project-name", "Value": "p"}
    from pipelines.factory import get_pipeline

    pipeline = get_pipeline(**kwargs)
    assert pipeline.name == "p-yolo11"
    assert ENV["IMAGE_REGISTRY"] + "/yolo-pipelines-training:" in pipeline.definition()
