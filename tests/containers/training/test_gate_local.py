"""The champion/challenger gate in local mode, through `yolo-pipeline run --local` with the real step code: the
approved version (the session's 12-epoch model) is the baseline, found in the local registry when the run starts;
a 2-epoch candidate that clears MapThreshold but scores below it fails CheckRegression, with both values in the
message, and nothing is registered."""

from __future__ import annotations

import json

import pytest

from pipelines.cli.main import main
from pipelines.local import LocalRegistry, LocalStore, StateDir, list_executions
from tests.containers.training.conftest import SHORT_EPOCHS, model_archive

GROUP = "yolo11-detection"


@pytest.mark.slow
def test_a_candidate_below_the_approved_baseline_fails_and_is_not_registered(trained_model, tmp_path, capsys):
    state = tmp_path / "state"
    registry = LocalRegistry(state)
    approved = registry.register(GROUP, model_archive(trained_model, tmp_path / "model.tar.gz"),
                                 approval_status="Approved")
    assert main(["run", "--local", "--state-dir", str(state), "--param", f"Epochs={SHORT_EPOCHS}",
                 "--param", "MapThreshold=0.0", "--param", "DeployStaging=false"]) == 1
    printed = capsys.readouterr()
    assert f"baseline: {GROUP} version 1 ({approved.model_path})" in printed.err
    assert "regression gate (mAP50-95 >= approved baseline - RegressionTolerance): False" in printed.out
    [record] = list_executions(StateDir.at(state))
    evaluation_uri = record.step("EvaluateYOLO").metadata["ProcessingJob"]["Outputs"]["evaluation"]
    evaluation = LocalStore(StateDir.at(state).store).read_json(f"{evaluation_uri}/evaluation.json")
    candidate = evaluation["object_detection_metrics"]["mAP50_95"]["value"]
    baseline = evaluation["baseline"]["mAP50_95"]["value"]
    assert evaluation["baseline"]["present"] and candidate < baseline, json.dumps(evaluation["baseline"])[:500]
    assert [s.name for s in record.steps][-3:] == ["CheckQuality", "CheckRegression", "RegressionGateFailed"]
    assert record.failure_reason == (
        f"RegressionGateFailed: Regression gate failed: mAP50-95 on the test split is {candidate}, below the "
        f"approved baseline's {baseline} minus RegressionTolerance 0.0; the model was not registered.")
    assert [v.version for v in registry.list_versions(GROUP)] == [1]
