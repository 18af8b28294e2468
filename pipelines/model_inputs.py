"""The optional model inputs of an execution, filled in when it starts: the weights TrainYOLO starts from and the
approved baseline EvaluateYOLO scores the candidate against.

``start``, ``run-pipeline`` and ``run --local`` call ``resolve`` with the registry of their mode (SageMaker Model
Registry or the local MLflow registry), so a SageMaker execution gets its baseline without a Lambda or any other
infrastructure: ``BaselineModelUri`` is the newest Approved version's model data, read once, at start. An empty or
absent value of either input becomes the "no model" placeholder prefix (``pipelines.weights.no_model_uri``): a job
input cannot be left out, and SageMaker fails a job whose input prefix holds nothing.
"""

from __future__ import annotations

from typing import Any

from pipelines.registry import ModelRegistry, RegistryError
from pipelines.weights import no_model_uri

__all__ = ["BASELINE", "WEIGHTS", "WarmStartError", "resolve"]

WEIGHTS = "PretrainedWeightsUri"
BASELINE = "BaselineModelUri"
APPROVED = "Approved"


class WarmStartError(LookupError):
    """A warm start was asked for, but the group has no approved version to start from."""


def resolve(parameters: dict[str, Any], *, registry: ModelRegistry | None, group: str, s3_root: str,
            warm_start: bool = False) -> tuple[dict[str, Any], str | None]:
    """``parameters`` with both model inputs filled in, and the approved version used (a sentence), if any.

    A value the caller gave is kept (``BaselineModelUri`` given explicitly pins the baseline). ``registry`` None, or a
    group that does not exist yet, means no approved version.

    Raises:
        WarmStartError: ``warm_start`` with no approved version, or with PretrainedWeightsUri also given.
    """
    resolved = dict(parameters)
    approved, used = None, None
    if registry is not None and (warm_start or not parameters.get(BASELINE)):
        try:
            version = registry.latest(group, APPROVED)
        except RegistryError:  # the group does not exist yet: nothing was ever registered
            version = None
        if version is not None and version.model_data:
            approved, used = version.model_data, f"{group} version {version.version} ({version.model_data})"
    if warm_start:
        if parameters.get(WEIGHTS):
            raise WarmStartError(f"a warm start takes the approved version's model; {WEIGHTS} is also given: "
                                 "pass one or the other")
        if approved is None:
            raise WarmStartError(f"a warm start needs an approved version in model package group {group!r}, and "
                                 "there is none: approve one (`yolo-pipeline registry approve N`) or start without "
                                 "--warm-start")
        resolved[WEIGHTS] = approved
    if not parameters.get(BASELINE):
        resolved[BASELINE] = approved or no_model_uri(s3_root)
    if not resolved.get(WEIGHTS):
        resolved[WEIGHTS] = no_model_uri(s3_root)
    return resolved, used
