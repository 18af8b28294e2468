"""The factory: golden definition, determinism across processes, no AWS on the way, and the wiring that matters."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from pipelines.config import load_config
from pipelines.definition import iter_steps
from pipelines.factory import build_pipeline, get_pipeline
from tests.golden import GOLDEN_OVERRIDES, GOLDEN_PATH, build_golden, pretty


@pytest.fixture(scope="module")
def definition() -> dict:
    return json.loads(build_golden())


def steps_by_name(definition: dict) -> dict[str, dict]:
    return {step["Name"]: step for step, _, _ in iter_steps(definition["Steps"])}


def test_matches_the_golden_file():
    assert pretty(build_golden()) == GOLDEN_PATH.read_text(), "definition changed: review it, then `make golden`"


def test_byte_identical_across_processes_without_credentials_or_network(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_EC2_METADATA_DISABLED": "true", "PYTHONHASHSEED": "random"})
    outputs = []
    for seed in ("1", "2"):
        env["PYTHONHASHSEED"] = seed
        proc = subprocess.run([sys.executable, "-m", "pipelines.cli.main", "definition"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    json.loads(outputs[0])


def test_building_opens_no_socket(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access while building: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    build_pipeline(load_config(environ={})).definition()


def test_step_graph_and_parameters(definition):
    steps = steps_by_name(definition)
    assert [s["Name"] for s in definition["Steps"]] == ["PrepareData", "TrainYOLO", "EvaluateYOLO", "CheckQuality"]
    gate = steps["CheckQuality"]["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == ["RegisterYOLO", "CheckDeployStaging"]
    assert [s["Name"] for s in gate["ElseSteps"]] == ["QualityGateFailed"]
    assert gate["Conditions"] == [{"Type": "GreaterThanOrEqualTo", "LeftValue": {"Std:JsonGet": {
        "PropertyFile": {"Get": "Steps.EvaluateYOLO.PropertyFiles.EvaluationReport"},
        "Path": "object_detection_metrics.mAP50_95.value"}}, "RightValue": {"Get": "Parameters.MapThreshold"}}]
    staging = steps["CheckDeployStaging"]
    assert staging["DependsOn"] == ["RegisterYOLO"]
    assert [s["Name"] for s in staging["Arguments"]["IfSteps"]] == [
        "CreateStagingModel", "StagingEndpointConfig", "StagingEndpoint"]
    names = {p["Name"]: p for p in definition["Parameters"]}
    assert names["TrainingInstanceType"]["DefaultValue"] == "ml.g5.xlarge"
    assert names["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"
    assert names["DeployStaging"] == {"Name": "DeployStaging", "Type": "Boolean", "DefaultValue": False}


def test_training_job_contract(definition):
    training = steps_by_name(definition)["TrainYOLO"]["Arguments"]
    assert training["AlgorithmSpecification"]["TrainingImage"].endswith("/yolo-pipelines-training:golden")
    assert training["EnableManagedSpotTraining"] is True
    assert training["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400, "MaxWaitTimeInSeconds": 172800}
    assert training["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert training["OutputDataConfig"]["KmsKeyId"] == "alias/yolo-pipelines"
    hyper = training["HyperParameters"]
    assert hyper["epochs"] == {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.Epochs"}]}}
    assert all(isinstance(v, (str, dict)) for v in hyper.values())
    metrics = {m["Name"] for m in training["AlgorithmSpecification"]["MetricDefinitions"]}
    assert metrics == {"precision", "recall", "mAP50", "mAP50-95"}
    assert training["Environment"] == {"GIT_SHA": GOLDEN_OVERRIDES["git_sha"]}
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in training["InputDataConfig"]}
    assert channels["train"] == {"Get": "Steps.PrepareData.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}


def test_metric_regexes_read_the_training_image_line():
    import re

    from steps.training import METRIC_DEFINITIONS

    line = "[metrics] epoch=3 precision=0.51 recall=0.4 mAP50=0.71 mAP50-95=0.40"
    found = {name: float(re.search(regex, line).group(1)) for name, regex in METRIC_DEFINITIONS.items()}
    assert found == {"precision": 0.51, "recall": 0.4, "mAP50": 0.71, "mAP50-95": 0.40}


def test_processing_entrypoints_are_explicit_and_no_code_is_uploaded(definition):
    steps = steps_by_name(definition)
    prepare = steps["PrepareData"]["Arguments"]["AppSpecification"]
    assert prepare["ContainerEntrypoint"] == ["python3", "-m", "containers.processing.prepare_data"]
    evaluate = steps["EvaluateYOLO"]["Arguments"]["AppSpecification"]
    assert evaluate["ContainerEntrypoint"] == ["python3", "-m", "containers.training.evaluate"]
    for step in ("PrepareData", "EvaluateYOLO"):
        inputs = [i["InputName"] for i in steps[step]["Arguments"]["ProcessingInputs"]]
        assert "code" not in inputs


def test_registration_metadata_and_metrics(definition):
    register = steps_by_name(definition)["RegisterYOLO"]["Arguments"]
    assert register["ModelPackageGroupName"] == "yolo11-detection"
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    assert register["CustomerMetadataProperties"]["GitSha"] == GOLDEN_OVERRIDES["git_sha"]
    assert register["CustomerMetadataProperties"]["PipelineExecutionId"] == {"Get": "Execution.PipelineExecutionId"}
    container = register["InferenceSpecification"]["Containers"][0]
    assert container["Image"].endswith("/yolo-pipelines-inference:golden")
    assert container["ModelDataUrl"] == {"Get": "Steps.TrainYOLO.ModelArtifacts.S3ModelArtifacts"}
    assert "evaluation.json" in json.dumps(register["ModelMetrics"])


def test_staging_endpoint_captures_data(definition):
    config = steps_by_name(definition)["StagingEndpointConfig"]["Arguments"]
    assert config["DataCaptureConfig"]["EnableCapture"] is True
    assert config["DataCaptureConfig"]["DestinationS3Uri"].startswith("s3://")


def test_job_steps_have_cache_and_retries(definition):
    for name in ("PrepareData", "TrainYOLO", "EvaluateYOLO"):
        step = steps_by_name(definition)[name]
        assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
        kinds = {k for policy in step["RetryPolicies"] for k in policy["ExceptionType"]}
        assert {"Step.THROTTLING", "SageMaker.CAPACITY_ERROR"} <= kinds


def test_image_tags_follow_content(tmp_path, monkeypatch):
    from pipelines import images

    tags = {name: images.content_hash(name) for name in images.IMAGE_NAMES}
    assert all(len(tag) == 12 for tag in tags.values()) and len(set(tags.values())) == 3
    uri = images.image_uri(load_config(environ={}), "training")
    assert uri == f"yolo-pipelines-training:{tags['training']}"
    assert images.image_name(uri, "yolo-pipelines") == "training"
    with pytest.raises(ValueError, match="not one of this pipeline's images"):
        images.image_name("other/repo:1", "yolo-pipelines")


def test_vpc_settings_reach_every_job():
    config = load_config(overrides={"network.subnets": ["subnet-0123abcd"], "network.security_group_ids":
                                    ["sg-0123abcd"]}, environ={})
    steps = steps_by_name(json.loads(build_pipeline(config).definition()))
    assert steps["TrainYOLO"]["Arguments"]["VpcConfig"] == {"Subnets": ["subnet-0123abcd"],
                                                           "SecurityGroupIds": ["sg-0123abcd"]}
    for name in ("PrepareData", "EvaluateYOLO"):
        vpc = steps[name]["Arguments"]["NetworkConfig"]["VpcConfig"]
        assert vpc == {"Subnets": ["subnet-0123abcd"], "SecurityGroupIds": ["sg-0123abcd"]}
    assert steps["CreateStagingModel"]["Arguments"]["VpcConfig"] == {"Subnets": ["subnet-0123abcd"],
                                                                    "SecurityGroupIds": ["sg-0123abcd"]}


def test_isolation_and_tags_reach_the_staging_model_and_the_model_package():
    config = load_config(overrides={**GOLDEN_OVERRIDES, "network.enable_network_isolation": True}, environ={})
    steps = steps_by_name(json.loads(build_pipeline(config).definition()))
    model = steps["CreateStagingModel"]["Arguments"]
    assert model["EnableNetworkIsolation"] is True and model["Tags"] == [{"Key": "team", "Value": "vision"}]
    assert steps["RegisterYOLO"]["Arguments"]["Tags"] == [{"Key": "team", "Value": "vision"}]


def test_outputs_per_execution_and_checkpoints_per_training_data(definition):
    steps = steps_by_name(definition)
    execution = {"Get": "Execution.PipelineExecutionId"}
    for output in steps["PrepareData"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]:
        assert execution in output["S3Output"]["S3Uri"]["Std:Join"]["Values"]
    training = steps["TrainYOLO"]["Arguments"]
    assert execution in training["OutputDataConfig"]["S3OutputPath"]["Std:Join"]["Values"]
    assert training["CheckpointConfig"]["S3Uri"]["Std:Join"]["Values"][1] == {
        "Get": "Steps.PrepareData.ProcessingJobName"}
    assert training["TrainingJobName"] == "yolo11-train"


def test_volume_kms_key_only_where_sagemaker_takes_one():
    gpu = steps_by_name(json.loads(build_golden()))  # ml.g5.xlarge: NVMe instance storage
    assert "VolumeKmsKeyId" not in gpu["TrainYOLO"]["Arguments"]["ResourceConfig"]
    assert gpu["PrepareData"]["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == \
        GOLDEN_OVERRIDES["kms_key_id"]
    ebs = load_config(overrides={**GOLDEN_OVERRIDES, "parameters.training_instance_type": "ml.p3.2xlarge"},
                      environ={})
    steps = steps_by_name(json.loads(build_pipeline(ebs).definition()))
    assert steps["TrainYOLO"]["Arguments"]["ResourceConfig"]["VolumeKmsKeyId"] == GOLDEN_OVERRIDES["kms_key_id"]


def test_seed_code_get_pipeline_accepts_the_buildspec_kwargs():
    pipeline = get_pipeline(region="eu-west-1", role="arn:aws:iam::123456789012:role/R", default_bucket="my-bucket",
                            pipeline_name="p1", model_package_group_name="g1", base_job_prefix="b1",
                            sagemaker_project_name="proj", sagemaker_project_arn="arn:aws:sagemaker:eu-west-1:"
                            "123456789012:project/proj")
    definition = json.loads(pipeline.definition())
    assert pipeline.name == "p1"
    steps = steps_by_name(definition)
    assert steps["RegisterYOLO"]["Arguments"]["ModelPackageGroupName"] == "g1"
    assert "s3://my-bucket/" in json.dumps(definition)
    # no registry configured: the images are in the ECR registry of the role's account and region
    assert steps["TrainYOLO"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"].startswith(
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/yolo-pipelines-training:")
