"""The CLI against moto: in-process (mock_aws) and as real processes pointed at a ThreadedMotoServer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from pipelines.cli.main import main

ROLE = "arn:aws:iam::123456789012:role/YoloPipelineExecution"
# A fixed tag: the diffs below are about configuration, not about image content.
REGISTRY = ["--set", "images.registry=123456789012.dkr.ecr.us-east-1.amazonaws.com", "--set", "images.tag=v1"]


@pytest.fixture
def sagemaker():
    with mock_aws():
        from pipelines import aws

        aws.boto_session.cache_clear()
        yield boto3.client("sagemaker", region_name="us-east-1")
        aws.boto_session.cache_clear()


def test_upsert_creates_then_updates_and_tags(sagemaker, capsys):
    assert main(["upsert", "--role-arn", ROLE, *REGISTRY, "--set", "tags={team: vision}"]) == 0
    assert "Created pipeline yolo11-detection" in capsys.readouterr().err
    described = sagemaker.describe_pipeline(PipelineName="yolo11-detection")
    assert json.loads(described["PipelineDefinition"])["Steps"][0]["Name"] == "PrepareData"
    assert described["RoleArn"] == ROLE
    tags = sagemaker.list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    assert {"Key": "team", "Value": "vision"} in tags

    assert main(["upsert", "--role-arn", ROLE, *REGISTRY, "--set", "parameters.epochs=5"]) == 0
    assert "Updated pipeline yolo11-detection" in capsys.readouterr().err
    updated = json.loads(sagemaker.describe_pipeline(PipelineName="yolo11-detection")["PipelineDefinition"])
    assert {p["Name"]: p.get("DefaultValue") for p in updated["Parameters"]}["Epochs"] == 5


def test_upsert_refuses_without_role_or_registry(sagemaker, capsys):
    assert main(["upsert", *REGISTRY]) == 2
    assert "upsert needs the pipeline's role" in capsys.readouterr().err
    assert main(["upsert", "--role-arn", ROLE]) == 2
    assert "images.registry" in capsys.readouterr().err


def test_start_with_typed_parameters_then_executions_and_status(sagemaker, capsys):
    assert main(["upsert", "--role-arn", ROLE, *REGISTRY]) == 0
    capsys.readouterr()
    assert main(["start", "--param", "Epochs=3", "--param", "DeployStaging=true", "--param", "MapThreshold=0.1"]) == 0
    arn = capsys.readouterr().out.strip()
    assert arn.startswith("arn:aws:sagemaker:us-east-1:123456789012:pipeline/yolo11-detection/execution/")
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in parameters} == {"Epochs": "3", "DeployStaging": "true",
                                                          "MapThreshold": "0.1"}
    assert main(["executions"]) == 0
    assert arn in capsys.readouterr().out
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["PipelineExecutionArn"] == arn and status["PipelineExecutionStatus"] == "Succeeded"


@pytest.mark.parametrize(("param", "message"), [
    ("Epoch=3", "unknown parameter 'Epoch'; the pipeline's parameters are: InputDataUri,"),
    ("Epochs=three", "parameter Epochs is Integer: 'three' is not an integer"),
    ("MapThreshold=high", "parameter MapThreshold is Float: 'high' is not a number"),
    ("DeployStaging=maybe", "parameter DeployStaging is Boolean: 'maybe' is not true or false"),
    ("Epochs", "expected NAME=VALUE"),
])
def test_start_rejects_bad_params_before_any_call(param, message, capsys, monkeypatch):
    from pipelines import aws

    monkeypatch.setattr(aws, "client", lambda *a, **k: pytest.fail("an AWS client was made"))
    assert main(["start", "--param", param]) == 2
    assert message in capsys.readouterr().err


def test_diff_equal_then_changed(sagemaker, capsys):
    assert main(["upsert", "--role-arn", ROLE, *REGISTRY]) == 0
    capsys.readouterr()
    assert main(["diff", "--set", "role_arn=" + ROLE, *REGISTRY]) == 0
    assert main(["diff", "--set", "role_arn=" + ROLE, *REGISTRY, "--set", "parameters.epochs=7",
                 "--set", "training.use_spot=false"]) == 1
    out = capsys.readouterr().out
    assert "~ parameter Epochs\n    DefaultValue: 100 -> 7" in out
    assert "~ step TrainYOLO" in out and "EnableManagedSpotTraining: true -> false" in out


def test_missing_pipeline_and_missing_credentials_are_one_line(sagemaker, capsys, monkeypatch):
    assert main(["executions"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: pipeline 'yolo11-detection' does not exist; create it with `yolo-pipeline upsert`")


def test_graph_prints_mermaid(capsys):
    assert main(["graph"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart TD\n")
    assert "CheckQuality -->|yes| RegisterYOLO" in out and "CheckQuality -->|no| QualityGateFailed" in out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def run_cli(endpoint: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, **(env or {})}
    return subprocess.run([sys.executable, "-m", "pipelines.cli.main", *args], env=full_env, capture_output=True,
                          text=True, timeout=180)


def test_real_processes_against_a_moto_server(moto_server):
    first = run_cli(moto_server, "upsert", "--role-arn", ROLE, *REGISTRY)
    assert first.returncode == 0, first.stderr
    assert "Created pipeline" in first.stderr and first.stdout.strip().endswith(":pipeline/yolo11-detection")
    again = run_cli(moto_server, "upsert", "--role-arn", ROLE, *REGISTRY, "--set", "parameters.patience=5")
    assert again.returncode == 0 and "Updated pipeline" in again.stderr

    started = run_cli(moto_server, "start", "--param", "Epochs=2")
    assert started.returncode == 0, started.stderr
    arn = started.stdout.strip()
    listed = run_cli(moto_server, "executions", "--json")
    assert [e["PipelineExecutionArn"] for e in json.loads(listed.stdout)] == [arn]
    status = run_cli(moto_server, "status", arn)
    assert "status     Succeeded" in status.stdout and "parameter  Epochs=2" in status.stdout

    same = run_cli(moto_server, "diff", "--set", "role_arn=" + ROLE, *REGISTRY, "--set", "parameters.patience=5")
    assert same.returncode == 0, same.stdout + same.stderr
    changed = run_cli(moto_server, "diff", *REGISTRY)
    assert changed.returncode == 1 and "~ parameter Patience" in changed.stdout


def test_seed_run_pipeline_against_a_moto_server(moto_server):
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli.run_pipeline", "--module-name", "pipelines.factory",
         "--role-arn", ROLE, "--tags", '[{"Key": "sagemaker:project-name", "Value": "proj"}]',
         "--kwargs", json.dumps({"region": "us-east-1", "pipeline_name": "seeded", "role": ROLE})],
        env={**os.environ, "AWS_ENDPOINT_URL": moto_server}, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert ":pipeline/seeded/execution/" in proc.stdout


def _images(definition: dict) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            found.extend(v for k, v in node.items() if k in ("ImageUri", "TrainingImage", "Image"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(definition["Steps"])
    return found


def test_seed_run_pipeline_with_the_projects_buildspec_arguments(moto_server):
    """As the SageMaker Projects built-in buildspec calls it, with a Python dict literal and no image registry."""
    name_id = "yolo-p-abc123def456"  # SAGEMAKER_PROJECT_NAME_ID
    kwargs = (f"{{'region': 'us-east-1', 'role': '{ROLE}', 'default_bucket': 'sagemaker-project-p-abc123def456', "
              f"'pipeline_name': '{name_id}', 'model_package_group_name': '{name_id}', "
              f"'base_job_prefix': '{name_id}'}}")
    env = {k: v for k, v in os.environ.items() if k not in ("IMAGE_REGISTRY", "SAGEMAKER_PIPELINE_ROLE_ARN")}
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli.run_pipeline", "--module-name", "pipelines.factory", "--role-arn", ROLE,
         "--tags", '[{"Key": "sagemaker:project-name", "Value": "yolo"}, '
                   '{"Key": "sagemaker:project-id", "Value": "p-abc123def456"}]', "--kwargs", kwargs],
        env={**env, "AWS_ENDPOINT_URL": moto_server}, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    client = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=moto_server)
    definition = json.loads(client.describe_pipeline(PipelineName=name_id)["PipelineDefinition"])
    images = _images(definition)
    assert len(images) == 5 and all(i.startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/") for i in images)


def test_seed_get_pipeline_definition_refuses_what_cannot_run():
    env = {k: v for k, v in os.environ.items() if k not in ("IMAGE_REGISTRY", "SAGEMAKER_PIPELINE_ROLE_ARN")}
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli.get_pipeline_definition", "--kwargs",
                           "{'region': 'us-east-1'}"], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "the definition would fail on SageMaker" in proc.stderr
    assert "is the placeholder role: set role_arn" in proc.stderr and "must be an Amazon ECR image URI" in proc.stderr


def test_seed_cli_usage_errors():
    missing = subprocess.run([sys.executable, "-m", "pipelines.cli.run_pipeline", "--module-name", "x"],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "--role-arn" in missing.stderr
    bad = subprocess.run([sys.executable, "-m", "pipelines.cli.get_pipeline_definition", "--kwargs", "{nope"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--kwargs is neither a JSON object" in bad.stderr


def test_no_credentials_is_one_line(moto_server):
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"}
    proc = run_cli(moto_server, "executions", env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: no AWS credentials found")


@pytest.mark.parametrize(("code", "expected"), [
    ("AccessDeniedException", "AWS CreatePipeline failed: AccessDeniedException: no (the caller's IAM policy"),
    ("ThrottlingException", "AWS CreatePipeline failed: ThrottlingException: no (throttled by AWS: retry"),
])
def test_aws_refusals_are_one_line(code, expected, capsys, monkeypatch):
    from botocore.exceptions import ClientError

    from pipelines.aws import pipeline_service as remote

    def refuse(*args, **kwargs):
        raise ClientError({"Error": {"Code": code, "Message": "no"}}, "CreatePipeline")

    monkeypatch.setattr(remote, "upsert", refuse)
    monkeypatch.setattr("pipelines.aws.client", lambda *a, **k: None)
    assert main(["upsert", "--role-arn", ROLE, *REGISTRY]) == 1
    assert capsys.readouterr().err.strip().startswith(f"error: {expected}")


def test_sample_data_command(tmp_path, capsys):
    assert main(["sample-data", "--out", str(tmp_path / "coco"), "--format", "coco"]) == 0
    assert (tmp_path / "coco" / "annotations.json").is_file()
    with pytest.raises(SystemExit) as usage:  # argparse: exit 2 with the allowed choices
        main(["sample-data", "--out", str(tmp_path / "x"), "--format", "voc"])
    assert usage.value.code == 2
    assert "invalid choice: 'voc'" in capsys.readouterr().err
