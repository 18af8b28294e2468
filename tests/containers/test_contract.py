"""Where a failed job's reason goes: the file SageMaker surfaces for each job kind, and local mode shows it."""

from __future__ import annotations

import pytest

from containers.common import contract
from containers.common.contract import JobFailure


def failing(argv):
    raise JobFailure("3 of 4 label files reference class 7:\n  labels/a.txt " + "x" * 2000 + " é")


@pytest.fixture
def opt_ml(tmp_path, monkeypatch):
    monkeypatch.setenv(contract.ROOT_ENV, str(tmp_path))
    return tmp_path


def test_the_reason_is_written_for_training_and_for_processing_jobs(opt_ml):
    assert contract.run_job(failing, []) == 1
    failure = (opt_ml / "output" / "failure").read_text(encoding="utf-8")  # DescribeTrainingJob FailureReason
    message = (opt_ml / "output" / "message").read_text(encoding="utf-8")  # DescribeProcessingJob ExitMessage
    assert failure == message
    assert failure.startswith("3 of 4 label files reference class 7: labels/a.txt xxx") and failure.count("\n") == 1
    assert len(failure.rstrip("\n").encode()) <= 1024  # the service keeps the first 1 KB


def test_a_successful_run_removes_an_earlier_runs_reason(opt_ml):
    assert contract.run_job(failing, []) == 1
    assert contract.run_job(lambda argv: None, []) == 0
    assert not (opt_ml / "output" / "failure").exists() and not (opt_ml / "output" / "message").exists()
