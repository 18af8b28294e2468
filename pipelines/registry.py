"""Model registry operations behind one interface: the SageMaker Model Registry or the local MLflow registry.

Approvers list versions with their metrics, compare two, and approve or reject; the same commands work against AWS
(boto3, no SageMaker SDK import) and against local mode's registry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipelines.config import APPROVAL_STATUSES

__all__ = ["APPROVAL_STATUSES", "LocalModelRegistry", "ModelRegistry", "ModelVersionSummary", "RegistryError",
           "SageMakerRegistry", "compare", "headline_metrics"]

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
    details: dict[str, Any] = field(default_factory=dict)


class ModelRegistry(Protocol):
    def list_versions(self, group: str) -> list[ModelVersionSummary]: ...

    def get(self, group: str, version: int) -> ModelVersionSummary: ...

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


def compare(registry: ModelRegistry, group: str, a: int, b: int) -> list[tuple[str, float | None, float | None]]:
    """``(metric, value in a, value in b)`` for the union of both versions' headline metrics."""
    first, second = registry.get(group, a), registry.get(group, b)
    names = [n for n in HEADLINE_METRICS if n in first.metrics or n in second.metrics]
    return [(n, first.metrics.get(n), second.metrics.get(n)) for n in names]


class SageMakerRegistry:
    """The SageMaker Model Registry through boto3 (metrics read from each version's evaluation.json on S3)."""

    def __init__(self, sagemaker_client: Any, s3_client: Any):
        self.sagemaker = sagemaker_client
        self.s3 = s3_client

    def list_versions(self, group: str) -> list[ModelVersionSummary]:
        self._require_group(group)
        summaries = []
        for page in self.sagemaker.get_paginator("list_model_packages").paginate(
                ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending"):
            summaries.extend(page["ModelPackageSummaryList"])
        return [self.get(group, s["ModelPackageVersion"]) for s in summaries]

    def get(self, group: str, version: int) -> ModelVersionSummary:
        arn = self._arn(group, version)
        try:
            described = self.sagemaker.describe_model_package(ModelPackageName=arn)
        except self.sagemaker.exceptions.ClientError as exc:
            if "does not exist" in str(exc) or exc.response["Error"]["Code"] in ("ValidationException",
                                                                                 "ResourceNotFound"):
                raise RegistryError(f"model package group {group!r} has no version {version}") from None
            raise
        statistics = ((described.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics") or {}
        return ModelVersionSummary(
            group=group, version=int(described["ModelPackageVersion"]),
            approval_status=described.get("ModelApprovalStatus") or "PendingManualApproval",
            created_at=str(described.get("CreationTime", "")), arn=described["ModelPackageArn"],
            metrics=headline_metrics(self._read_json(statistics.get("S3Uri"))),
            details={"image": described["InferenceSpecification"]["Containers"][0].get("Image"),
                     "model_data_url": described["InferenceSpecification"]["Containers"][0].get("ModelDataUrl"),
                     **(described.get("CustomerMetadataProperties") or {})},
        )

    def set_approval(self, group: str, version: int, status: str, note: str | None = None) -> ModelVersionSummary:
        check_status(status)
        current = self.get(group, version)
        request = {"ModelPackageArn": current.arn, "ModelApprovalStatus": status}
        if note:
            request["ApprovalDescription"] = note
        self.sagemaker.update_model_package(**request)
        return self.get(group, version)

    def _require_group(self, group: str) -> None:
        try:
            self.sagemaker.describe_model_package_group(ModelPackageGroupName=group)
        except self.sagemaker.exceptions.ClientError:
            raise RegistryError(f"model package group {group!r} does not exist in this account and region") from None

    def _arn(self, group: str, version: int) -> str:
        described = self.sagemaker.describe_model_package_group(ModelPackageGroupName=group)
        return described["ModelPackageGroupArn"].replace(":model-package-group/", ":model-package/") + f"/{version}"

    def _read_json(self, uri: str | None) -> dict[str, Any] | None:
        if not uri or not uri.startswith("s3://"):
            return None
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except (self.s3.exceptions.ClientError, ValueError):
            return None


class LocalModelRegistry:
    """Local mode's MLflow registry behind the same interface."""

    def __init__(self, state_dir: str | None = None):
        from pipelines.local import LocalRegistry

        self.local = LocalRegistry(state_dir)

    def list_versions(self, group: str) -> list[ModelVersionSummary]:
        return [self._summary(v) for v in self._call(self.local.list_versions, group)]

    def get(self, group: str, version: int) -> ModelVersionSummary:
        return self._summary(self._call(self.local.get, group, version))

    def set_approval(self, group: str, version: int, status: str, note: str | None = None) -> ModelVersionSummary:
        return self._summary(self._call(self.local.set_approval, group, version, status))

    @staticmethod
    def _call(function, *args):
        from pipelines.local import LocalModeError

        try:
            return function(*args)
        except LocalModeError as exc:
            raise RegistryError(str(exc)) from None

    @staticmethod
    def _summary(version) -> ModelVersionSummary:
        return ModelVersionSummary(group=version.group, version=version.version,
                                   approval_status=version.approval_status, created_at=version.created_at,
                                   arn=version.arn, metrics=dict(version.metrics),
                                   details={"model": str(version.model_path), **version.tags})
