"""The rendered seed code: cfn-lint clean, no failed checkov check (skips are justified inline in the templates),
zips laid out as CodeCommit seeding expects, and the deploy rule's event pattern on moto EventBridge."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from cfnlint.decode import decode_str
from moto import mock_aws

from pipelines.cli.main import main

REPOSITORY = Path(__file__).resolve().parents[2]
DEPLOY_FILES = {"build.py", "buildspec.yml", "endpoint-config-template.yml", "staging-config.json",
                "prod-config.json", "test/buildspec.yml", "test/smoke_test.py", "test/sample.png"}


def _templates(rendered) -> list[Path]:
    return [rendered["project_template"], rendered["modeldeploy"] / "endpoint-config-template.yml"]


def checkov_executable() -> str:
    """checkov lives in its own virtualenv (it pins boto3 1.35, the package needs >= 1.40): `make install`."""
    found = os.environ.get("CHECKOV") or shutil.which("checkov")
    local = REPOSITORY / ".venv-iac" / "bin" / "checkov"
    if not found and local.is_file():
        found = str(local)
    if not found:
        pytest.fail("checkov is not installed: run `make install` (it creates .venv-iac) "
                    "or set CHECKOV=/path/to/checkov")
    return found


def test_cfn_lint_is_clean_on_every_rendered_template(rendered):
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), *map(str, _templates(rendered))], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_no_failed_check(rendered, tmp_path):
    for template in _templates(rendered):
        shutil.copy(template, tmp_path / template.name)
    offline = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_API_KEY": ""}
    result = subprocess.run([checkov_executable(), "-d", str(tmp_path), "--framework", "cloudformation",
                             "--skip-download", "--output", "json"],
                            capture_output=True, text=True, timeout=300, env={**os.environ, **offline})
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0 and result.returncode == 0, failed
    assert summary["passed"] > 50
    skipped = report["results"]["skipped_checks"]
    assert all(len(check["check_result"].get("suppress_comment") or "") > 40 for check in skipped), skipped


def test_the_zips_hold_each_repository_at_its_root(rendered):
    with zipfile.ZipFile(rendered["modeldeploy_zip"]) as deploy:
        assert set(deploy.namelist()) == DEPLOY_FILES
        assert b"demo" in deploy.read("staging-config.json")
    with zipfile.ZipFile(rendered["modelbuild_zip"]) as build:
        names = set(build.namelist())
    assert {"setup.py", "buildspec.yml", "pipelines/factory.py", "containers/inference/Dockerfile",
            "seed_code/modeldeploy/build.py", "tests/conftest.py"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith((".venv", "/"))]
    text = rendered["project_template"].read_text()
    assert "{{" not in text and 'Default: "demo"' in text and 'Default: "p-demo123"' in text


def test_a_project_name_sagemaker_refuses_is_a_usage_error(tmp_path, capsys):
    assert main(["seed-code", "render", "--project-name", "1_bad", "--out", str(tmp_path)]) == 2
    assert "project name '1_bad' is not a SageMaker project name" in capsys.readouterr().err


def _resolve(value, names: dict[str, str]):
    """The handful of intrinsic functions the rule pattern uses (Fn::Sub of parameters)."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"]
        for name, replacement in names.items():
            text = text.replace("${" + name + "}", replacement)
        return text
    if isinstance(value, dict):
        return {k: _resolve(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, names) for v in value]
    return value


def _event(group: str, status: str) -> dict:
    return {"Source": "aws.sagemaker", "DetailType": "SageMaker Model Package State Change",
            "Detail": json.dumps({"ModelPackageGroupName": group, "ModelPackageVersion": 3,
                                  "ModelApprovalStatus": status,
                                  "ModelPackageArn": f"arn:aws:sagemaker:::model-package/{group}/3"})}


def test_the_deploy_rule_matches_approved_and_rejected_not_pending(rendered):
    template, errors = decode_str(rendered["project_template"].read_text())
    assert not errors
    rule = template["Resources"]["ModelPackageStateChangeRule"]["Properties"]
    pattern = _resolve(rule["EventPattern"], {"SageMakerProjectName": "demo"})
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        events = boto3.client("events", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="deploy-trigger")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="model-package", EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule="model-package", Targets=[{"Id": "queue", "Arn": arn}])
        sent = [_event("demo-yolo11", s) for s in ("PendingManualApproval", "Approved", "Rejected")]
        events.put_events(Entries=[*sent, _event("other-group", "Approved")])
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    matched = sorted((json.loads(m["Body"])["detail"]["ModelPackageGroupName"],
                      json.loads(m["Body"])["detail"]["ModelApprovalStatus"]) for m in messages)
    assert matched == [("demo-yolo11", "Approved"), ("demo-yolo11", "Rejected")]


def _statements(template: dict):
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if isinstance(statement, dict) and "Fn::If" in statement:
                    statement = statement["Fn::If"][1]
                yield name, statement


def test_roles_are_least_privilege(rendered):
    template, _ = decode_str(rendered["project_template"].read_text())
    statements = list(_statements(template))
    assert len(statements) > 30
    for role, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert not any(a == "*" or a.endswith(":*") for a in actions), (role, statement)
        if "iam:PassRole" in actions:
            assert resources != ["*"], (role, statement)
            assert statement["Condition"]["StringEquals"]["iam:PassedToService"], (role, statement)
        if resources == ["*"]:  # only actions that take no resource ARN
            assert all(a.split(":")[1].startswith(("Get", "List", "Describe", "Validate", "PutMetricData",
                                                   "RegisterScalableTarget", "DeregisterScalableTarget",
                                                   "PutScalingPolicy", "DeleteScalingPolicy"))
                       for a in actions), (role, statement)
