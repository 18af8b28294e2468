"""EvaluateYOLO as a process: TrainYOLO's model.tar.gz scored on the test split, evaluation.json checked by schema."""

from __future__ import annotations

import json
import tarfile

import jsonschema
import pytest

from pipelines.sample_data import CLASS_NAMES
from tests.containers.conftest import REPO, place_tree, run_entrypoint

EVALUATE = "containers.training.evaluate"
SCHEMA = json.loads((REPO / "containers" / "training" / "evaluation.schema.json").read_text())


def evaluation_job(opt_ml, trained_model, prepared_splits, baseline: dict | None = None):
    """A processing job's /opt/ml: model.tar.gz as SageMaker makes it (files at its root), test split, baseline."""
    archive = opt_ml / "processing" / "model" / "model.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(trained_model.iterdir()):
            tar.add(path, arcname=path.name)
    place_tree(prepared_splits / "test", opt_ml / "processing" / "test")
    if baseline is not None:
        (opt_ml / "processing" / "baseline").mkdir(parents=True)
        (opt_ml / "processing" / "baseline" / "evaluation.json").write_text(json.dumps(baseline))
    return opt_ml


def read_evaluation(opt_ml) -> dict:
    evaluation = json.loads((opt_ml / "processing" / "evaluation" / "evaluation.json").read_text())
    jsonschema.validate(evaluation, SCHEMA)
    return evaluation


@pytest.fixture(scope="module")
def evaluated(trained_model, prepared_splits, tmp_path_factory):
    """One evaluation without a baseline (shared: the runs with a baseline compare against it)."""
    opt_ml = evaluation_job(tmp_path_factory.mktemp("evaluate") / "opt_ml", trained_model, prepared_splits)
    result = run_entrypoint(EVALUATE, [], opt_ml)
    assert result.returncode == 0, result.stderr[-3000:]
    return opt_ml


@pytest.mark.slow
def test_evaluation_is_schema_valid_and_scores_the_test_split(evaluated, prepared_splits):
    evaluation = read_evaluation(evaluated)
    metrics = evaluation["object_detection_metrics"]
    assert metrics["mAP50"]["value"] > 0.3
    assert metrics["mAP50"]["value"] >= metrics["mAP50_95"]["value"]
    assert evaluation["baseline"] is None
    test_images = list((prepared_splits / "test" / "images").iterdir())
    labels = (prepared_splits / "test" / "labels").glob("*.txt")
    instances = sum(1 for path in labels for line in path.read_text().splitlines() if line.strip())
    assert evaluation["dataset"] == {"images": len(test_images), "instances": instances, "classes": list(CLASS_NAMES)}
    assert set(metrics["per_class"]) <= set(CLASS_NAMES)
    assert sum(c["instances"] for c in metrics["per_class"].values()) == instances
    assert evaluation["model"]["variant"] == "yolo11n"
    assert not list((evaluated / "processing" / "test").rglob("*.cache")), "the input must not be written to"


@pytest.mark.slow
def test_a_baseline_adds_values_and_deltas(evaluated, trained_model, prepared_splits, tmp_path, network_guard):
    baseline = read_evaluation(evaluated)
    baseline["object_detection_metrics"]["mAP50_95"]["value"] = 0.25
    opt_ml = evaluation_job(tmp_path / "opt_ml", trained_model, prepared_splits, baseline=baseline)
    result = run_entrypoint(EVALUATE, ["--conf", "0.001", "--iou", "0.7"], opt_ml, env=network_guard.env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert network_guard.attempts() == ""
    evaluation = read_evaluation(opt_ml)
    metrics, comparison = evaluation["object_detection_metrics"], evaluation["baseline"]
    assert comparison["mAP50_95"]["value"] == 0.25
    assert comparison["mAP50_95"]["delta"] == pytest.approx(metrics["mAP50_95"]["value"] - 0.25)
    assert comparison["mAP50"]["delta"] == pytest.approx(0.0, abs=1e-9)  # the same model on the same data


@pytest.mark.parametrize(("setup", "message"), [
    ("no-model", "no model archive at {root}/processing/model/model.tar.gz: expected TrainYOLO's model.tar.gz"),
    ("bad-baseline", "baseline {root}/processing/baseline/evaluation.json is not an evaluation.json"),
    ("bad-argument", "argument --conf: 0.0 is not in (0, 1]"),
])
def test_bad_inputs_fail_with_their_reason(trained_model, prepared_splits, tmp_path, setup, message):
    opt_ml = evaluation_job(tmp_path / "opt_ml", trained_model, prepared_splits,
                            baseline={"mAP50": 0.5} if setup == "bad-baseline" else None)
    if setup == "no-model":
        (opt_ml / "processing" / "model" / "model.tar.gz").unlink()
    result = run_entrypoint(EVALUATE, ["--conf", "0"] if setup == "bad-argument" else [], opt_ml)
    assert result.returncode == 1
    assert message.format(root=opt_ml) in result.failure
