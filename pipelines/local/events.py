"""What a local run reports while it goes (``run_local(on_event=...)``): the progress display is one listener."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.local.records import ExecutionRecord, StepRecord

__all__ = ["Event", "ExecutionFinished", "ExecutionStarted", "StepEpoch", "StepFinished", "StepNotice", "StepOutput",
           "StepStarted"]


@dataclass(frozen=True)
class ExecutionStarted:
    record: ExecutionRecord
    steps: tuple[str, ...]  # every step that may run, in run order (branches included)
    mlflow_ui: str  # the command that shows this state directory's MLflow runs and models


@dataclass(frozen=True)
class StepStarted:
    record: StepRecord


@dataclass(frozen=True)
class StepOutput:
    """One line of a job's output (also in its log file)."""

    step: str
    line: str


@dataclass(frozen=True)
class StepEpoch:
    """A training epoch finished: the metrics of the image's ``[metrics] epoch=...`` line."""

    step: str
    epoch: int
    epochs: int | None
    metrics: dict[str, float]


@dataclass(frozen=True)
class StepNotice:
    """Something the person running the pipeline must be told, e.g. where local mode differs from SageMaker."""

    step: str
    message: str


@dataclass(frozen=True)
class StepFinished:
    record: StepRecord


@dataclass(frozen=True)
class ExecutionFinished:
    record: ExecutionRecord


Event = ExecutionStarted | StepStarted | StepOutput | StepEpoch | StepNotice | StepFinished | ExecutionFinished
