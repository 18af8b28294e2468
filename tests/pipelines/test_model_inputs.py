"""The optional model inputs settled at start: the approved baseline, a warm start, the "no model" placeholder;
against the SageMaker Model Registry (moto) and the local registry."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from pipelines.config import load_config
from pipelines.model_inputs import BASELINE, WEIGHTS, WarmStartError, ensure_placeholders, resolve
from tests.pipelines.model_packages import GROUP, create_package

NONE = "s3://yolo-pipelines-artifacts/yolo11-detection/inputs/no-model/"


@pytest.fixture(scope="module")
def definition():
    from pipelines.factory import build_pipeline

    return build_pipeline(load_config(environ={})).definition()


@pytest.fixture
def sagemaker_registry():
    with mock_aws():
        from pipelines.aws.model_registry import SageMakerRegistry

        client = boto3.client("sagemaker", region_name="us-east-1")
        yield client, SageMakerRegistry(client, boto3.client("s3", region_name="us-east-1"))


def test_latest_is_the_newest_version_of_that_status(sagemaker_registry):
    sagemaker, registry = sagemaker_registry
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    assert registry.latest(GROUP, "Approved") is None
    statuses = ["Approved", "Approved", "Rejected", "PendingManualApproval"] + ["Approved"] * 3 + [
        "Rejected", "PendingManualApproval"]
    for index, status in enumerate(statuses, start=1):
        create_package(sagemaker, status, index)
    sagemaker.update_model_package(ModelPackageArn=registry.get(GROUP, 7).arn,
                                   ModelApprovalStatus="Rejected")  # approved, then not
    latest = registry.latest(GROUP, "Approved")
    assert (latest.version, latest.approval_status) == (6, "Approved")
    assert latest.model_data == "s3://b/models/6/model.tar.gz"
    assert registry.latest(GROUP, "Rejected").version == 8


def test_without_an_approved_version_both_inputs_stay_at_the_placeholder(sagemaker_registry, definition):
    client, registry = sagemaker_registry
    assert resolve({}, definition=definition, registry=registry) == ({}, None)  # no group yet
    client.create_model_package_group(ModelPackageGroupName=GROUP)
    create_package(client, "PendingManualApproval", 1)
    create_package(client, "Rejected", 2)
    given = {WEIGHTS: "", BASELINE: "", "Epochs": 3}  # empty: the definition's default, the no-model prefix
    resolved, used = resolve(given, definition=definition, registry=registry)
    assert (resolved, used) == ({"Epochs": 3}, None)
    written = []
    assert ensure_placeholders(definition, resolved, lambda uri, text: written.append(uri)) == [NONE]
    assert written == [f"{NONE}NO_MODEL.txt"]
    with pytest.raises(WarmStartError, match="a warm start needs an approved version in model package group"):
        resolve({}, definition=definition, registry=registry, warm_start=True)


def test_the_baseline_is_the_newest_approved_version_and_a_warm_start_starts_from_it(sagemaker_registry,
                                                                                       definition):
    client, registry = sagemaker_registry
    client.create_model_package_group(ModelPackageGroupName=GROUP)
    for index, status in enumerate(["Approved", "Approved", "Rejected", "PendingManualApproval"], start=1):
        create_package(client, status, index)
    resolved, used = resolve({WEIGHTS: "s3://w/yolo11n.pt"}, definition=definition, registry=registry)
    assert resolved == {WEIGHTS: "s3://w/yolo11n.pt", BASELINE: "s3://b/models/2/model.tar.gz"}
    assert used == f"{GROUP} version 2 (s3://b/models/2/model.tar.gz)"
    assert ensure_placeholders(definition, resolved, lambda uri, text: None) == []
    warm, _ = resolve({}, definition=definition, registry=registry, warm_start=True)
    assert warm == {WEIGHTS: "s3://b/models/2/model.tar.gz", BASELINE: "s3://b/models/2/model.tar.gz"}
    pinned, _ = resolve({BASELINE: "s3://b/models/1/model.tar.gz"}, definition=definition, registry=registry)
    assert pinned == {BASELINE: "s3://b/models/1/model.tar.gz"}
    with pytest.raises(WarmStartError, match="PretrainedWeightsUri is also given"):
        resolve({WEIGHTS: "s3://w/yolo11n.pt"}, definition=definition, registry=registry, warm_start=True)


def test_local_mode_takes_the_registry_copy_of_the_approved_model(tmp_path, definition):
    from pipelines.local import LocalRegistry
    from pipelines.local.registry import LocalModelRegistry

    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"a model")
    local = LocalRegistry(tmp_path / "state")
    registry = LocalModelRegistry(str(tmp_path / "state"))
    assert resolve({}, definition=definition, registry=registry)[0] == {}  # no group yet
    local.register(GROUP, model, approval_status="Approved")
    local.register(GROUP, model)
    resolved, used = resolve({}, definition=definition, registry=registry)
    assert resolved == {BASELINE: str(local.get(GROUP, 1).model_path)} and used.startswith(f"{GROUP} version 1 (")
    assert local.get(GROUP, 1).model_path.read_bytes() == b"a model"


REGISTRY = ["--set", "images.registry=123456789012.dkr.ecr.us-east-1.amazonaws.com", "--set", "images.tag=v1"]
ROLE = "arn:aws:iam::123456789012:role/YoloPipelineExecution"


def test_start_passes_the_approved_baseline_and_writes_the_placeholder(capsys):
    from pipelines.cli.main import main

    with mock_aws():
        from pipelines import aws

        aws.boto_session.cache_clear()
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="yolo-pipelines-artifacts")
        assert main(["upsert", "--role-arn", ROLE, *REGISTRY]) == 0
        assert main(["start", "--warm-start"]) == 2
        assert "a warm start needs an approved version" in capsys.readouterr().err
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        create_package(sagemaker, "Approved", 1)
        assert main(["start"]) == 0
        captured = capsys.readouterr()
        assert f"baseline: {GROUP} version 1 (s3://b/models/1/model.tar.gz)" in captured.err
        values = {p["Name"]: p["Value"] for p in sagemaker.list_pipeline_parameters_for_execution(
            PipelineExecutionArn=captured.out.strip())["PipelineParameters"]}
        assert values[BASELINE] == "s3://b/models/1/model.tar.gz" and WEIGHTS not in values  # its default: no model
        placeholder = s3.get_object(Bucket="yolo-pipelines-artifacts",
                                    Key="yolo11-detection/inputs/no-model/NO_MODEL.txt")["Body"].read()
        assert b"no model" in placeholder
        assert main(["start", "--warm-start"]) == 0
        values = {p["Name"]: p["Value"] for p in sagemaker.list_pipeline_parameters_for_execution(
            PipelineExecutionArn=capsys.readouterr().out.strip())["PipelineParameters"]}
        assert values[WEIGHTS] == values[BASELINE] == "s3://b/models/1/model.tar.gz"
        aws.boto_session.cache_clear()
