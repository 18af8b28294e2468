"""Model packages as RegisterYOLO creates them, for moto-backed registry tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto import mock_aws

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


@contextmanager
def moto_registry(evaluations: dict[str, dict]) -> Iterator:
    """A moto SageMaker client whose GROUP holds one PendingManualApproval version per evaluation.json, in order:
    each document is put at ``s3://artifacts/<key>`` and is its version's model quality statistics."""
    with mock_aws():
        from pipelines import aws

        aws.boto_session.cache_clear()
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        for index, (key, document) in enumerate(evaluations.items(), start=1):
            s3.put_object(Bucket="artifacts", Key=key, Body=json.dumps(document).encode())
            create_package(sagemaker, "PendingManualApproval", index, f"s3://artifacts/{key}")
        yield sagemaker
        aws.boto_session.cache_clear()
