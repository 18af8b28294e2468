"""What local mode refuses before anything runs: step types, arguments and expressions it cannot execute.

Each problem names the step and the construct, so a run fails at once with a message that says what to change,
rather than after an hour of training at the step that needs it.
"""

from __future__ import annotations

from typing import Any

from pipelines.definition import iter_steps
from pipelines.local.errors import UnsupportedConstruct
from pipelines.local.expressions import condition_problems, is_expression, problems
from pipelines.local.imagespec import image_spec_for_uri, infer_repository_prefix

__all__ = ["SUPPORTED_STEP_TYPES", "definition_problems"]

SUPPORTED_STEP_TYPES = ("Processing", "Training", "Condition", "Fail", "RegisterModel", "Model", "EndpointConfig",
                        "Endpoint")
_BRANCHES = ("IfSteps", "ElseSteps", "Conditions")


def definition_problems(definition: dict[str, Any], repository_prefix: str | None = None) -> list[str]:
    """Every construct in ``definition`` that local mode cannot execute, as ``"step <name>: <what>"`` lines.

    ``repository_prefix`` tells the pipeline's images from foreign ones (default: read off the image URIs).
    """
    prefix = infer_repository_prefix(definition) if repository_prefix is None else repository_prefix
    parameters = {p["Name"] for p in definition.get("Parameters", [])}
    steps = {step["Name"] for step, _, _ in iter_steps(definition.get("Steps", []))}
    found = problems(definition.get("PipelineExperimentConfig"), parameters, steps, "PipelineExperimentConfig")
    for step, _, _ in iter_steps(definition.get("Steps", [])):
        name, kind = step["Name"], step.get("Type")
        where = f"step {name}"
        if kind not in SUPPORTED_STEP_TYPES:
            found.append(f"{where}: unsupported step type {kind!r} (local mode runs "
                         f"{', '.join(SUPPORTED_STEP_TYPES)})")
            continue
        arguments = step.get("Arguments", {})
        plain = {key: value for key, value in arguments.items() if key not in _BRANCHES}
        found += problems(plain, parameters, steps, f"{where} Arguments")
        for index, condition in enumerate(arguments.get("Conditions", []) if kind == "Condition" else []):
            found += condition_problems(condition, parameters, steps, f"{where} Conditions[{index}]")
        found += [f"{where}: {issue}" for issue in _argument_problems(kind, arguments, prefix)]
    return found


def _argument_problems(kind: str, arguments: dict[str, Any], repository_prefix: str) -> list[str]:
    issues: list[str] = []
    image = None
    if kind == "Processing":
        image = arguments.get("AppSpecification", {}).get("ImageUri")
        issues += [f"processing input {i.get('InputName')!r} is not an S3Input (DatasetDefinition inputs are not "
                   "supported locally)" for i in arguments.get("ProcessingInputs", []) if "S3Input" not in i]
        issues += [f"processing output {o.get('OutputName')!r} is not an S3Output (Feature Store outputs are not "
                   "supported locally)" for o in arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
                   if "S3Output" not in o]
    elif kind == "Training":
        algorithm = arguments.get("AlgorithmSpecification", {})
        image = algorithm.get("TrainingImage")
        if image is None:
            issues.append("training without a TrainingImage (AlgorithmName) is not supported locally")
        issues += [f"channel {c.get('ChannelName')!r} is not an S3DataSource (file systems are not supported "
                   "locally)" for c in arguments.get("InputDataConfig", [])
                   if "S3DataSource" not in c.get("DataSource", {})]
    elif kind == "RegisterModel":
        if "ModelPackageGroupName" not in arguments:
            issues.append("registering without a ModelPackageGroupName (an unversioned model package) is not "
                          "supported locally")
        if not arguments.get("InferenceSpecification", {}).get("Containers"):
            issues.append("RegisterModel without InferenceSpecification.Containers")
    if isinstance(image, str) and not is_expression(image):
        try:
            image_spec_for_uri(image, repository_prefix)
        except UnsupportedConstruct as exc:
            issues.append(str(exc))
    return issues
