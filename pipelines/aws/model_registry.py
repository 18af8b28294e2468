"""The SageMaker Model Registry behind the ``pipelines.registry`` interface (boto3, no SageMaker SDK import)."""

from __future__ import annotations

import json
from typing import Any

from pipelines.registry import (
    ModelVersionSummary,
    RegistryError,
    check_status,
    evaluation_details,
    headline_metrics,
)


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

    def latest(self, group: str, approval_status: str) -> ModelVersionSummary | None:
        """The newest version with that approval status (by CreationTime, across pages), or None.

        ListModelPackages filters by ModelApprovalStatus and sorts server-side
        (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListModelPackages.html), so the first
        summary of the first non-empty page is the newest; later pages are not fetched.
        """
        check_status(approval_status)
        self._require_group(group)
        for page in self.sagemaker.get_paginator("list_model_packages").paginate(
                ModelPackageGroupName=group, ModelApprovalStatus=approval_status, SortBy="CreationTime",
                SortOrder="Descending"):
            if page["ModelPackageSummaryList"]:
                return self.get(group, page["ModelPackageSummaryList"][0]["ModelPackageVersion"])
        return None

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
        evaluation = self._read_json(statistics.get("S3Uri"))
        return ModelVersionSummary(
            group=group, version=int(described["ModelPackageVersion"]),
            approval_status=described.get("ModelApprovalStatus") or "PendingManualApproval",
            created_at=str(described.get("CreationTime", "")), arn=described["ModelPackageArn"],
            metrics=headline_metrics(evaluation),
            model_data=described["InferenceSpecification"]["Containers"][0].get("ModelDataUrl"),
            details={"image": described["InferenceSpecification"]["Containers"][0].get("Image"),
                     "model_data_url": described["InferenceSpecification"]["Containers"][0].get("ModelDataUrl"),
                     **(described.get("CustomerMetadataProperties") or {}),
                     **evaluation_details(evaluation, str(statistics.get("S3Uri", "")).rsplit("/", 1)[0])},
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
