"""buildspec.yml: valid YAML whose build command is a working run-pipeline call."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import yaml

BUILDSPEC = Path(__file__).resolve().parents[1] / "buildspec.yml"


def test_buildspec_calls_run_pipeline_with_valid_json():
    spec = yaml.safe_load(BUILDSPEC.read_text())
    assert spec["version"] == 0.2
    command = spec["phases"]["build"]["commands"][0]
    env = {"SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::123456789012:role/R", "SAGEMAKER_PROJECT_NAME": "p",
           "SAGEMAKER_PROJECT_ID": "p-1", "AWS_REGION": "us-east-1", "ARTIFACT_BUCKET": "b-1"}
    for key, value in env.items():
        command = command.replace("${" + key + "}", value)
    words = shlex.split(command)
    assert words[0] == "run-pipeline"
    options = dict(zip(words[1::2], words[2::2], strict=True))
    kwargs = json.loads(options["--kwargs"])
    assert kwargs["default_bucket"] == "b-1" and kwargs["pipeline_name"] == "p-yolo11"
    assert json.loads(options["--tags"])[0] == {"Key": "sagemaker:project-name", "Value": "p"}
    from pipelines.factory import get_pipeline

    assert get_pipeline(**kwargs).name == "p-yolo11"
