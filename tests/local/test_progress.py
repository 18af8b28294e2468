"""The progress display: plain lines when not on a terminal, a live table when on one."""

from __future__ import annotations

import io

from pipelines.local import ConsoleProgress, ExecutionRecord, StepRecord
from pipelines.local.events import (
    ExecutionFinished,
    ExecutionStarted,
    StepEpoch,
    StepFinished,
    StepNotice,
    StepOutput,
    StepStarted,
)


def events():
    record = ExecutionRecord(execution_id="abc123", pipeline_name="yolo11-detection", arn="arn",
                             directory="/state/executions/abc123", parameters={})
    prepare = StepRecord("PrepareData", "Processing", "Succeeded", elapsed_s=0.4, cache_hit=True,
                         metadata={"CacheHitResult": {"SourceExecutionId": "old999"}})
    train = StepRecord("TrainYOLO", "Training", "Failed", elapsed_s=12.5, failure_reason="CUDA out of memory",
                       log_path="/state/executions/abc123/logs/TrainYOLO.log")
    yield ExecutionStarted(record, ("PrepareData", "TrainYOLO", "EvaluateYOLO"), "mlflow ui --backend-store-uri x")
    yield StepStarted(StepRecord("PrepareData", "Processing"))
    yield StepFinished(prepare)
    yield StepStarted(StepRecord("TrainYOLO", "Training"))
    yield StepNotice("TrainYOLO", "local mode differs from SageMaker: the data under input s3://b/d changed")
    yield StepOutput("TrainYOLO", "Ultralytics 8.4 [CPU]")
    yield StepEpoch("TrainYOLO", 1, 12, {"precision": 0.5, "mAP50-95": 0.25})
    yield StepFinished(train)
    record.status, record.elapsed_s, record.failure_reason = "Failed", 13.0, "TrainYOLO: CUDA out of memory"
    yield ExecutionFinished(record)


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    progress = ConsoleProgress(stream)
    for event in events():
        progress(event)
    lines = [line.split("] ", 1)[-1] for line in stream.getvalue().splitlines()]
    assert lines == [
        "local execution abc123 of yolo11-detection: PrepareData -> TrainYOLO -> EvaluateYOLO",
        "state: /state/executions/abc123",
        "PrepareData: Executing",
        "PrepareData: Succeeded in 0.4 s (cache hit)",
        "TrainYOLO: Executing",
        "notice: TrainYOLO: local mode differs from SageMaker: the data under input s3://b/d changed",
        "TrainYOLO: epoch 1/12 precision=0.500 mAP50-95=0.250",
        "TrainYOLO: Failed in 12.5 s: CUDA out of memory (log: /state/executions/abc123/logs/TrainYOLO.log)",
        "execution abc123 Failed in 13.0 s: TrainYOLO: CUDA out of memory",
        "logs: /state/executions/abc123/logs",
        "MLflow UI: mlflow ui --backend-store-uri x",
    ]
    assert progress.rows["EvaluateYOLO"].status == "Not run"


def test_verbose_shows_job_output():
    stream = io.StringIO()
    progress = ConsoleProgress(stream, verbose=True)
    for event in events():
        progress(event)
    assert "  TrainYOLO | Ultralytics 8.4 [CPU]" in stream.getvalue().splitlines()


def test_a_live_table_on_a_terminal():
    stream = io.StringIO()
    progress = ConsoleProgress(stream, live=True)
    for event in events():
        progress(event)
    output = stream.getvalue()
    assert "cache hit (outputs of old999)" in output
    table_row = next(line for line in output.splitlines() if line.startswith("TrainYOLO"))
    assert table_row.split()[:3] == ["TrainYOLO", "Failed", "12.5s"] and "CUDA out of memory" in table_row
    assert "execution abc123 Failed in 13.0 s: TrainYOLO: CUDA out of memory" in output
    assert "Not run" in output
    assert "notice: TrainYOLO: local mode differs from SageMaker" in output  # printed above the table, not hidden
