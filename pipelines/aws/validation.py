"""Will SageMaker accept and correctly run this definition? Checked offline, before any upsert or job.

Local mode proves the definition's logic, not that SageMaker takes it. Each step's Arguments go to one SageMaker API
(Processing -> CreateProcessingJob, Training -> CreateTrainingJob, RegisterModel -> CreateModelPackage, Model ->
CreateModel, EndpointConfig -> CreateEndpointConfig, Endpoint -> CreateEndpoint). Pipeline expressions are replaced by
type-correct values first: parameter values (defaults unless given), and for names the longest value SageMaker can
generate. The request is then checked against botocore's service model (``service_model``), and against the
documented rules that the model cannot express (``RULES``, each with its reference).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.aws.service_model import check_request
from pipelines.config import EXECUTION_ID_LENGTH, GENERATED_SUFFIX_LENGTH
from steps.instance_storage import has_instance_storage

__all__ = ["GENERATED_SUFFIX_LENGTH", "Problem", "generated_job_name", "validate_definition"]

OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "RegisterModel": "CreateModelPackage",
    "Model": "CreateModel",
    "EndpointConfig": "CreateEndpointConfig",
    "Endpoint": "CreateEndpoint",
}
_NAME_FIELDS = {"Processing": "ProcessingJobName", "Training": "TrainingJobName", "Model": "ModelName"}

# With a custom job prefix, SageMaker names a job <prefix>-<executionId>-<entityToken>-<failureCount>
# (aws/sagemaker-python-sdk#3946, which added PipelineDefinitionConfig); without one,
# pipelines-<executionId>-<StepName>-<entityToken>. Execution ids have 12 characters, entity tokens 10, as in a job
# SageMaker named "pipelines-kytlemm1lvpq-PreprocessingStep-cIpzShs3Qp" (aws/amazon-sagemaker-examples#3106). The
# SDK keeps ModelName, like the job names, only under use_custom_job_prefix (sagemaker.mlops.workflow.model_step, and
# aws/sagemaker-python-sdk#4371): a model's name is a prefix too.
EXECUTION_ID = "e" * EXECUTION_ID_LENGTH
_ENTITY_TOKEN = "t" * 10
_FAILURE_COUNT = "9"
PLACEHOLDER_ROLE_ACCOUNT = "000000000000"
_ECR_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+"
                        r"(:[\w.-]+|@sha256:[0-9a-f]{64})$")
_OUTPUT_URIS = {"Processing": "ProcessingOutputConfig", "Training": "OutputDataConfig"}


@dataclass(frozen=True)
class Problem:
    """One thing SageMaker would refuse, or run wrongly: where, what, and which rule."""

    step: str
    path: str
    value: Any
    rule: str
    reference: str = "SageMaker service model (botocore)"

    def __str__(self) -> str:
        shown = json.dumps(self.value, default=str)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        return f"{self.step}: {self.path} = {shown}: {self.rule} [{self.reference}]"


def generated_job_name(prefix: str) -> str:
    """The longest name SageMaker gives a job whose definition names the prefix ``prefix``."""
    return f"{prefix}-{EXECUTION_ID}-{_ENTITY_TOKEN}-{_FAILURE_COUNT}"


class _Resolver:
    """Replaces pipeline expressions (Get, Std:Join, Std:JsonGet) by the values an execution would see."""

    def __init__(self, definition: dict[str, Any], parameters: Mapping[str, Any], pipeline_name: str):
        self.parameters = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
        self.parameters.update(parameters)
        self.pipeline_name = pipeline_name
        self.steps = {step["Name"]: step for step in _all_steps(definition.get("Steps", []))}
        self._arguments: dict[str, dict[str, Any]] = {}

    def value(self, expression: Any) -> Any:
        if isinstance(expression, list):
            return [self.value(item) for item in expression]
        if not isinstance(expression, dict):
            return expression
        if set(expression) == {"Get"}:
            return self._get(expression["Get"])
        if set(expression) == {"Std:Join"}:
            join = expression["Std:Join"]
            return join["On"].join(_text(self.value(item)) for item in join["Values"])
        if set(expression) == {"Std:JsonGet"}:
            return 0.5  # a number read from a property file at run time
        return {key: self.value(item) for key, item in expression.items()}

    def arguments(self, name: str) -> dict[str, Any]:
        """A step's Arguments as SageMaker receives them, with the names SageMaker generates."""
        if name not in self._arguments:
            step = self.steps[name]
            arguments = self.value(step.get("Arguments", {}))
            field = _NAME_FIELDS.get(step["Type"])
            if field and step["Type"] != "Model":
                prefix = arguments.get(field)
                arguments[field] = (generated_job_name(prefix) if prefix
                                    else f"pipelines-{EXECUTION_ID}-{name}-{_ENTITY_TOKEN}")
            elif field and field in arguments:  # a model name is a prefix too, under use_custom_job_prefix
                arguments[field] = generated_job_name(arguments[field])
            self._arguments[name] = arguments
        return self._arguments[name]

    def _get(self, reference: str) -> Any:
        root, _, rest = reference.partition(".")
        if root == "Parameters":
            return self.parameters[rest]
        if root == "Execution":
            return {"PipelineExecutionId": EXECUTION_ID, "PipelineName": self.pipeline_name,
                    "PipelineExecutionArn": f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/"
                                            f"{self.pipeline_name}/execution/{EXECUTION_ID}"}.get(
                rest, "2026-01-01T00:00:00.000Z")
        step, _, path = rest.partition(".")
        return self._step_property(step, path)

    def _step_property(self, step: str, path: str) -> Any:
        arguments = self.arguments(step)
        output = re.fullmatch(r"ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri", path)
        if output:
            return next(o["S3Output"]["S3Uri"] for o in arguments["ProcessingOutputConfig"]["Outputs"]
                        if o["OutputName"] == output.group(1))
        if path == "ModelArtifacts.S3ModelArtifacts":
            return (f"{arguments['OutputDataConfig']['S3OutputPath']}/{arguments['TrainingJobName']}"
                    "/output/model.tar.gz")
        if path in arguments:
            return arguments[path]
        return "placeholder"


def _all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from _all_steps(step["Arguments"].get("IfSteps", []))
            yield from _all_steps(step["Arguments"].get("ElseSteps", []))


def _local_path_for_s3(default: Any, value: Any) -> bool:
    return (isinstance(default, str) and default.startswith("s3://") and isinstance(value, str)
            and not value.startswith("s3://"))


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


# --- documented rules the service model cannot express -------------------------------------------------------------
Rule = Callable[[dict[str, Any], dict[str, Any], "_Context"], Iterator[Problem]]


@dataclass(frozen=True)
class _Context:
    base_job_prefix: str | None
    deployable: bool


def _volume_kms_key(step: dict[str, Any], arguments: dict[str, Any], context: _Context) -> Iterator[Problem]:
    resources = arguments.get("ResourceConfig") or (arguments.get("ProcessingResources") or {}).get("ClusterConfig")
    if resources and resources.get("VolumeKmsKeyId") and has_instance_storage(str(resources.get("InstanceType"))):
        path = "ResourceConfig" if "ResourceConfig" in arguments else "ProcessingResources.ClusterConfig"
        yield Problem(step["Name"], f"{path}.VolumeKmsKeyId", resources["VolumeKmsKeyId"],
                      f"is refused for {resources['InstanceType']}, an instance type with NVMe instance storage "
                      "(encrypted by the instance's hardware): leave the volume KMS key out",
                      "CreateTrainingJob ResourceConfig.VolumeKmsKeyId (AWS API reference)")


def _spot_wait(step: dict[str, Any], arguments: dict[str, Any], context: _Context) -> Iterator[Problem]:
    if not arguments.get("EnableManagedSpotTraining"):
        return
    stopping = arguments.get("StoppingCondition") or {}
    wait, runtime = stopping.get("MaxWaitTimeInSeconds"), stopping.get("MaxRuntimeInSeconds", 86400)
    if wait is None or wait < runtime:
        yield Problem(step["Name"], "StoppingCondition.MaxWaitTimeInSeconds", wait,
                      f"managed spot training needs a wait of at least MaxRuntimeInSeconds ({runtime})",
                      "CreateTrainingJob StoppingCondition (AWS API reference)")


def _job_name_prefix(step: dict[str, Any], arguments: dict[str, Any], context: _Context) -> Iterator[Problem]:
    field = _NAME_FIELDS.get(step["Type"])
    if not field or step["Type"] == "Model" or not context.base_job_prefix:
        return
    named = step.get("Arguments", {}).get(field)
    if not isinstance(named, str) or not named.startswith(context.base_job_prefix):
        yield Problem(step["Name"], field, named,
                      f"must name a prefix starting with base_job_prefix {context.base_job_prefix!r}: without it "
                      "SageMaker names the job pipelines-..., and IAM policies that scope jobs by name deny it",
                      "Access management for SageMaker Pipelines, custom job name prefix (AWS doc)")


def _outputs_per_execution(step: dict[str, Any], arguments: dict[str, Any], context: _Context) -> Iterator[Problem]:
    key = _OUTPUT_URIS.get(step["Type"])
    if not key or not (step.get("CacheConfig") or {}).get("Enabled"):
        return
    raw = step.get("Arguments", {})
    outputs = raw.get(key, {})
    uris = ([(f"{key}.Outputs[{o['OutputName']}].S3Output.S3Uri", o["S3Output"]["S3Uri"])
             for o in outputs.get("Outputs", [])] if step["Type"] == "Processing"
            else [(f"{key}.S3OutputPath", outputs.get("S3OutputPath"))])
    for path, uri in uris:
        if "Execution.PipelineExecutionId" not in json.dumps(uri):
            yield Problem(step["Name"], path, uri,
                          "with caching on, outputs must go under a per-execution prefix: outputs are not in the "
                          "cache key, so a fixed prefix makes new upstream outputs look unchanged downstream "
                          "(stale cache hits) and keeps files of earlier runs",
                          "Default cache key attributes by pipeline step type (AWS doc)")
    checkpoint = raw.get("CheckpointConfig", {}).get("S3Uri")
    if "Execution.PipelineExecutionId" in json.dumps(checkpoint):
        yield Problem(step["Name"], "CheckpointConfig.S3Uri", checkpoint,
                      "is part of the training cache key: an execution id in it means training never hits the cache",
                      "Default cache key attributes by pipeline step type (AWS doc)")


def _isolation_without_tracking(step: dict[str, Any], arguments: dict[str, Any],
                                context: _Context) -> Iterator[Problem]:
    uri = (arguments.get("Environment") or {}).get("MLFLOW_TRACKING_URI")
    if arguments.get("EnableNetworkIsolation") and uri:
        yield Problem(step["Name"], "Environment.MLFLOW_TRACKING_URI", uri,
                      "an isolated container makes no network calls, so it cannot reach MLflow",
                      "CreateTrainingJob EnableNetworkIsolation (AWS API reference)")


def _single_instance_training(step: dict[str, Any], arguments: dict[str, Any],
                              context: _Context) -> Iterator[Problem]:
    count = (arguments.get("ResourceConfig") or {}).get("InstanceCount", 1)
    if step["Type"] == "Training" and isinstance(count, int) and count > 1:
        yield Problem(step["Name"], "ResourceConfig.InstanceCount", count,
                      "the training image trains on the GPUs of one instance and refuses several hosts",
                      "containers/README.md, TrainYOLO contract")


def _ecr_images(step: dict[str, Any], arguments: dict[str, Any], context: _Context) -> Iterator[Problem]:
    if not context.deployable:
        return
    for path, image in _images(arguments):
        if not _ECR_IMAGE.match(str(image)):
            yield Problem(step["Name"], path, image,
                          "must be an Amazon ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>): "
                          "set images.registry (or IMAGE_REGISTRY)",
                          "SageMaker runs images from Amazon ECR (AWS doc \"Use your own training/processing/"
                          "inference code\")")


def _images(arguments: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "AppSpecification" in arguments:
        yield "AppSpecification.ImageUri", arguments["AppSpecification"].get("ImageUri")
    if "AlgorithmSpecification" in arguments:
        yield "AlgorithmSpecification.TrainingImage", arguments["AlgorithmSpecification"].get("TrainingImage")
    if "PrimaryContainer" in arguments:
        yield "PrimaryContainer.Image", arguments["PrimaryContainer"].get("Image")
    for index, container in enumerate((arguments.get("InferenceSpecification") or {}).get("Containers", [])):
        yield f"InferenceSpecification.Containers[{index}].Image", container.get("Image")


def _real_role(step: dict[str, Any], arguments: dict[str, Any], context: _Context) -> Iterator[Problem]:
    for field in ("RoleArn", "ExecutionRoleArn"):
        role = arguments.get(field)
        if context.deployable and isinstance(role, str) and f"::{PLACEHOLDER_ROLE_ACCOUNT}:" in role:
            yield Problem(step["Name"], field, role, "is the placeholder role: set role_arn (or --role-arn)",
                          "CreateTrainingJob RoleArn (AWS API reference)")


RULES: tuple[Rule, ...] = (_volume_kms_key, _spot_wait, _job_name_prefix, _outputs_per_execution,
                           _isolation_without_tracking, _single_instance_training, _ecr_images, _real_role)


def validate_definition(definition: str, *, parameters: Mapping[str, Any] | None = None,
                        base_job_prefix: str | None = None, pipeline_name: str = "pipeline",
                        deployable: bool = True) -> list[Problem]:
    """Every problem SageMaker would have with ``definition`` when started with ``parameters``.

    ``deployable=False`` (local mode) skips what only matters on AWS: ECR image URIs and a real role; a local path
    where the definition has an S3 URI is checked as that S3 URI (local mode maps the path into its object store).
    """
    document = json.loads(definition)
    values = dict(parameters or {})
    if not deployable:
        defaults = {p["Name"]: p.get("DefaultValue") for p in document.get("Parameters", [])}
        values = {name: defaults[name] if _local_path_for_s3(defaults.get(name), value) else value
                  for name, value in values.items()}
    resolver = _Resolver(document, values, pipeline_name)
    context = _Context(base_job_prefix, deployable)
    problems = []
    for name, step in resolver.steps.items():
        operation = OPERATIONS.get(step["Type"])
        if operation is None:
            continue
        arguments = resolver.arguments(name)
        problems += [Problem(name, p.path, p.value, p.rule) for p in check_request(operation, arguments)]
        for rule in RULES:
            problems += list(rule(step, arguments, context))
    return problems
