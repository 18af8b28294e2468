"""Configuration: precedence (file < Projects environment < overrides) and a clear message for every bad value."""

from __future__ import annotations

import pytest

from pipelines.config import ConfigError, load_config, parse_assignments


def test_defaults_load_and_derive_the_input_uri():
    config = load_config(environ={})
    assert config.parameters.training_instance_type == "ml.g5.xlarge"
    assert config.input_data_uri == "s3://yolo-pipelines-artifacts/yolo11-detection/datasets/raw/"


def test_precedence_file_then_environment_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("bucket: from-file\nparameters:\n  epochs: 7\n")
    environ = {"ARTIFACT_BUCKET": "from-env", "SAGEMAKER_PROJECT_NAME": "proj", "AWS_REGION": "eu-west-1",
               "SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::123456789012:role/R"}
    config = load_config(path, environ=environ)
    assert (config.bucket, config.project.name, config.region, config.parameters.epochs) == (
        "from-env", "proj", "eu-west-1", 7)
    assert config.role_arn == "arn:aws:iam::123456789012:role/R"
    assert load_config(path, overrides={"bucket": "from-set"}, environ=environ).bucket == "from-set"


def test_set_values_are_yaml_scalars():
    assert parse_assignments(["parameters.epochs=5", "parameters.deploy_staging=true", "tags={a: b}"]) == {
        "parameters.epochs": 5, "parameters.deploy_staging": True, "tags": {"a": "b"}}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_assignments(["epochs"])


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"colour": "red"}, "colour: unknown key"),
    ({"parameters.epoch": 3}, "parameters.epoch: unknown key"),
    ({"parameters.epochs": -1}, "parameters.epochs: -1 is not allowed: Input should be greater than or equal to 1"),
    ({"parameters.map_threshold": 1.5}, "parameters.map_threshold: 1.5 is not allowed: Input should be less than or"),
    ({"parameters.map_threshold": -0.1}, "parameters.map_threshold: -0.1 is not allowed"),
    ({"parameters.input_data_uri": "s3:/bucket/x"}, "parameters.input_data_uri: 's3:/bucket/x' is not allowed: must "
                                                    "be an S3 URI"),
    ({"parameters.input_data_uri": "/data/raw"}, "parameters.input_data_uri: '/data/raw' is not allowed"),
    ({"role_arn": "arn:aws:iam::12:role/x"}, "role_arn: 'arn:aws:iam::12:role/x' is not allowed: must be an IAM role"),
    ({"kms_key_id": "not a key"}, "kms_key_id: 'not a key' is not allowed: must be a KMS key"),
    ({"parameters.training_instance_type": "g5.xlarge"}, "parameters.training_instance_type: 'g5.xlarge' is not "
                                                         "allowed: must be a SageMaker instance type"),
    ({"staging.instance_type": "m5.large"}, "staging.instance_type: 'm5.large' is not allowed"),
    ({"parameters.model_variant": "yolo11z"}, "parameters.model_variant: 'yolo11z' is not allowed: Input should be "
                                              "'yolo11n', 'yolo11s', 'yolo11m', 'yolo11l' or 'yolo11x'"),
    ({"parameters.image_size": 100}, "parameters.image_size: 100 is not allowed: Input should be a multiple of 32"),
    ({"bucket": "Bad_Bucket"}, "bucket: 'Bad_Bucket' is not allowed: must be an S3 bucket name"),
    ({"images.tag": "latest"}, "images.tag: 'latest' is not allowed: must not be 'latest'"),
    ({"network.subnets": ["vpc-123"]}, "network.subnets: ['vpc-123'] is not allowed: 'vpc-123' is not a subnet id"),
    ({"pipeline_name": "bad name!"}, "pipeline_name: 'bad name!' is not allowed: must be 1-63 letters"),
    # what SageMaker itself would refuse, named at config time
    ({"training.max_wait_seconds": 3600, "training.max_runtime_seconds": 7200},
     "training: max_wait_seconds (3600) must be at least max_runtime_seconds (7200) with use_spot"),
    ({"cache.expire_after": "P"}, "cache.expire_after: 'P' is not allowed: must be an ISO 8601 duration"),
    ({"cache.expire_after": "P1DT"}, "cache.expire_after: 'P1DT' is not allowed"),
    ({"pipeline_name": "a" * 30}, "pipeline_name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is too long: the staging model "
                                  "is named '<pipeline_name>-staging' plus the 26 characters SageMaker appends, "
                                  "within 63, so pipeline_name may have at most 29"),
    ({"network.enable_network_isolation": True, "training.mlflow_tracking_uri": "http://mlflow:5000"},
     "network.enable_network_isolation and training.mlflow_tracking_uri exclude each other"),
    ({"parameters.training_instance_count": 2},
     "parameters.training_instance_count: 2 is not allowed: Input should be less than or equal to 1"),
])
def test_bad_values_name_field_value_and_rule(overrides, expected):
    with pytest.raises(ConfigError) as caught:
        load_config(overrides=overrides, environ={})
    assert expected in str(caught.value)


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"parameters.epochs": 0, "parameters.batch_size": 0}, environ={})
    assert "parameters.epochs" in str(caught.value) and "parameters.batch_size" in str(caught.value)


def test_missing_or_malformed_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(bad)
