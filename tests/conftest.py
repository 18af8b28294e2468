"""Test-wide settings: no real AWS account, region or credentials can leak in."""

from __future__ import annotations

import os

# Fake credentials and a region for moto; the IMDS probe and role simulation off, as in a real offline build.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
})
for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "SAGEMAKER_PROJECT_NAME", "SAGEMAKER_PROJECT_ID",
                 "ARTIFACT_BUCKET", "SAGEMAKER_PIPELINE_ROLE_ARN", "AWS_REGION", "IMAGE_REGISTRY", "GIT_SHA"):
    os.environ.pop(variable, None)
