"""Execution records: what ran, when, for how long, from the cache or not, why it failed, where its log is.

One JSON file per execution (``executions/<id>/execution.json``), rewritten atomically at every step change, so
``status`` in another terminal follows a run live. A run whose process died (SIGKILL, a crash) is recorded as Failed
("interrupted") by the next command that reads it; a record that cannot be read is listed as Unreadable.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipelines.local.errors import LocalModeError
from pipelines.local.process import pid_alive, stop_orphan
from pipelines.local.state import StateDir

__all__ = ["EXECUTING", "FAILED", "STOPPED", "SUCCEEDED", "UNREADABLE", "ExecutionRecord", "StepRecord",
           "fail_orphans", "get_execution", "list_executions", "now_iso"]

EXECUTING, SUCCEEDED, FAILED, STOPPED = "Executing", "Succeeded", "Failed", "Stopped"
UNREADABLE = "Unreadable"  # not a SageMaker status: the record file is damaged
RECORD_FILE = "execution.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class StepRecord:
    """One step of an execution (a step of a branch not taken does not appear, as on SageMaker)."""

    name: str
    type: str
    status: str = EXECUTING
    started_at: str | None = None
    ended_at: str | None = None
    elapsed_s: float | None = None
    cache_hit: bool = False
    failure_reason: str | None = None
    log_path: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    job_pid: int | None = None  # the job's process (and process group) while it runs


@dataclass
class ExecutionRecord:
    """One local execution of the pipeline; ``steps`` in the order they started."""

    execution_id: str
    pipeline_name: str
    arn: str
    directory: str
    parameters: dict[str, Any]
    status: str = EXECUTING
    started_at: str = field(default_factory=now_iso)
    ended_at: str | None = None
    elapsed_s: float | None = None
    failure_reason: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.name == name), None)

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecutionRecord:
        steps = [StepRecord(**step) for step in data.get("steps", [])]
        return cls(**{**data, "steps": steps})

    def save(self) -> Path:
        """Write the record atomically (a reader never sees half a file)."""
        path = Path(self.directory) / RECORD_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            partial.write_text(json.dumps(self.to_dict(), indent=2, default=str))
            partial.replace(path)
        except OSError as exc:  # disk full, say: no partial file left, and the error names the record
            partial.unlink(missing_ok=True)
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        return path


def _load(path: Path, orphaned: bool = False) -> ExecutionRecord:
    """The record in ``path``; an Executing one whose process is gone (or, with ``orphaned``, any Executing one) is
    recorded as Failed, and a damaged file comes back as an Unreadable record naming it."""
    try:
        record = ExecutionRecord.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc) if path.exists() else None
        return ExecutionRecord(
            execution_id=path.parent.name, pipeline_name="?", arn="", directory=str(path.parent), parameters={},
            status=UNREADABLE, started_at=(modified.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                                           if modified else ""), pid=0,
            failure_reason=f"{path} is not a readable execution record ({type(exc).__name__}: {exc})")
    if record.status == EXECUTING and (orphaned or not pid_alive(record.pid)):
        record.status = FAILED
        record.failure_reason = (f"interrupted: the local run's process ({record.pid}) ended before the execution "
                                 "finished (killed, or the machine stopped)")
        record.ended_at = record.ended_at or now_iso()
        for step in record.steps:
            if step.status == EXECUTING:
                step.status, step.failure_reason = FAILED, record.failure_reason
                if step.job_pid:  # the job has a session of its own: the SIGKILL that ended the run missed it
                    stop_orphan(step.job_pid, str(Path(record.directory) / "jobs" / step.name / "opt_ml"))
        with contextlib.suppress(OSError):  # a read-only state dir still lists it as Failed
            record.save()
    return record


def fail_orphans(state_dir: str | os.PathLike[str] | StateDir | None = None) -> None:
    """Record as Failed every execution still marked Executing; called by a run that holds the run lock, so no
    other run can be executing them."""
    root = StateDir.at(state_dir).executions
    for path in root.glob(f"*/{RECORD_FILE}") if root.is_dir() else []:
        _load(path, orphaned=True)


def list_executions(state_dir: str | os.PathLike[str] | StateDir | None = None) -> list[ExecutionRecord]:
    """Every execution in the state directory, newest first."""
    root = StateDir.at(state_dir).executions
    records = [_load(path) for path in root.glob(f"*/{RECORD_FILE}")] if root.is_dir() else []
    return sorted(records, key=lambda r: r.started_at, reverse=True)


def get_execution(state_dir: str | os.PathLike[str] | StateDir | None = None,
                  execution_id: str | None = None) -> ExecutionRecord:
    """One execution by id (or a unique id prefix), or the newest one when ``execution_id`` is None.

    Raises:
        LocalModeError: there is no such execution (the message lists the newest ids), or none at all.
    """
    records = list_executions(state_dir)
    if not records:
        raise LocalModeError(f"no local executions in {StateDir.at(state_dir).root}; run `yolo-pipeline run --local`")
    if execution_id is None:
        return records[0]
    matches = [r for r in records if r.execution_id.startswith(execution_id)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(r.execution_id for r in records[:5])
    what = "is ambiguous" if matches else "does not exist"
    raise LocalModeError(f"local execution {execution_id!r} {what}; the newest are: {known}")
