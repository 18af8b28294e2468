"""Operations on the SageMaker Pipelines service: upsert, start, executions, status.

The definition JSON goes to ``create_pipeline``/``update_pipeline`` as built (the SDK's ``upsert`` would simulate
the role and re-serialise), so what is diffed, tested and golden-filed is exactly what SageMaker receives.
"""

from __future__ import annotations

import json
import time
from typing import Any

TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")


class PipelineNotFound(LookupError):
    """The named pipeline does not exist in this account and region."""


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def describe_pipeline(client: Any, name: str) -> dict[str, Any]:
    try:
        return client.describe_pipeline(PipelineName=name)
    except client.exceptions.ClientError as exc:  # AWS answers ValidationException "Could not find pipeline"
        if exc.response["Error"]["Code"] == "ResourceNotFound" or "Could not find" in str(exc):
            raise PipelineNotFound(f"pipeline {name!r} does not exist; create it with `yolo-pipeline upsert`") from None
        raise


def upsert(client: Any, *, name: str, definition: str, role_arn: str, description: str | None = None,
           tags: dict[str, str] | None = None) -> tuple[str, bool]:
    """Create the pipeline, or update it when it exists. Returns ``(arn, created)``."""
    request = {"PipelineName": name, "PipelineDefinition": definition, "RoleArn": role_arn}
    if description:
        request["PipelineDescription"] = description
    try:
        response = client.create_pipeline(**request, Tags=_tag_list(tags or {}))
        return response["PipelineArn"], True
    except client.exceptions.ResourceInUse:
        pass
    except client.exceptions.ClientError as exc:  # moto and some regions say ValidationException for "exists"
        if "already exists" not in str(exc):
            raise
    arn = client.update_pipeline(**request)["PipelineArn"]
    if tags:
        client.add_tags(ResourceArn=arn, Tags=_tag_list(tags))
    return arn, False


def start(client: Any, *, name: str, parameters: dict[str, Any], display_name: str | None = None) -> str:
    """Start an execution with typed parameter values; returns its ARN."""
    request: dict[str, Any] = {
        "PipelineName": name,
        "PipelineParameters": [{"Name": k, "Value": _render(v)} for k, v in parameters.items()],
    }
    if display_name:
        request["PipelineExecutionDisplayName"] = display_name
    describe_pipeline(client, name)
    return client.start_pipeline_execution(**request)["PipelineExecutionArn"]


def _render(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def executions(client: Any, name: str, limit: int = 20) -> list[dict[str, Any]]:
    describe_pipeline(client, name)
    response = client.list_pipeline_executions(PipelineName=name, SortBy="CreationTime", SortOrder="Descending",
                                                MaxResults=limit)
    return response.get("PipelineExecutionSummaries", [])


def execution_status(client: Any, name: str, execution_arn: str | None = None) -> dict[str, Any]:
    """The given execution, or the newest one, described, with its parameters."""
    if execution_arn is None:
        newest = executions(client, name, limit=1)
        if not newest:
            raise PipelineNotFound(f"pipeline {name!r} has no executions; start one with `yolo-pipeline start`")
        execution_arn = newest[0]["PipelineExecutionArn"]
    described = client.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    described["Parameters"] = client.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution_arn).get("PipelineParameters", [])
    return described


def wait(client: Any, execution_arn: str, poll_seconds: float = 30, timeout_seconds: float = 7 * 24 * 3600) -> str:
    """Poll until the execution ends; returns its final status."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        status = client.describe_pipeline_execution(PipelineExecutionArn=execution_arn)["PipelineExecutionStatus"]
        if status in TERMINAL_STATUSES or time.monotonic() > deadline:
            return status
        time.sleep(poll_seconds)
