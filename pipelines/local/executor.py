"""Run a compiled pipeline definition (the JSON that ``upsert`` sends) on this machine.

The steps run one at a time in dependency order. A ConditionStep runs its ``if`` or ``else`` branch; a FailStep, or
any step that fails, ends the execution as Failed with that step's reason, and nothing downstream starts. Outputs
of the steps that finished stay in the store and in the cache, so the next run resumes where this one stopped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipelines import images
from pipelines.definition import iter_steps, load, resolve_parameters
from pipelines.local import tracking
from pipelines.local.cache import CacheEntry, StepCache, cache_key, input_uris, output_uris
from pipelines.local.deployment import create_endpoint, create_endpoint_config, create_model
from pipelines.local.errors import LocalModeError, NoSpaceLeft, StepFailure, UnsupportedConstruct
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
from pipelines.local.expressions import Scope, condition_holds, evaluate, render
from pipelines.local.imagespec import image_spec_for_uri, infer_repository_prefix
from pipelines.local.jobs import JobRun, run_processing, run_training
from pipelines.local.lock import exclusive_run
from pipelines.local.metrics import parse_epoch_line
from pipelines.local.naming import arn, job_name, new_execution_id
from pipelines.local.plan import PlannedStep, plan
from pipelines.local.records import (
    FAILED,
    STOPPED,
    SUCCEEDED,
    ExecutionRecord,
    StepRecord,
    fail_orphans,
    now_iso,
)
from pipelines.local.registration import register_model
from pipelines.local.registry import LocalRegistry
from pipelines.local.state import StateDir
from pipelines.local.store import LocalStore
from pipelines.local.validation import definition_problems

__all__ = ["DEFAULT_PIPELINE_NAME", "run_local"]

DEFAULT_PIPELINE_NAME = "local-pipeline"


def run_local(definition: str | dict[str, Any], parameters: Mapping[str, Any] | None = None,
              state_dir: str | os.PathLike[str] | StateDir | None = None, *,
              pipeline_name: str = DEFAULT_PIPELINE_NAME, no_cache: bool = False,
              on_event: Callable[[Event], None] | None = None,
              repository_prefix: str | None = None) -> ExecutionRecord:
    """Execute ``definition`` with ``parameters`` (name -> value; strings are converted to the declared type).

    The returned record says how it went (``status`` Succeeded or Failed, ``failure_reason``, each step's record);
    a definition that uses something local mode cannot run fails at once, before any step, naming the step and the
    construct. ``no_cache`` runs every job even when an earlier run could be reused. ``pipeline_name`` is what
    ``Execution.PipelineName`` evaluates to (the definition JSON does not carry it). ``repository_prefix`` maps
    image URIs to image folders; by default it is read off the URIs.

    Raises:
        ParameterError: an unknown parameter, a value of the wrong type, or a parameter with no value.
        LocalModeError: another local run is using the state directory, or the state directory is a copy of one
            created elsewhere (NoSpaceLeft: the disk filled up; the execution is recorded as Failed where possible).
        KeyboardInterrupt: after the running job was stopped and the execution recorded as Stopped (Interrupted
            when SIGINT or SIGTERM arrived through the CLI's handler).
    """
    document = load(definition)
    values = resolve_parameters(document, dict(parameters or {}))
    state = StateDir.at(state_dir)
    execution_id = new_execution_id()
    record = ExecutionRecord(execution_id=execution_id, pipeline_name=pipeline_name,
                             arn=arn("pipeline", f"{pipeline_name}/execution/{execution_id}"),
                             directory=str(state.execution_dir(execution_id)), parameters=values)
    with exclusive_run(state, f"execution {execution_id}"):
        fail_orphans(state)
        return _Execution(document, state, record, no_cache=no_cache, on_event=on_event,
                          repository_prefix=repository_prefix).run()


class _Execution:
    """One execution's state: the scope expressions read, the steps' outcomes, the record."""

    def __init__(self, definition: dict[str, Any], state: StateDir, record: ExecutionRecord, *, no_cache: bool,
                 on_event: Callable[[Event], None] | None, repository_prefix: str | None):
        self.definition = definition
        self.state = state
        self.record = record
        self.no_cache = no_cache
        self.emit = on_event or (lambda event: None)
        self.repository_prefix = (infer_repository_prefix(definition) if repository_prefix is None
                                  else repository_prefix)
        self.store = LocalStore(state.store)
        self.cache = StepCache(state.cache, self.store)
        self.registry = LocalRegistry(state)
        self.directory = Path(record.directory)
        self.outcomes: dict[str, bool] = {}
        self.scope = Scope(
            parameters=record.parameters,
            execution={
                "PipelineExecutionId": record.execution_id,
                "PipelineExecutionArn": record.arn,
                "PipelineName": record.pipeline_name,
                "PipelineArn": arn("pipeline", record.pipeline_name),
                "StartDateTime": record.started_at,
                "CurrentDateTime": record.started_at,
            },
            properties={},
            property_files={step["Name"]: {f["PropertyFileName"]: f for f in step.get("PropertyFiles", [])}
                            for step, _, _ in iter_steps(definition.get("Steps", []))},
            read_json=self.store.read_json,
        )

    def run(self) -> ExecutionRecord:
        started = time.monotonic()
        try:
            order = plan(self.definition)
            problems = definition_problems(self.definition, self.repository_prefix)
        except UnsupportedConstruct as exc:
            order, problems = [], [str(exc)]
        self.record.save()
        self.emit(ExecutionStarted(self.record, tuple(p.name for p in order), tracking.mlflow_ui_command(self.state)))
        if problems:
            self._finish(FAILED, started, "the definition uses what local mode cannot run: " + "; ".join(problems))
            return self.record
        try:
            for item in order:
                if self._ready(item) and not self._run_step(item):
                    failed = self.record.steps[-1]
                    self._finish(FAILED, started, f"{failed.name}: {failed.failure_reason}")
                    return self.record
        except KeyboardInterrupt as exc:
            self._finish(STOPPED, started, _interruption(exc))
            raise
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            reason = f"no space left on device while writing {exc.filename or self.directory}"
            with contextlib.suppress(OSError):  # recorded where the disk still lets us
                self._finish(FAILED, started, reason)
            raise NoSpaceLeft(reason) from None
        self._finish(SUCCEEDED, started, None)
        return self.record

    def _finish(self, status: str, started: float, reason: str | None) -> None:
        self.record.status, self.record.failure_reason = status, reason
        self.record.ended_at, self.record.elapsed_s = now_iso(), round(time.monotonic() - started, 3)
        self.record.save()
        self.emit(ExecutionFinished(self.record))

    def _ready(self, item: PlannedStep) -> bool:
        """Whether every step it waits for succeeded and, in a branch, its condition chose that branch."""
        if item.parent is not None and self.outcomes.get(item.parent) is not (item.branch == "if"):
            return False
        succeeded = {s.name for s in self.record.steps if s.status == SUCCEEDED}
        return item.after <= succeeded

    def _run_step(self, item: PlannedStep) -> bool:
        step = StepRecord(name=item.name, type=item.type, started_at=now_iso())
        self.record.steps.append(step)
        self.record.save()
        self.emit(StepStarted(step))
        started = time.monotonic()
        self.scope.execution["CurrentDateTime"] = step.started_at
        try:
            self.scope.properties[item.name] = self._dispatch(item, step)
            step.status = SUCCEEDED
        except KeyboardInterrupt as exc:  # the job was stopped (run_logged does it on the way out)
            step.status, step.failure_reason = STOPPED, _interruption(exc)
            step.ended_at, step.elapsed_s = now_iso(), round(time.monotonic() - started, 3)
            self.record.save()
            self.emit(StepFinished(step))
            if item.type == "Training" and "TrainingJobName" in self.scope.execution:
                with contextlib.suppress(Exception):  # best effort: the Stopped record is what must not be lost
                    tracking.end_stopped_runs(self.state, self.scope.execution["TrainingJobName"])
            raise
        except LocalModeError as exc:
            step.status, step.failure_reason = FAILED, str(exc)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            step.status = FAILED
            step.failure_reason = f"no space left on device while writing {exc.filename or self.directory}"
            step.ended_at, step.elapsed_s = now_iso(), round(time.monotonic() - started, 3)
            shutil.rmtree(self.directory / "jobs" / item.name, ignore_errors=True)  # frees what the job wrote
            with contextlib.suppress(OSError):
                self.record.save()
            self.emit(StepFinished(step))
            raise
        except Exception as exc:  # a bug here must still end the run cleanly, with its traceback in the step log
            step.status, step.failure_reason = FAILED, f"local executor error: {type(exc).__name__}: {exc}"
            log = self._log_path(item.name)
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as handle:
                handle.write(traceback.format_exc())
            step.log_path = str(log)
        step.ended_at, step.elapsed_s = now_iso(), round(time.monotonic() - started, 3)
        self.record.save()
        self.emit(StepFinished(step))
        return step.status == SUCCEEDED

    def _dispatch(self, item: PlannedStep, step: StepRecord) -> dict[str, Any]:
        kind, arguments = item.type, item.step.get("Arguments", {})
        if kind in ("Processing", "Training"):
            return self._run_job(item, step)
        if kind == "Condition":
            return self._condition(arguments, step)
        if kind == "Fail":
            message = render(evaluate(arguments.get("ErrorMessage", ""), self.scope))
            step.metadata["Fail"] = {"ErrorMessage": message}
            raise StepFailure(message or f"FailStep {item.name} ran")
        resolved = evaluate(arguments, self.scope)
        if kind == "RegisterModel":
            properties = register_model(resolved, registry=self.registry, store=self.store,
                                        training_job_name=self._training_job_of(
                                            resolved["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]))
            step.metadata["RegisterModel"] = {"Arn": properties["ModelPackageArn"],
                                              "Version": properties["ModelPackageVersion"],
                                              "ApprovalStatus": properties["ModelApprovalStatus"]}
            return properties
        if kind == "Model":
            properties = create_model(resolved, self.state)
            step.metadata["Model"] = {"Arn": properties["ModelArn"]}
            return properties
        if kind == "EndpointConfig":
            properties = create_endpoint_config(resolved, self.state)
            step.metadata["EndpointConfig"] = {"Arn": properties["EndpointConfigArn"]}
            return properties
        if kind == "Endpoint":
            properties, metadata = create_endpoint(resolved, self.state, execution_id=self.record.execution_id,
                                                   repository_prefix=self.repository_prefix)
            step.metadata.update(metadata)
            return properties
        raise UnsupportedConstruct(f"unsupported step type {kind!r}")

    def _condition(self, arguments: dict[str, Any], step: StepRecord) -> dict[str, Any]:
        """All conditions must hold for the ``if`` branch (SageMaker's ConditionStep semantics)."""
        evaluated = []
        outcome = True
        for condition in arguments.get("Conditions", []):
            holds = condition_holds(condition, self.scope)
            operands = {k: evaluate(v, self.scope) for k, v in condition.items() if k in ("LeftValue", "RightValue")}
            evaluated.append({"Type": condition.get("Type"), **operands, "Holds": holds})
            outcome = outcome and holds
        self.outcomes[step.name] = outcome
        step.metadata["Condition"] = {"Outcome": str(outcome), "Evaluated": evaluated}
        return {"Outcome": outcome}

    def _run_job(self, item: PlannedStep, step: StepRecord) -> dict[str, Any]:
        kind, raw = item.type, item.step.get("Arguments", {})
        base = raw.get("ProcessingJobName") if isinstance(raw.get("ProcessingJobName"), str) else item.name
        name = job_name(base, self.record.execution_id)
        self.scope.execution["ProcessingJobName" if kind == "Processing" else "TrainingJobName"] = name
        arguments = evaluate(raw, self.scope)
        image_uri = (arguments["AppSpecification"]["ImageUri"] if kind == "Processing"
                     else arguments["AlgorithmSpecification"].get("TrainingImage", ""))
        image = images.content_hash(image_spec_for_uri(image_uri, self.repository_prefix).name)
        inputs = {uri: self.store.fingerprint(uri) for uri in input_uris(kind, arguments)}
        key = cache_key(item.name, kind, arguments)
        cache_config = item.step.get("CacheConfig") or {}
        caching = bool(cache_config.get("Enabled")) and not self.no_cache
        if caching:
            lookup = self.cache.lookup(item.name, key, cache_config.get("ExpireAfter"), inputs=inputs, image=image)
            step.metadata["Cache"] = lookup.reason
            if lookup.notice:
                self._notice(step, lookup.notice)
            if lookup.entry is not None:
                step.cache_hit = True
                step.metadata["CacheHitResult"] = {"SourceExecutionId": lookup.entry.execution_id}
                self._job_metadata(kind, lookup.entry.properties, step)
                return lookup.entry.properties
        elif self.no_cache:
            step.metadata["Cache"] = "not looked up (no_cache)"
        log_path = self._log_path(item.name)
        step.log_path = str(log_path)
        self.record.save()
        job = JobRun(state=self.state, work_dir=self.directory / "jobs" / item.name, log_path=log_path,
                     job_name=name, repository_prefix=self.repository_prefix,
                     on_line=self._line_listener(item.name, arguments), on_start=self._job_started(step))
        if kind == "Processing":
            properties = run_processing(arguments, job)
        else:
            experiment = arguments.get("Environment", {}).get("MLFLOW_EXPERIMENT_NAME") or self.record.pipeline_name
            tracking.ensure_experiment(self.state, experiment)
            job.defaults = {"MLFLOW_EXPERIMENT_NAME": experiment}
            job.overrides = {"MLFLOW_TRACKING_URI": self.state.tracking_uri}
            properties = run_training(arguments, job)
        if caching:
            outputs = {uri: self.store.digest(uri) for uri in output_uris(kind, properties)}
            self.cache.save(CacheEntry(key, item.name, self.record.execution_id, time.time(), properties, outputs,
                                       inputs, image, image_uri))
        self._job_metadata(kind, properties, step)
        return properties

    def _notice(self, step: StepRecord, message: str) -> None:
        """Something a person must hear about now (not only in the record), e.g. where local mode differs from
        SageMaker."""
        step.metadata.setdefault("Notices", []).append(message)
        self.emit(StepNotice(step.name, message))

    @staticmethod
    def _job_metadata(kind: str, properties: dict[str, Any], step: StepRecord) -> None:
        """What SageMaker's step metadata would show: the job, and where its outputs are."""
        if kind == "Processing":
            step.metadata["ProcessingJob"] = {
                "Name": properties["ProcessingJobName"], "Arn": properties["ProcessingJobArn"],
                "Outputs": {o["OutputName"]: o["S3Output"]["S3Uri"]
                            for o in properties.get("ProcessingOutputConfig", {}).get("Outputs", [])}}
        else:
            step.metadata["TrainingJob"] = {
                "Name": properties["TrainingJobName"], "Arn": properties["TrainingJobArn"],
                "ModelArtifacts": properties["ModelArtifacts"]["S3ModelArtifacts"],
                "FinalMetrics": {m["MetricName"]: m["Value"] for m in properties.get("FinalMetricDataList", [])}}

    def _job_started(self, step: StepRecord) -> Callable[[int], None]:
        """Record the job's process id: if this run is killed, the next command stops the orphaned job."""
        def on_start(pid: int) -> None:
            step.job_pid = pid
            self.record.save()

        return on_start

    def _line_listener(self, name: str, arguments: dict[str, Any]) -> Callable[[str], None]:
        epochs_text = arguments.get("HyperParameters", {}).get("epochs")
        epochs = int(epochs_text) if str(epochs_text or "").isdigit() else None

        def on_line(line: str) -> None:
            self.emit(StepOutput(name, line))
            values = parse_epoch_line(line)
            if values is not None:
                epoch = int(values.pop("epoch"))
                self.emit(StepEpoch(name, epoch, epochs, values))

        return on_line

    def _training_job_of(self, model_url: str) -> str | None:
        """The training job (of this execution, or the cached run it reused) that wrote ``model_url``."""
        for properties in self.scope.properties.values():
            if properties.get("ModelArtifacts", {}).get("S3ModelArtifacts") == model_url:
                return properties.get("TrainingJobName")
        return None

    def _log_path(self, step_name: str) -> Path:
        return self.directory / "logs" / f"{step_name}.log"


def _interruption(exc: KeyboardInterrupt) -> str:
    """The reason a stopped step or execution records: which signal stopped it."""
    return f"interrupted by {getattr(exc, 'signal_name', 'SIGINT')}: the running job was stopped"
