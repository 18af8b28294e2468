"""The model registry interface that approvers' commands use, whichever registry is behind it.

Two implementations: ``pipelines.aws.model_registry.SageMakerRegistry`` (the SageMaker Model Registry through boto3)
and ``pipelines.local.registry.LocalModelRegistry`` (local mode's MLflow registry). Both depend on this module, never
the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pipelines.config import APPROVAL_STATUSES

__all__ = ["APPROVAL_STATUSES", "ModelRegistry", "ModelVersionSummary", "RegistryError", "compare",
           "evaluation_details", "headline_metrics"]

HEADLINE_METRICS = ("mAP50_95", "mAP50", "precision", "recall")


class RegistryError(LookupError):
    """A group or version that does not exist, or a status that is not allowed."""


@dataclass(frozen=True)
class ModelVersionSummary:
    group: str
    version: int
    approval_status: str
    created_at: str
    arn: str
    metrics: dict[str, float] = field(default_factory=dict)
    model_data: str | None = None  # the version's model.tar.gz: an S3 URI (local mode: the registry's own copy)
    details: dict[str, Any] = field(default_factory=dict)


class ModelRegistry(Protocol):
    def list_versions(self, group: str) -> list[ModelVersionSummary]: ...

    def get(self, group: str, version: int) -> ModelVersionSummary: ...

    def latest(self, group: str, approval_status: str) -> ModelVersionSummary | None: ...

    def set_approval(self, group: str, version: int, status: str, note: str | None = None) -> ModelVersionSummary: ...


def check_status(status: str) -> str:
    if status not in APPROVAL_STATUSES:
        raise RegistryError(f"approval status {status!r} is not one of {', '.join(APPROVAL_STATUSES)}")
    return status


def headline_metrics(evaluation: dict[str, Any] | None) -> dict[str, float]:
    """``{"mAP50_95": 0.41, "mAP50": ...}`` from evaluation.json's ``object_detection_metrics`` (per-class left out)."""
    section = (evaluation or {}).get("object_detection_metrics", {})
    return {name: float(item["value"]) for name, item in section.items()
            if isinstance(item, dict) and isinstance(item.get("value"), (int, float))
            and not isinstance(item.get("value"), bool)}


def evaluation_details(evaluation: dict[str, Any] | None, folder: str) -> dict[str, Any]:
    """What a version's evaluation.json adds to ``registry show``: the baseline it was compared with and its plots.

    ``baseline`` is None when the version was evaluated without one (no approved version then), else the baseline
    model's provenance and, per headline metric, the baseline's value and the delta (this version - baseline).
    ``plots`` are the plot files beside evaluation.json, under ``folder`` (an S3 prefix or a local folder).
    ``trained_from`` is where its training started (model.json's ``initialisation``: yaml, pretrained or warm_start,
    and the weights' source).
    """
    if not evaluation:
        return {}
    recorded = evaluation.get("baseline")
    baseline = None
    if isinstance(recorded, dict) and recorded.get("present"):
        baseline = {"model": recorded.get("model"),
                    **{name: recorded[name] for name in HEADLINE_METRICS if isinstance(recorded.get(name), dict)}}
    plots = [f"{folder.rstrip('/')}/{plot}" for plot in evaluation.get("plots") or [] if isinstance(plot, str)]
    start = (evaluation.get("model") or {}).get("initialisation")
    return {"baseline": baseline, "plots": plots, "trained_from": start}


def compare(registry: ModelRegistry, group: str, a: int, b: int) -> list[tuple[str, float | None, float | None]]:
    """``(metric, value in a, value in b)`` for the union of both versions' headline metrics."""
    first, second = registry.get(group, a), registry.get(group, b)
    names = [n for n in HEADLINE_METRICS if n in first.metrics or n in second.metrics]
    return [(n, first.metrics.get(n), second.metrics.get(n)) for n in names]
