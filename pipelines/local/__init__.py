"""Local mode: run the compiled pipeline definition on this machine, with no AWS account and no Docker.

The executor reads the definition JSON only (the very JSON ``upsert`` sends) and imports no SageMaker SDK module;
MLflow (the local registry and tracking store) and rich (the live display) are imported when first used.

- ``run_local(definition, parameters, state_dir, no_cache=..., on_event=ConsoleProgress())`` -> ``ExecutionRecord``
- ``list_executions(state_dir)``, ``get_execution(state_dir, execution_id=None)``
- ``LocalRegistry(state_dir)``: ``groups``, ``list_versions``, ``get``, ``latest``, ``set_approval``, ``compare``
- ``start_endpoint(state_dir, name, model)``, ``stop_endpoint(state_dir, name)``, ``list_endpoints(state_dir)``
- ``LocalStore(StateDir.at(state_dir).store)``: put data where an ``s3://`` input URI points
- ``exclusive_run(state, holder)``: hold the state directory's run lock (re-entrant; ``run_local`` takes it too)
"""

from pipelines.local.endpoint import EndpointRecord, get_endpoint, list_endpoints, start_endpoint, stop_endpoint
from pipelines.local.errors import ExpressionError, Interrupted, LocalModeError, StepFailure, UnsupportedConstruct
from pipelines.local.events import (
    Event,
    ExecutionFinished,
    ExecutionStarted,
    StepEpoch,
    StepFinished,
    StepNotice,
    StepOutput,
    StepStarted,
)
from pipelines.local.executor import DEFAULT_PIPELINE_NAME, run_local
from pipelines.local.lock import exclusive_run
from pipelines.local.progress import ConsoleProgress
from pipelines.local.records import ExecutionRecord, StepRecord, get_execution, list_executions
from pipelines.local.registry import APPROVAL_STATUSES, Comparison, LocalRegistry, ModelVersion
from pipelines.local.state import HOME_ENV, StateDir
from pipelines.local.store import LocalStore
from pipelines.local.tracking import mlflow_ui_command

__all__ = [
    "APPROVAL_STATUSES",
    "DEFAULT_PIPELINE_NAME",
    "HOME_ENV",
    "Comparison",
    "ConsoleProgress",
    "EndpointRecord",
    "Event",
    "ExecutionFinished",
    "ExecutionRecord",
    "ExecutionStarted",
    "ExpressionError",
    "Interrupted",
    "LocalModeError",
    "LocalRegistry",
    "LocalStore",
    "ModelVersion",
    "StateDir",
    "StepEpoch",
    "StepFailure",
    "StepFinished",
    "StepNotice",
    "StepOutput",
    "StepRecord",
    "StepStarted",
    "UnsupportedConstruct",
    "exclusive_run",
    "get_endpoint",
    "get_execution",
    "list_endpoints",
    "list_executions",
    "mlflow_ui_command",
    "run_local",
    "start_endpoint",
    "stop_endpoint",
]
