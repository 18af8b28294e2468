"""Model packages as RegisterYOLO creates them, for moto-backed registry tests."""

from __future__ import annotations

GROUP = "yolo11-detection"


def create_package(client, status: str, index: int, statistics_uri: str | None = None) -> None:
    """Version ``index`` of GROUP with that approval status, model data ``s3://b/models/<index>/model.tar.gz``."""
    metrics = {"ModelMetrics": {"ModelQuality": {"Statistics": {"ContentType": "application/json",
                                                                "S3Uri": statistics_uri}}}} if statistics_uri else {}
    client.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus=status,
        InferenceSpecification={"Containers": [{"Image": "img:1", "ModelDataUrl": f"s3://b/models/{index}/model.tar.gz"}],
                                "SupportedContentTypes": ["image/jpeg"],
                                "SupportedResponseMIMETypes": ["application/json"]},
        **metrics)
