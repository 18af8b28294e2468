"""Typed pipeline configuration: build-time constants apart from runtime pipeline parameters.

Precedence, lowest first: the YAML file (``default_config.yaml`` beside this module unless another is given), the
environment variables that SageMaker Projects' CodeBuild sets, then explicit overrides (``--set key=value`` or the
seed code's ``--kwargs``). A bad value fails here, before anything is built, naming the field, the value and what is
allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.yaml")

NO_MODEL_PREFIX = "inputs/no-model/"  # under s3://<bucket>/<prefix>/: the default of the optional model inputs
YOLO_VARIANTS = ("yolo11n", "yolo11s", "yolo11m", "yolo11l", "yolo11x")
APPROVAL_STATUSES = ("PendingManualApproval", "Approved", "Rejected")

# What the SageMaker Projects build environment provides, mapped to config keys.
PROJECT_ENVIRONMENT = {
    "SAGEMAKER_PROJECT_NAME": "project.name",
    "SAGEMAKER_PROJECT_ID": "project.id",
    "ARTIFACT_BUCKET": "bucket",
    "SAGEMAKER_PIPELINE_ROLE_ARN": "role_arn",
    "AWS_REGION": "region",
    "IMAGE_REGISTRY": "images.registry",
    "GIT_SHA": "git_sha",
}

_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@\-/]{1,512}$")
_KMS_KEY = re.compile(r"^(arn:aws[a-z\-]*:kms:[a-z0-9\-]+:\d{12}:(key|alias)/[\w/\-]+|alias/[\w/\-]+|[0-9a-f\-]{36})$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
# ISO 8601 duration with at least one component ("P" or "PT" alone are not durations), as CacheConfig's ExpireAfter.
_DURATION = re.compile(r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")

# SageMaker names jobs, models, endpoint configs and endpoints with at most 63 characters (pattern
# ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}). The staging endpoint config is "<pipeline_name>-staging-<execution id>" (12
# characters); under a custom job prefix SageMaker names a job or model
# <prefix>-<executionId>-<entityToken>-<failureCount> (aws/sagemaker-python-sdk#3946): 26 characters more.
MAX_RESOURCE_NAME = 63
EXECUTION_ID_LENGTH = 12
GENERATED_SUFFIX_LENGTH = 1 + EXECUTION_ID_LENGTH + 1 + 10 + 1 + 1
STAGING_SUFFIX = "-staging"


class ConfigError(ValueError):
    """A configuration value is invalid; the message lists each bad field, its value and what is allowed."""


def _matching(pattern: re.Pattern[str], allowed: str):
    def check(value: str | None) -> str | None:
        if value is not None and not pattern.match(value):
            raise ValueError(f"must be {allowed}")
        return value

    return check


_instance_type = _matching(_INSTANCE_TYPE, "a SageMaker instance type such as 'ml.g5.xlarge' (starting with 'ml.')")


class _Section(BaseModel):
    # strict: `--set epochs=yes` (YAML reads a boolean) must fail, not become 1
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ProjectConfig(_Section):
    """SageMaker Projects identity (tags the pipeline and its resources when set)."""

    name: str | None = None
    id: str | None = None


class ImagesConfig(_Section):
    """Where the step images live. Tags default to a content hash of each image's folder (never ``latest``)."""

    registry: str | None = Field(None, description="ECR registry, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com")
    repository_prefix: str = Field("yolo-pipelines", description="Repositories are <prefix>-<image>.")
    tag: str | None = Field(None, description="A release tag for all images instead of content hashes.")

    @field_validator("tag")
    @classmethod
    def _no_latest(cls, value: str | None) -> str | None:
        if value == "latest":
            raise ValueError("must not be 'latest' (definitions and caches must change when an image changes)")
        return value


class NetworkConfig(_Section):
    """VPC placement and network isolation of the jobs."""

    subnets: list[str] = Field(default_factory=list)
    security_group_ids: list[str] = Field(default_factory=list)
    enable_network_isolation: bool = False

    @field_validator("subnets")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        for subnet in value:
            if not re.match(r"^subnet-[0-9a-f]{8,17}$", subnet):
                raise ValueError(f"{subnet!r} is not a subnet id (subnet-0123abcd...)")
        return value

    @field_validator("security_group_ids")
    @classmethod
    def _security_groups(cls, value: list[str]) -> list[str]:
        for group in value:
            if not re.match(r"^sg-[0-9a-f]{8,17}$", group):
                raise ValueError(f"{group!r} is not a security group id (sg-0123abcd...)")
        return value


class DataConfig(_Section):
    """PrepareData knobs fixed at build time."""

    train_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.8
    val_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.1
    max_invalid_fraction: Annotated[float, Field(ge=0, le=1)] = 0.05
    label_attribute: str | None = Field(None, description="Ground Truth label attribute; default: the newest.")
    resplit: bool = Field(False, description="Split by content even when the export has its own splits.")


class TrainingConfig(_Section):
    """TrainYOLO settings fixed at build time (the per-run knobs are parameters)."""

    use_spot: bool = True
    max_runtime_seconds: Annotated[int, Field(gt=0, le=28 * 24 * 3600)] = 24 * 3600
    max_wait_seconds: Annotated[int, Field(gt=0, le=28 * 24 * 3600)] = 48 * 3600
    volume_size_gb: Annotated[int, Field(ge=1, le=16384)] = 50
    seed: int = 0
    mlflow_tracking_uri: str | None = Field(None, description="MLflow tracking URI or SageMaker MLflow server ARN.")
    warm_start: bool = Field(False, description="Start every execution from the newest approved version's model "
                                                "(start, run-pipeline, run --local; as start --warm-start).")

    @model_validator(mode="after")
    def _spot_wait(self) -> TrainingConfig:
        # CreateTrainingJob StoppingCondition: MaxWaitTimeInSeconds must be >= MaxRuntimeInSeconds (managed spot).
        if self.use_spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError(f"max_wait_seconds ({self.max_wait_seconds}) must be at least max_runtime_seconds "
                             f"({self.max_runtime_seconds}) with use_spot: the wait includes the training time")
        return self


class CacheSettings(_Section):
    """SageMaker step caching (CacheConfig) for the job steps."""

    enabled: bool = True
    expire_after: str = "P30D"

    @field_validator("expire_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        return _matching(_DURATION, "an ISO 8601 duration with at least one component, e.g. P30D or PT12H")(value)


class ParameterDefaults(_Section):
    """Defaults of the runtime pipeline parameters: an execution may override each one."""

    input_data_uri: str | None = Field(None, description="Raw data; default s3://<bucket>/<prefix>/datasets/raw/")
    processing_instance_type: str = "ml.m5.xlarge"
    training_instance_type: str = "ml.g5.xlarge"
    # TrainYOLO uses every GPU of ONE instance (DDP); the training image refuses several hosts.
    training_instance_count: Annotated[int, Field(ge=1, le=1)] = 1
    evaluation_instance_type: str = "ml.m5.xlarge"
    model_variant: Literal[YOLO_VARIANTS] = "yolo11n"  # type: ignore[valid-type]
    epochs: Annotated[int, Field(ge=1, le=10000)] = 100
    image_size: Annotated[int, Field(ge=32, le=4096, multiple_of=32)] = 640
    batch_size: Annotated[int, Field(ge=1, le=1024)] = 16
    patience: Annotated[int, Field(ge=0)] = 50
    optimizer: Literal["auto", "SGD", "Adam", "AdamW", "NAdam", "RAdam", "RMSprop"] = "auto"
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.01
    warmup_epochs: Annotated[float, Field(ge=0)] = 3.0
    data_loader_workers: Annotated[int, Field(ge=0, le=64)] = 8
    map_threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    # How far below the approved baseline's test mAP50-95 a new model may score and still be registered.
    regression_tolerance: Annotated[float, Field(ge=0, le=1)] = 0.0
    pretrained_weights_uri: str | None = Field(None, description="Weights to start from (a .pt staged by `weights "
                                                                 "stage`, or a model.tar.gz); default: none (YAML)")
    baseline_model_uri: str | None = Field(None, description="The baseline's model.tar.gz; default: none (filled "
                                                             "with the approved version's at start)")
    model_approval_status: Literal[APPROVAL_STATUSES] = "PendingManualApproval"  # type: ignore[valid-type]
    deploy_staging: bool = False

    @field_validator("processing_instance_type", "training_instance_type", "evaluation_instance_type")
    @classmethod
    def _instance_types(cls, value: str) -> str:
        return _instance_type(value)

    @field_validator("input_data_uri", "pretrained_weights_uri", "baseline_model_uri")
    @classmethod
    def _input_uri(cls, value: str | None) -> str | None:
        if value is None or value.startswith("s3://"):
            return _matching(_S3_URI, "an S3 URI like s3://bucket/prefix/")(value)
        raise ValueError("must be an S3 URI like s3://bucket/prefix/ (local mode maps s3:// onto a local store)")


class StagingConfig(_Section):
    """The in-pipeline staging endpoint (only when the DeployStaging parameter is true)."""

    instance_type: str = "ml.m5.large"
    initial_instance_count: Annotated[int, Field(ge=1)] = 1
    data_capture_percentage: Annotated[int, Field(ge=0, le=100)] = 100

    @field_validator("instance_type")
    @classmethod
    def _instance_types(cls, value: str) -> str:
        return _instance_type(value)


class LocalConfig(_Section):
    """Local mode: where its state lives and the CPU-friendly parameter values ``run --local`` starts from."""

    state_dir: str | None = Field(None, description="Default ./.yolo-pipeline (or $YOLO_PIPELINE_HOME).")
    parameters: dict[str, str | bool | int | float] = Field(
        default_factory=dict, description="Pipeline parameter values (by parameter name) applied before --param.")


class PipelineConfig(_Section):
    """Everything the factory needs to build one pipeline definition."""

    pipeline_name: str = "yolo11-detection"
    model_package_group_name: str = "yolo11-detection"
    base_job_prefix: str = "yolo11"
    region: str = "us-east-1"
    role_arn: str | None = None
    bucket: str = "yolo-pipelines-artifacts"
    prefix: str = Field("yolo11-detection", description="Key prefix of everything the pipeline writes to the bucket.")
    kms_key_id: str | None = None
    git_sha: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    project: ProjectConfig = ProjectConfig()
    images: ImagesConfig = ImagesConfig()
    network: NetworkConfig = NetworkConfig()
    data: DataConfig = DataConfig()
    training: TrainingConfig = TrainingConfig()
    cache: CacheSettings = CacheSettings()
    staging: StagingConfig = StagingConfig()
    parameters: ParameterDefaults = ParameterDefaults()
    local: LocalConfig = LocalConfig()

    @field_validator("pipeline_name", "model_package_group_name", "base_job_prefix")
    @classmethod
    def _names(cls, value: str) -> str:
        return _matching(_NAME, "1-63 letters, digits and hyphens, starting with a letter or digit")(value)

    @field_validator("role_arn")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        return _matching(_ROLE_ARN, "an IAM role ARN like arn:aws:iam::123456789012:role/Name")(value)

    @field_validator("kms_key_id")
    @classmethod
    def _kms(cls, value: str | None) -> str | None:
        return _matching(_KMS_KEY, "a KMS key id, key ARN or alias")(value)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return _matching(_BUCKET, "an S3 bucket name (3-63 lowercase letters, digits, '.', '-')")(value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return _matching(_REGION, "an AWS region like us-east-1")(value)

    @model_validator(mode="after")
    def _fits_sagemaker(self) -> PipelineConfig:
        room = MAX_RESOURCE_NAME - len(STAGING_SUFFIX) - GENERATED_SUFFIX_LENGTH
        if len(self.pipeline_name) > room:
            raise ValueError(f"pipeline_name {self.pipeline_name!r} is too long: the staging model is named "
                             f"'<pipeline_name>{STAGING_SUFFIX}' plus the {GENERATED_SUFFIX_LENGTH} characters "
                             f"SageMaker appends, within {MAX_RESOURCE_NAME}, so pipeline_name may have at most {room}")
        if self.network.enable_network_isolation and self.training.mlflow_tracking_uri:
            raise ValueError("network.enable_network_isolation and training.mlflow_tracking_uri exclude each other: an "
                             "isolated training container cannot reach an MLflow server; unset one of them")
        return self

    @property
    def s3_root(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def input_data_uri(self) -> str:
        return self.parameters.input_data_uri or f"{self.s3_root}/datasets/raw/"

    @property
    def no_model_uri(self) -> str:
        """The default of the optional model inputs (weights, baseline): a prefix whose one object is NO_MODEL.txt.

        A SageMaker job input must name objects that exist (CreateTrainingJob refuses one with "No S3 objects found
        under S3 URL ... given in input data source", as in aws/amazon-sagemaker-examples#2269), and a parameter
        cannot drop an input, so "no model" is this prefix; ``start``, ``run-pipeline`` and ``run --local`` put the
        object there (``pipelines.model_inputs``).
        """
        return f"{self.s3_root}/{NO_MODEL_PREFIX}"


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = target
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{dotted}: {'.'.join(keys[:-1])} is not a section, cannot set {keys[-1]!r} in it")
        node = child
    node[keys[-1]] = value


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """``["parameters.epochs=5", ...]`` -> ``{"parameters.epochs": 5}``; values are YAML scalars."""
    parsed: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. parameters.epochs=50")
        try:
            parsed[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:  # e.g. a tag such as !!python/object, which safe_load refuses
            raise ConfigError(f"--set {item!r}: the value is not a plain YAML scalar ({exc.__class__.__name__}); "
                              "quote it or give a number, true/false or text") from None
    return parsed


def _format_error(error: ValidationError, data: Mapping[str, Any]) -> str:
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        value = item.get("input")
        if item["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown key (value {value!r}); check the spelling against default_config.yaml")
            continue
        message = item["msg"].removeprefix("Value error, ")
        if isinstance(value, Mapping):  # a rule across fields of a section: its message names them
            lines.append(f"{field + ': ' if field else ''}{message}")
            continue
        lines.append(f"{field}: {value!r} is not allowed: {message}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> PipelineConfig:
    """Load the YAML file, then the Projects environment, then dotted-key overrides, and validate.

    Raises:
        ConfigError: the file is missing or not a mapping, or any value is invalid.
    """
    source = Path(path) if path else DEFAULT_CONFIG_PATH
    try:
        data = yaml.safe_load(source.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file {source} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {source} must hold a mapping of settings, not {type(data).__name__}")
    env = os.environ if environ is None else environ
    for variable, key in PROJECT_ENVIRONMENT.items():
        if env.get(variable):
            _set_dotted(data, key, env[variable])
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, data)) from None
