"""Progress a person can follow: each step's state and elapsed time, and the training epochs with their metrics.

On a terminal, a live table (``rich``); otherwise (CI, a pipe, a log file) one plain line per change. Either way on
stderr by default, so stdout stays free for JSON.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

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
from pipelines.local.records import StepRecord

if TYPE_CHECKING:
    from rich.live import Live

__all__ = ["ConsoleProgress"]

_COLOURS = {"Executing": "yellow", "Succeeded": "green", "Failed": "red", "Stopped": "red", "Pending": "dim",
            "Not run": "dim"}


@dataclass
class _Row:
    status: str = "Pending"
    started: float | None = None
    elapsed: float | None = None
    detail: str = ""


class ConsoleProgress:
    """An ``on_event`` listener for ``run_local``.

    Args:
        stream: where to write (default stderr).
        live: a live table (default: when ``stream`` is a terminal).
        verbose: also show every line of the jobs' output.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None, verbose: bool = False):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.verbose = verbose
        self.rows: dict[str, _Row] = {}
        self._t0 = time.monotonic()
        self._live: Live | None = None
        self._mlflow_ui = ""

    def __call__(self, event: Event) -> None:
        if isinstance(event, ExecutionStarted):
            self._t0 = time.monotonic()
            self.rows = {name: _Row() for name in event.steps}
            self._mlflow_ui = event.mlflow_ui
            self._print(f"local execution {event.record.execution_id} of {event.record.pipeline_name}: "
                        f"{' -> '.join(event.steps) or '(no steps)'}")
            self._print(f"state: {event.record.directory}")
            if self.live:
                self._start_live()
        elif isinstance(event, StepStarted):
            row = self.rows.setdefault(event.record.name, _Row())
            row.status, row.started = "Executing", time.monotonic()
            self._line(f"{event.record.name}: Executing")
        elif isinstance(event, StepEpoch):
            row = self.rows.setdefault(event.step, _Row())
            of = f"/{event.epochs}" if event.epochs else ""
            metrics = " ".join(f"{k}={v:.3f}" for k, v in event.metrics.items())
            row.detail = f"epoch {event.epoch}{of} {metrics}"
            self._line(f"{event.step}: epoch {event.epoch}{of} {metrics}")
        elif isinstance(event, StepNotice):
            self._print(f"notice: {event.step}: {event.message}")
        elif isinstance(event, StepOutput):
            if self.verbose:
                self._print(f"  {event.step} | {event.line}")
        elif isinstance(event, StepFinished):
            self._finished(event.record)
        elif isinstance(event, ExecutionFinished):
            record = event.record
            for row in self.rows.values():
                if row.status == "Pending":
                    row.status = "Not run"
            self._stop_live()
            took = f" in {record.elapsed_s:.1f} s" if record.elapsed_s is not None else ""
            self._print(f"execution {record.execution_id} {record.status}{took}"
                        + (f": {record.failure_reason}" if record.failure_reason else ""))
            self._print(f"logs: {record.directory}/logs")
            self._print(f"MLflow UI: {self._mlflow_ui}")

    def _finished(self, record: StepRecord) -> None:
        row = self.rows.setdefault(record.name, _Row())
        row.status, row.elapsed = record.status, record.elapsed_s
        if record.cache_hit:
            source = record.metadata.get("CacheHitResult", {}).get("SourceExecutionId", "")
            row.detail = f"cache hit (outputs of {source})"
        elif record.failure_reason:
            row.detail = record.failure_reason
        elif "Condition" in record.metadata:
            row.detail = f"outcome {record.metadata['Condition']['Outcome']}"
        elif "RegisterModel" in record.metadata:
            info = record.metadata["RegisterModel"]
            row.detail = f"version {info['Version']} ({info['ApprovalStatus']})"
        elif "Endpoint" in record.metadata:
            row.detail = record.metadata["Endpoint"]["Url"]
        took = f" in {record.elapsed_s:.1f} s" if record.elapsed_s is not None else ""
        cached = " (cache hit)" if record.cache_hit else ""
        reason = f": {record.failure_reason}" if record.failure_reason else ""
        log = f" (log: {record.log_path})" if record.failure_reason and record.log_path else ""
        self._line(f"{record.name}: {record.status}{took}{cached}{reason}{log}")

    def _line(self, text: str) -> None:
        """A progress line in plain mode (the live table shows the same thing in place)."""
        if not self.live:
            self._print(f"[{time.monotonic() - self._t0:7.1f}s] {text}")

    def _print(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self._live = Live(get_renderable=self._table, console=Console(file=self.stream), refresh_per_second=4,
                          transient=False)
        self._live.start()

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None

    def _table(self):
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, pad_edge=False, show_edge=False)
        for column in ("step", "status", "time", ""):
            table.add_column(column, no_wrap=column != "")
        now = time.monotonic()
        for name, row in self.rows.items():
            elapsed = row.elapsed if row.elapsed is not None else (now - row.started if row.started else None)
            colour = _COLOURS.get(row.status, "white")
            table.add_row(Text(name), Text(row.status, style=colour),
                          Text(f"{elapsed:6.1f}s" if elapsed is not None else ""), Text(row.detail[:120]))
        return table
