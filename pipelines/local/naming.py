"""Names and ARNs of local resources, shaped like SageMaker's so that definitions and tooling read them unchanged."""

from __future__ import annotations

import re
import secrets
import string

__all__ = ["arn", "job_name", "new_execution_id"]

ACCOUNT = "000000000000"
REGION = "local"
_ALPHABET = string.ascii_lowercase + string.digits
_MAX_JOB_NAME = 63


def new_execution_id() -> str:
    """12 lowercase letters and digits, like a SageMaker pipeline execution id."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def arn(resource: str, name: str) -> str:
    """``arn:aws:sagemaker:local:000000000000:<resource>/<name>``."""
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource}/{name}"


def job_name(base: str, execution_id: str) -> str:
    """A job name unique to the execution: ``<base>-<execution id>`` within SageMaker's 63-character limit."""
    slug = re.sub(r"[^a-zA-Z0-9-]+", "-", base).strip("-").lower() or "job"
    return f"{slug[:_MAX_JOB_NAME - len(execution_id) - 1]}-{execution_id}"
