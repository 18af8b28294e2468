"""The model deploy seed code on moto: build.py picks the newest Approved package across pages (and fails clearly
when there is none), and the endpoint template fed the files it writes creates the staging stack. (moto's
CloudFormation skips the ApplicationAutoScaling resources with a warning; cfn-lint checks those.)"""

from __future__ import annotations

import io
import json
import tarfile
from datetime import datetime

import boto3
import pytest
from moto import mock_aws

GROUP = "demo-yolo11"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-demo-model"
KMS = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/yolo-pipelines-inference:abc123"
MODEL_JSON = {"class_names": ["circle", "square"], "imgsz": 64}


@pytest.fixture
def session():
    with mock_aws():
        boto = boto3.Session(region_name="us-east-1")
        s3 = boto.client("s3")
        s3.create_bucket(Bucket="artifacts")
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            body = json.dumps(MODEL_JSON).encode()
            info = tarfile.TarInfo("model.json")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        s3.put_object(Bucket="artifacts", Key="models/model.tar.gz", Body=archive.getvalue())
        boto.client("sagemaker").create_model_package_group(ModelPackageGroupName=GROUP)
        yield boto


def _register(session, status: str) -> str:
    return session.client("sagemaker").create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://artifacts/models/model.tar.gz"}],
            "SupportedContentTypes": ["image/png"], "SupportedResponseMIMETypes": ["application/json"]},
    )["ModelPackageArn"]


def _args(out) -> list[str]:
    return ["--model-package-group-name", GROUP, "--sagemaker-project-name", "demo", "--sagemaker-project-id",
            "p-demo123", "--model-execution-role", ROLE, "--artifact-bucket", "artifacts", "--kms-key-arn", KMS,
            "--output-dir", str(out)]


def test_newest_approved_is_found_across_pages(session, build_script, monkeypatch):
    arns = [_register(session, status) for status in
            ("Approved", "Approved", "Rejected", "Approved", "PendingManualApproval")]
    # moto stamps CreationTime with the wall clock: set it so that time order is not registration order.
    from moto.sagemaker.models import sagemaker_backends

    packages = {p.arn: p for p in sagemaker_backends["123456789012"]["us-east-1"].model_packages.values()}
    for arn, day in zip(arns, (1, 5, 9, 3, 10), strict=True):
        packages[arn].creation_time = datetime(2026, 1, day)
    calls = []
    client = session.client("sagemaker")
    client.meta.events.register("before-call.sagemaker.ListModelPackages", lambda **kw: calls.append(kw))
    monkeypatch.setattr(build_script, "PAGE_SIZE", 1)
    assert build_script.newest_approved(client, GROUP)["ModelPackageArn"] == arns[1]
    assert len(calls) == 3  # one approved package per page: every page was read


def test_no_approved_version_exits_1_with_the_reason(session, build_script, tmp_path, capsys):
    _register(session, "PendingManualApproval")
    _register(session, "Rejected")
    assert build_script.main(_args(tmp_path), session=session) == 1
    assert "model package group 'demo-yolo11' has no Approved version: approve one" in capsys.readouterr().err
    assert not (tmp_path / "staging-config-export.json").exists()


@pytest.mark.filterwarnings("ignore:Tried to parse AWS::ApplicationAutoScaling")
def test_the_staging_stack_from_the_files_build_py_writes(session, build_script, rendered, tmp_path):
    _register(session, "Approved")
    approved = _register(session, "Approved")
    assert build_script.main(_args(tmp_path), session=session) == 0
    staging = json.loads((tmp_path / "staging-config-export.json").read_text())
    prod = json.loads((tmp_path / "prod-config-export.json").read_text())
    assert set(staging) == {"Parameters", "Tags"}  # CodePipeline's TemplateConfiguration format, nothing else
    assert staging["Parameters"]["ModelPackageName"] == approved == prod["Parameters"]["ModelPackageName"]
    assert staging["Parameters"]["EnableDeploymentGuardrails"] == "false"
    assert prod["Parameters"]["EnableDeploymentGuardrails"] == "true"
    assert staging["Tags"]["sagemaker:project-name"] == "demo"
    assert json.loads((tmp_path / "model.json").read_text()) == MODEL_JSON

    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName="sagemaker-demo-deploy-staging",
        TemplateBody=(rendered["modeldeploy"] / "endpoint-config-template.yml").read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in staging["Parameters"].items()],
        Tags=[{"Key": k, "Value": v} for k, v in staging["Tags"].items()])
    stack = cloudformation.describe_stacks(StackName="sagemaker-demo-deploy-staging")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    sagemaker = session.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=outputs["EndpointName"])
    assert endpoint["EndpointStatus"] == "InService"  # moto randomises the names CloudFormation gives
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] and capture["KmsKeyId"] == KMS
    assert capture["DestinationS3Uri"] == "s3://artifacts/demo/datacapture/staging"
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["ExecutionRoleArn"] == ROLE
    assert model["PrimaryContainer"]["ModelPackageName"] == approved
