"""Stage checked weights in the artifact bucket (boto3): the location scheme is ``pipelines.weights``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.weights import MANIFEST, StagedWeights

__all__ = ["put_text", "upload"]


def upload(s3_client: Any, weights: StagedWeights, file: Path, s3_root: str, kms_key_id: str | None = None) -> str:
    """Upload ``file`` (already checked: ``pipelines.weights.inspect``) and its manifest; return the weights' URI.

    An object already at that content-addressed key with the same sha256 is left as it is (staging is idempotent).
    """
    uri = weights.uri(s3_root)
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    encryption = _encryption(kms_key_id)
    if _stored_sha256(s3_client, bucket, key) != weights.sha256:
        s3_client.upload_file(str(file), bucket, key,
                              ExtraArgs={"Metadata": {"sha256": weights.sha256}, **encryption})
    manifest_key = key.rsplit("/", 1)[0] + f"/{MANIFEST}"
    s3_client.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(weights.manifest(), indent=2).encode(),
                         ContentType="application/json", **encryption)
    return uri


def _stored_sha256(s3_client: Any, bucket: str, key: str) -> str | None:
    try:
        return s3_client.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get("sha256")
    except s3_client.exceptions.ClientError:
        return None


def put_text(s3_client: Any, uri: str, text: str, kms_key_id: str | None = None) -> None:
    """Write a small text object (the no-model placeholder) at ``uri``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3_client.put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType="text/plain",
                         **_encryption(kms_key_id))


def _encryption(kms_key_id: str | None) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
