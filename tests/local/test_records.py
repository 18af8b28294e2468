"""Execution records: listing, lookup by id or prefix, and runs whose process died."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipelines.local import ExecutionRecord, LocalModeError, StateDir, StepRecord, get_execution, list_executions


def record(state: StateDir, execution_id: str, started: str, **fields) -> ExecutionRecord:
    made = ExecutionRecord(execution_id=execution_id, pipeline_name="p", arn=f"arn:{execution_id}",
                           directory=str(state.execution_dir(execution_id)), parameters={"Epochs": 3},
                           started_at=started, **fields)
    made.save()
    return made


def test_list_and_get(tmp_path):
    state = StateDir.at(tmp_path)
    with pytest.raises(LocalModeError, match="no local executions in .*; run `yolo-pipeline run --local`"):
        get_execution(state)
    record(state, "aaa111", "2026-01-01T00:00:00.000Z", status="Succeeded")
    record(state, "aab222", "2026-01-02T00:00:00.000Z", status="Failed", failure_reason="X: y",
           steps=[StepRecord("X", "Processing", "Failed", failure_reason="y", log_path="/l")])
    assert [r.execution_id for r in list_executions(state)] == ["aab222", "aaa111"]
    assert get_execution(state).execution_id == "aab222"
    assert get_execution(state, "aaa").execution_id == "aaa111"
    assert get_execution(state, "aab222").step("X").log_path == "/l"
    with pytest.raises(LocalModeError, match="local execution 'aa' is ambiguous; the newest are: aab222, aaa111"):
        get_execution(state, "aa")
    with pytest.raises(LocalModeError, match="local execution 'zzz' does not exist"):
        get_execution(state, "zzz")


def test_an_execution_whose_process_died_reads_as_failed(tmp_path):
    state = StateDir.at(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    record(state, "orphan", "2026-01-01T00:00:00.000Z", pid=int(dead.stdout),
           steps=[StepRecord("TrainYOLO", "Training")])
    loaded = get_execution(state, "orphan")
    assert loaded.status == "Failed"
    assert loaded.failure_reason.startswith(f"interrupted: the local run's process ({int(dead.stdout)}) ended before "
                                            "the execution finished")
    assert loaded.step("TrainYOLO").status == "Failed"
    record(state, "live", "2026-01-02T00:00:00.000Z")  # this process: still running
    assert get_execution(state, "live").status == "Executing"


def test_a_damaged_record_is_listed_as_unreadable(tmp_path, capsys):
    from pipelines.cli.main import main

    state = StateDir.at(tmp_path)
    good = record(state, "good", "2026-01-02T00:00:00.000Z", status="Succeeded")
    damaged = record(state, "damaged", "2026-01-01T00:00:00.000Z", status="Succeeded")
    path = damaged.save()
    path.write_text(path.read_text()[:50])
    listed = {r.execution_id: r for r in list_executions(state)}
    assert listed["good"].to_dict() == good.to_dict()
    assert listed["damaged"].status == "Unreadable"
    assert listed["damaged"].failure_reason.startswith(f"{path} is not a readable execution record (")
    assert main(["executions", "--local", "--state-dir", str(tmp_path)]) == 0
    assert "Unreadable" in capsys.readouterr().out
    assert main(["status", "damaged", "--local", "--state-dir", str(tmp_path)]) == 0
    assert f"reason     {path} is not a readable execution record" in capsys.readouterr().out
