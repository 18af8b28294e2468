"""The RegisterModel step: a model package version in the local registry, from the step's resolved arguments."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.local.errors import StepFailure
from pipelines.local.expressions import render
from pipelines.local.registry import LocalRegistry
from pipelines.local.store import LocalStore

__all__ = ["register_model"]


def register_model(arguments: Mapping[str, Any], *, registry: LocalRegistry, store: LocalStore,
                   training_job_name: str | None = None) -> dict[str, Any]:
    """Register the model the arguments describe (CreateModelPackage shape); returns DescribeModelPackage-like
    properties (``ModelPackageArn``, ``ModelPackageVersion`` ...).

    Raises:
        StepFailure: the model artefact or the ModelQuality statistics file is missing or unreadable.
    """
    group = arguments["ModelPackageGroupName"]
    container = arguments["InferenceSpecification"]["Containers"][0]
    model_url = container["ModelDataUrl"]
    model_file = store.existing(model_url)
    if not model_file.is_file():
        raise StepFailure(f"ModelDataUrl {model_url} is a folder; a model package needs a model.tar.gz")
    statistics = arguments.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
    evaluation = store.read_json(statistics) if statistics else None
    plots = _plots(evaluation, store.path(statistics).parent) if statistics else {}
    status = arguments.get("ModelApprovalStatus") or "PendingManualApproval"
    version = registry.register(
        group, model_file,
        approval_status=status,
        evaluation=evaluation,
        metadata={key: render(value) for key, value in arguments.get("CustomerMetadataProperties", {}).items()},
        model_data_url=model_url,
        image=container.get("Image"),
        training_job_name=training_job_name,
        description=arguments.get("ModelPackageDescription"),
        attachments=plots,
    )
    return {**arguments, "ModelPackageArn": version.arn, "ModelPackageName": f"{group}/{version.version}",
            "ModelPackageVersion": version.version, "ModelApprovalStatus": status, "ModelPackageStatus": "Completed",
            "CreationTime": version.created_at}


def _plots(evaluation: Any, folder: Path) -> dict[str, Path]:
    """The plot files evaluation.json lists (relative to its folder), those that are there and stay inside it."""
    listed = evaluation.get("plots") if isinstance(evaluation, dict) else None
    found = {}
    for name in listed if isinstance(listed, list) else []:
        path = (folder / str(name)).resolve()
        if path.is_file() and path.is_relative_to(folder.resolve()):
            found[str(name)] = path
    return found
