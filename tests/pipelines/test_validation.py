"""`yolo-pipeline validate`: the definition against botocore's SageMaker service model and the documented rules.

Each defect found in review is reproduced on a definition that carries it (as an earlier factory emitted it) and must
be reported with its step, field and rule; the matrix of configurations people deploy must pass.
"""

from __future__ import annotations

import copy
import json

import pytest

from pipelines.aws.validation import GENERATED_SUFFIX_LENGTH, generated_job_name, validate_definition
from pipelines.cli.main import main
from pipelines.config import load_config
from pipelines.definition import iter_steps
from pipelines.factory import build_pipeline, seed_config
from tests.golden import GOLDEN_OVERRIDES

ROLE = "arn:aws:iam::123456789012:role/YoloPipelineExecution"
DEPLOYABLE = {"role_arn": ROLE, "images.registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com"}


def problems_of(overrides: dict | None = None, parameters: dict | None = None, edit=None, deployable: bool = True):
    config = load_config(overrides={**DEPLOYABLE, **(overrides or {})}, environ={})
    definition = json.loads(build_pipeline(config).definition())
    if edit:
        edit({step["Name"]: step for step, _, _ in iter_steps(definition["Steps"])})
    return validate_definition(json.dumps(definition), parameters=parameters, base_job_prefix=config.base_job_prefix,
                               pipeline_name=config.pipeline_name, deployable=deployable)


MATRIX = {
    "default": {},
    "golden (KMS, tags, git sha)": GOLDEN_OVERRIDES,
    "KMS on an EBS-only training instance": {"kms_key_id": "alias/yolo", "parameters.training_instance_type":
                                             "ml.p3.2xlarge"},
    "VPC": {"network.subnets": ["subnet-0123abcd", "subnet-0123abce"], "network.security_group_ids": ["sg-0123abcd"]},
    "network isolation": {"network.enable_network_isolation": True, "network.subnets": ["subnet-0123abcd"],
                          "network.security_group_ids": ["sg-0123abcd"]},
    "no spot": {"training.use_spot": False, "training.max_wait_seconds": 60},
    "longest names allowed": {"pipeline_name": "p" * 29, "model_package_group_name": "g" * 63,
                              "base_job_prefix": "j" * 24},
    "MLflow": {"training.mlflow_tracking_uri": "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/t"},
    "no caching": {"cache.enabled": False},
    "staging endpoint on": {"parameters.deploy_staging": True, "staging.instance_type": "ml.c5.xlarge"},
}


@pytest.mark.parametrize("overrides", MATRIX.values(), ids=MATRIX.keys())
def test_the_configurations_people_deploy_pass(overrides):
    assert [str(p) for p in problems_of(overrides)] == []


def test_a_sagemaker_projects_build_passes():
    """What the SageMaker Projects buildspec passes to get_pipeline, with no registry configured."""
    kwargs = {"region": "eu-west-1", "role": ROLE, "default_bucket": "sagemaker-project-p-abc123def456",
              "pipeline_name": "drones-p-abc123def456", "model_package_group_name": "drones-p-abc123def456",
              "base_job_prefix": "drones", "sagemaker_project_name": "drones",
              "sagemaker_project_arn": "arn:aws:sagemaker:eu-west-1:123456789012:project/drones"}
    config = seed_config(**kwargs)
    assert config.images.registry == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    definition = build_pipeline(config).definition()
    assert validate_definition(definition, base_job_prefix=config.base_job_prefix,
                               pipeline_name=config.pipeline_name) == []


def only(problems, step: str, path: str):
    found = [p for p in problems if p.step == step and p.path == path]
    assert found, [str(p) for p in problems]
    return found[0]


def test_defect_1_commas_in_model_package_metadata():
    def comma_joined(steps):
        steps["RegisterYOLO"]["Arguments"]["CustomerMetadataProperties"]["ImageTags"] = "a1,b2,c3"

    problem = only(problems_of(edit=comma_joined), "RegisterYOLO", "CustomerMetadataProperties.ImageTags")
    assert problem.value == "a1,b2,c3" and "must match the pattern" in problem.rule


def test_defect_3_volume_kms_key_on_nvme_instances():
    def with_volume_key(steps):
        steps["TrainYOLO"]["Arguments"]["ResourceConfig"]["VolumeKmsKeyId"] = "alias/yolo"

    problem = only(problems_of(edit=with_volume_key), "TrainYOLO", "ResourceConfig.VolumeKmsKeyId")
    assert "ml.g5.xlarge, an instance type with NVMe instance storage" in problem.rule
    # built for an EBS-only default, then started on a g5: refused at start time
    kms_on_ebs = {"kms_key_id": "alias/yolo", "parameters.training_instance_type": "ml.p3.2xlarge"}
    assert problems_of(kms_on_ebs) == []
    started_on_g5 = problems_of(kms_on_ebs, parameters={"TrainingInstanceType": "ml.g5.2xlarge"})
    assert "ml.g5.2xlarge" in only(started_on_g5, "TrainYOLO", "ResourceConfig.VolumeKmsKeyId").rule


def test_defect_4_training_job_name_without_the_prefix():
    def as_sdk_v3_emits_it(steps):
        del steps["TrainYOLO"]["Arguments"]["TrainingJobName"]

    problem = only(problems_of(edit=as_sdk_v3_emits_it), "TrainYOLO", "TrainingJobName")
    assert "must name a prefix starting with base_job_prefix 'yolo11'" in problem.rule


def test_defect_4_job_names_that_outgrow_63_characters():
    problems = problems_of({"base_job_prefix": "j" * 25})
    problem = only(problems, "PrepareData", "ProcessingJobName")
    assert len(problem.value) == 25 + len("-prepare-data") + GENERATED_SUFFIX_LENGTH
    assert problem.rule == "must have at most 63 characters (has 64)"
    assert generated_job_name("x").endswith("-9") and len(generated_job_name("x")) == 1 + GENERATED_SUFFIX_LENGTH


def test_defect_2_fixed_output_prefixes_with_caching():
    def fixed(steps):
        steps["EvaluateYOLO"]["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = \
            "s3://yolo-pipelines-artifacts/yolo11-detection/evaluation"
        steps["TrainYOLO"]["Arguments"]["CheckpointConfig"]["S3Uri"] = {"Std:Join": {"On": "/", "Values": [
            "s3://b/checkpoints", {"Get": "Execution.PipelineExecutionId"}]}}

    problems = problems_of(edit=fixed)
    assert "stale cache hits" in only(problems, "EvaluateYOLO",
                                      "ProcessingOutputConfig.Outputs[evaluation].S3Output.S3Uri").rule
    assert "training never hits the cache" in only(problems, "TrainYOLO", "CheckpointConfig.S3Uri").rule


@pytest.mark.parametrize(("parameters", "step", "path", "rule"), [
    ({"TrainingInstanceCount": 2}, "TrainYOLO", "ResourceConfig.InstanceCount", "refuses several hosts"),
    ({"ProcessingInstanceType": "ml.t2.nano"}, "PrepareData", "ProcessingResources.ClusterConfig.InstanceType",
     "must be one of"),
    ({"Epochs": 5}, "TrainYOLO", "HyperParameters.epochs", "must be a string, not int"),
])
def test_parameter_values_sagemaker_would_refuse(parameters, step, path, rule):
    def bare_get(steps):  # how SDK v3 renders an integer parameter without .to_string()
        steps["TrainYOLO"]["Arguments"]["HyperParameters"]["epochs"] = {"Get": "Parameters.Epochs"}

    problem = only(problems_of(parameters=parameters, edit=bare_get if "Epochs" in parameters else None), step, path)
    assert rule in problem.rule


def test_defect_6_isolation_with_mlflow_in_a_definition():
    def isolated(steps):
        steps["TrainYOLO"]["Arguments"]["EnableNetworkIsolation"] = True
        steps["TrainYOLO"]["Arguments"]["Environment"] = {"MLFLOW_TRACKING_URI": "http://mlflow:5000"}

    assert "cannot reach MLflow" in only(problems_of(edit=isolated), "TrainYOLO",
                                         "Environment.MLFLOW_TRACKING_URI").rule


def test_spot_wait_shorter_than_runtime_in_a_definition():
    def short_wait(steps):
        steps["TrainYOLO"]["Arguments"]["StoppingCondition"]["MaxWaitTimeInSeconds"] = 60

    assert "at least MaxRuntimeInSeconds (86400)" in only(problems_of(edit=short_wait), "TrainYOLO",
                                                          "StoppingCondition.MaxWaitTimeInSeconds").rule


def test_only_deployable_definitions_go_to_aws_but_local_mode_skips_that():
    config = load_config(environ={})
    definition = build_pipeline(config).definition()
    problems = validate_definition(definition, base_job_prefix="yolo11")
    assert {p.path for p in problems} >= {"AppSpecification.ImageUri", "AlgorithmSpecification.TrainingImage",
                                          "RoleArn", "PrimaryContainer.Image"}
    local = validate_definition(definition, parameters={"InputDataUri": "/data/raw"}, deployable=False,
                                base_job_prefix="yolo11")
    assert local == []


def test_every_problem_prints_step_field_value_rule_and_reference():
    def comma_joined(steps):
        steps["RegisterYOLO"]["Arguments"]["CustomerMetadataProperties"]["ImageTags"] = "a,b"

    line = str(only(problems_of(edit=comma_joined), "RegisterYOLO", "CustomerMetadataProperties.ImageTags"))
    assert line.startswith('RegisterYOLO: CustomerMetadataProperties.ImageTags = "a,b": must match the pattern ')
    assert line.endswith("[SageMaker service model (botocore)]")


def test_the_cli_exits_1_with_one_line_per_problem(capsys):
    sets = [arg for key, value in DEPLOYABLE.items() for arg in ("--set", f"{key}={value}")]
    assert main(["validate", *sets]) == 0
    assert main(["validate", *sets, "--param", "TrainingInstanceType=ml.foo.bar"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith('TrainYOLO: ResourceConfig.InstanceType = "ml.foo.bar": must be one of ')
    # the parameter's bounds (the config's, checked when --param is parsed) refuse this one first: exit 2
    assert main(["validate", *sets, "--param", "TrainingInstanceCount=2"]) == 2
    assert "parameter TrainingInstanceCount: 2 is not allowed" in capsys.readouterr().err
    assert main(["validate"]) == 1  # no role, no registry: cannot be upserted
    assert main(["validate", "--local"]) == 0


def test_upsert_refuses_an_invalid_definition_before_any_aws_call(capsys, monkeypatch):
    from pipelines import aws

    monkeypatch.setattr(aws, "client", lambda *a, **k: pytest.fail("an AWS client was made"))
    assert main(["upsert", "--role-arn", ROLE, "--set", "images.registry=registry.example.com"]) == 2
    err = capsys.readouterr().err
    assert "the definition would fail on SageMaker (5 problem(s)); nothing was sent" in err
    assert "must be an Amazon ECR image URI" in err


def test_start_refuses_parameter_values_sagemaker_would_refuse(capsys, monkeypatch):
    from pipelines import aws

    monkeypatch.setattr(aws, "client", lambda *a, **k: pytest.fail("an AWS client was made"))
    assert main(["start", "--set", "kms_key_id=alias/k", "--set", "parameters.training_instance_type=ml.p3.2xlarge",
                 "--param", "TrainingInstanceType=ml.g5.xlarge"]) == 2
    assert "TrainYOLO: ResourceConfig.VolumeKmsKeyId" in capsys.readouterr().err


def test_validation_needs_no_sdk_and_no_network(monkeypatch):
    """The definition JSON and botocore's model are all it reads: usable where the definition was built elsewhere."""
    import socket

    definition = copy.deepcopy(build_pipeline(load_config(overrides=DEPLOYABLE, environ={})).definition())
    monkeypatch.setattr(socket.socket, "connect", lambda *a: pytest.fail("network"))
    assert validate_definition(definition, base_job_prefix="yolo11") == []
