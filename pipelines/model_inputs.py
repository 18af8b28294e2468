"""The optional model inputs of an execution, settled when it starts: the weights TrainYOLO starts from and the
approved baseline EvaluateYOLO scores the candidate against.

``start``, ``run-pipeline`` and ``run --local`` call ``resolve`` with the registry of their mode (the SageMaker
Model Registry or the local MLflow registry): ``BaselineModelUri`` becomes the newest Approved version's model data,
read once, at start. So a SageMaker execution gets its baseline with no Lambda and no other infrastructure, and the
parameter shows in the execution what it was compared with. An input left empty takes the definition's default, the
"no model" prefix (``PipelineConfig.no_model_uri``), which ``ensure_placeholders`` fills with its one object: a job
input cannot be dropped by a parameter, and SageMaker fails a job whose input prefix holds no object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.config import NO_MODEL_PREFIX
from pipelines.definition import iter_steps, load, resolve_parameters
from pipelines.registry import ModelRegistry, RegistryError
from pipelines.weights import NO_MODEL, NO_MODEL_TEXT

__all__ = ["BASELINE", "WEIGHTS", "WarmStartError", "ensure_placeholders", "model_package_group", "resolve"]

WEIGHTS = "PretrainedWeightsUri"
BASELINE = "BaselineModelUri"
APPROVED = "Approved"


class WarmStartError(LookupError):
    """A warm start was asked for, but there is no approved version to start from (or weights were given too)."""


def model_package_group(definition: str | dict[str, Any]) -> str | None:
    """The model package group the definition registers into (its RegisterModel step)."""
    for step, _parent, _branch in iter_steps(load(definition).get("Steps", [])):
        if step.get("Type") == "RegisterModel":
            return step["Arguments"]["ModelPackageGroupName"]
    return None


def resolve(parameters: dict[str, Any], *, definition: str | dict[str, Any], registry: ModelRegistry | None,
            warm_start: bool = False) -> tuple[dict[str, Any], str | None]:
    """``parameters`` with the model inputs settled, and the approved version used (a sentence) or None.

    An empty value is dropped (the definition's default, the no-model prefix, applies). ``BaselineModelUri`` given
    pins the baseline; otherwise it becomes the approved version's model data, when there is one. With
    ``warm_start``, ``PretrainedWeightsUri`` becomes that model data too. ``registry`` None, or a group that does
    not exist yet, means no approved version.

    Raises:
        WarmStartError: ``warm_start`` with no approved version, or with PretrainedWeightsUri also given.
    """
    resolved = {name: value for name, value in parameters.items() if name not in (WEIGHTS, BASELINE) or value}
    group = model_package_group(definition)
    approved, used = None, None
    if registry is not None and group and (warm_start or BASELINE not in resolved):
        try:
            version = registry.latest(group, APPROVED)
        except RegistryError:  # the group does not exist yet: nothing was ever registered
            version = None
        if version is not None and version.model_data:
            approved, used = version.model_data, f"{group} version {version.version} ({version.model_data})"
    if warm_start:
        if WEIGHTS in resolved:
            raise WarmStartError(f"a warm start takes the approved version's model; {WEIGHTS} is also given: "
                                 "pass one or the other")
        if approved is None:
            raise WarmStartError(f"a warm start needs an approved version in model package group {group!r}, and "
                                 "there is none: approve one (`yolo-pipeline registry approve N`) or start without "
                                 "--warm-start")
        resolved[WEIGHTS] = approved
    if approved and BASELINE not in resolved:
        resolved[BASELINE] = approved
    return resolved, used


def ensure_placeholders(definition: str | dict[str, Any], parameters: dict[str, Any],
                        put: Callable[[str, str], None]) -> list[str]:
    """Call ``put(uri, text)`` for the no-model object of each model input this execution leaves at the no-model
    prefix; return those prefixes."""
    values = resolve_parameters(definition, parameters)
    prefixes = sorted({str(values[name]) for name in (WEIGHTS, BASELINE)
                       if name in values and str(values[name]).endswith(NO_MODEL_PREFIX)})
    for prefix in prefixes:
        put(f"{prefix}{NO_MODEL}", NO_MODEL_TEXT)
    return prefixes
