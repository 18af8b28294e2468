"""The one place that talks to AWS: the offline-safe environment, boto3 clients and the PipelineSession.

Building a definition must reach nothing (see the SDK notes): a region is needed at import time of the SDK, the
IMDS probe and role simulation are switched off, and telemetry is patched out. Everything that makes clients takes
an optional ``boto3.Session`` so tests pass one pointed at moto.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

DEFAULT_REGION = "us-east-1"

# Set before the SDK is imported: a region for its import-time clients, no EC2 metadata probe, no IAM
# role simulation (iam:SimulatePrincipalPolicy) while building.
_OFFLINE_DEFAULTS = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
}


def prepare_sdk_environment(region: str | None = None) -> None:
    """Make importing and using the SageMaker SDK offline-safe; idempotent."""
    for key, value in _OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", region or os.environ.get("AWS_REGION") or DEFAULT_REGION)
    # The SDK calls logging.basicConfig(INFO) at import; configure first so its records go to stderr at WARNING.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("sagemaker", "botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _quiet_sdk() -> None:
    """The SDK logs at INFO/WARNING about its own defaults while building; keep stderr for what matters."""
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module=r"sagemaker\.")
    for name in ("sagemaker", "sagemaker.config", "sagemaker.core", "sagemaker.mlops", "sagemaker.serve"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _disable_telemetry() -> None:
    """Telemetry does sts:GetCallerIdentity + an HTTPS GET per call; patch the sender out.

    (The config-based opt-out makes building ~10x slower: jsonschema re-validation on every lookup.)"""
    from sagemaker.core.telemetry import telemetry_logging

    telemetry_logging._send_telemetry_request = lambda *args, **kwargs: None


def _skip_local_session_on_processing_steps() -> None:
    """ProcessingStep builds a LocalSagemakerClient (a new boto3 session and clients, ~0.35 s) only to read a method
    name; give it a client that skips the session. Nothing else changes."""
    from sagemaker.core.local.local_session import LocalSagemakerClient
    from sagemaker.mlops.workflow import steps

    class _SessionlessLocalClient(LocalSagemakerClient):
        def __init__(self, sagemaker_session=None):
            self.sagemaker_session = sagemaker_session

    steps.LocalSagemakerClient = _SessionlessLocalClient


@lru_cache(maxsize=4)
def boto_session(region: str | None = None, profile: str | None = None) -> boto3.Session:
    """One boto3 session per region/profile: a new one re-parses botocore's service models (~0.1 s each)."""
    import boto3

    return boto3.Session(region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                         or DEFAULT_REGION, profile_name=profile)


def client(service: str, session: boto3.Session | None = None) -> Any:
    """A boto3 client; honours AWS_ENDPOINT_URL(_<SERVICE>) so a subprocess can be pointed at a moto server."""
    return (session or boto_session()).client(service)


def pipeline_session(region: str, session: boto3.Session | None = None, bucket: str | None = None) -> PipelineSession:
    """A PipelineSession that records step arguments instead of calling AWS."""
    prepare_sdk_environment(region)
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    _quiet_sdk()
    _disable_telemetry()
    _skip_local_session_on_processing_steps()
    boto = session or boto_session(region)
    return PipelineSession(boto_session=boto, default_bucket=bucket)
