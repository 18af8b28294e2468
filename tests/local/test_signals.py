"""Signals and the lifecycle of ``yolo-pipeline run --local``, with real processes and real signals.

The CLI runs in a subprocess on a state directory whose compiled-definition cache already holds the factory's
definition with fake job entrypoints (the CLI's own cache: it then skips the SDK), so a job is running within seconds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.local import StateDir, exclusive_run
from pipelines.local.process import pid_alive
from tests.local.conftest import precompile, with_fakes

REPOSITORY = Path(__file__).resolve().parents[2]


def cli(state: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli.main", *arguments, "--local", "--state-dir", str(state)]


def start_run(definition: dict, state: Path, raw_dir: Path) -> subprocess.Popen:
    """``run --local`` in the background, its definition served from the state directory's compiled definitions."""
    precompile(state, definition)
    return subprocess.Popen([*cli(state, "run"), "--param", f"InputDataUri={raw_dir}"], cwd=REPOSITORY,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPOSITORY)})


def wait_for_line(state: Path, step: str, pattern: str, process: subprocess.Popen, limit_s: float = 120) -> re.Match:
    """The first line of ``step``'s log that matches ``pattern`` (the job is running then)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        for log in state.glob(f"executions/*/logs/{step}.log"):
            found = re.search(pattern, log.read_text())
            if found:
                return found
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"{step} did not print {pattern!r}: {process.communicate()}")


def record_of(state: Path) -> dict:
    (path,) = state.glob("executions/*/execution.json")
    return json.loads(path.read_text())


@pytest.mark.parametrize(("signum", "mode"), [(signal.SIGINT, {"prepare": "sleep"}),
                                              (signal.SIGTERM, {"train": "sleep"})])
def test_sigint_or_sigterm_stops_the_job_records_stopped_and_exits_with_one_line(
        factory_definition, fake_scripts, raw_dir, state_dir, signum, mode):
    step = "PrepareData" if "prepare" in mode else "TrainYOLO"
    process = start_run(with_fakes(factory_definition, fake_scripts, **mode), state_dir, raw_dir)
    job = wait_for_line(state_dir, step, r"(sleeping|training), pid (\d+)(, run (\w+), data (\S+))?", process)
    time.sleep(1.0)  # the step has run for a while: its recorded time must say so
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith(f"error: {signal.Signals(signum).name}: execution ")
    record = record_of(state_dir)
    assert record["status"] == "Stopped"
    stopped = next(s for s in record["steps"] if s["name"] == step)
    assert stopped["status"] == "Stopped" and signal.Signals(signum).name in stopped["failure_reason"]
    assert stopped["elapsed_s"] >= 1.0
    assert not pid_alive(int(job.group(2)))
    if step == "TrainYOLO":
        from mlflow import MlflowClient

        assert not Path(job.group(5)).exists()  # the job's temporary data went with it
        tracking = MlflowClient(StateDir.at(state_dir).tracking_uri)
        assert tracking.get_run(job.group(4)).info.status == "KILLED"


def test_after_sigkill_the_next_command_records_the_orphan_as_failed(factory_definition, fake_scripts, raw_dir,
                                                                      state_dir):
    process = start_run(with_fakes(factory_definition, fake_scripts, prepare="sleep"), state_dir, raw_dir)
    job = wait_for_line(state_dir, "PrepareData", r"sleeping, pid (\d+)", process)
    process.kill()
    process.communicate()
    orphan = int(job.group(1))
    assert pid_alive(orphan)  # the job has a session of its own: the SIGKILL did not reach it
    assert record_of(state_dir)["status"] == "Executing"

    listed = subprocess.run([*cli(state_dir, "executions"), "--json"], cwd=REPOSITORY, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPOSITORY)}, check=True)
    (shown,) = json.loads(listed.stdout)
    stored = record_of(state_dir)
    for record in (shown, stored):  # what the command shows is recorded, not recomputed on every read
        assert record["status"] == "Failed" and record["failure_reason"].startswith("interrupted")
        assert [s["status"] for s in record["steps"]] == ["Failed"]
    assert not pid_alive(orphan)  # stopped, so it cannot write into the store under a later run


def test_a_second_run_is_refused_before_it_compiles_or_seeds_anything(state_dir):
    """The first run holds the lock (here a process that holds it); the second exits at once with one line."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pipelines.local import StateDir, exclusive_run\n"
        f"with exclusive_run(StateDir.at({str(state_dir)!r}), 'the first run'):\n"
        "    print('holding', flush=True); time.sleep(60)")], cwd=REPOSITORY, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    try:
        assert holder.stdout.readline().strip() == "holding"
        second = subprocess.run(cli(state_dir, "run"), cwd=REPOSITORY, capture_output=True, text=True,
                                env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        f"error: {StateDir.at(state_dir).root} is in use by another local run (the first run, pid {holder.pid}); wait "
        "for it to finish or use another state directory (--state-dir or YOLO_PIPELINE_HOME)"]
    assert not (state_dir / "definitions").exists() and not (state_dir / "store").exists()
    with exclusive_run(StateDir.at(state_dir), "a later run"):  # released with the process that held it
        pass
