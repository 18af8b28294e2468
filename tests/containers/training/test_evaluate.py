"""EvaluateYOLO as a process: TrainYOLO's model.tar.gz scored on the test split, evaluation.json checked by schema."""

from __future__ import annotations

import json

import jsonschema
import pytest

from containers.training.weights import NO_MODEL
from pipelines.sample_data import CLASS_NAMES
from tests.containers.conftest import REPO, place_tree, run_entrypoint
from tests.containers.training.conftest import model_archive

EVALUATE = "containers.training.evaluate"
SCHEMA = json.loads((REPO / "containers" / "training" / "evaluation.schema.json").read_text())


def evaluation_job(opt_ml, trained_model, prepared_splits, baseline=None, card_changes=None):
    """A processing job's /opt/ml: model.tar.gz as SageMaker makes it (files at its root), test split, and the
    baseline input (another TrainYOLO model folder, put there as its model.tar.gz) when given."""
    (opt_ml / "processing" / "model").mkdir(parents=True)
    model_archive(trained_model, opt_ml / "processing" / "model" / "model.tar.gz", card_changes)
    place_tree(prepared_splits / "test", opt_ml / "processing" / "test")
    if baseline is not None:
        (opt_ml / "processing" / "baseline").mkdir(parents=True)
        model_archive(baseline, opt_ml / "processing" / "baseline" / "model.tar.gz")
    return opt_ml


def read_evaluation(opt_ml) -> dict:
    evaluation = json.loads((opt_ml / "processing" / "evaluation" / "evaluation.json").read_text())
    jsonschema.validate(evaluation, SCHEMA)
    return evaluation


@pytest.fixture(scope="module")
def evaluated(trained_model, prepared_splits, tmp_path_factory):
    """One evaluation without a baseline: its input is the pipeline's "no model" placeholder, as in an execution with
    no approved version (shared: the run with a baseline is compared with it)."""
    opt_ml = evaluation_job(tmp_path_factory.mktemp("evaluate") / "opt_ml", trained_model, prepared_splits)
    (opt_ml / "processing" / "baseline").mkdir()
    (opt_ml / "processing" / "baseline" / NO_MODEL).write_text("no model")
    result = run_entrypoint(EVALUATE, [], opt_ml)
    assert result.returncode == 0, result.stderr[-3000:]
    return opt_ml


@pytest.mark.slow
def test_evaluation_is_schema_valid_and_scores_the_test_split(evaluated, prepared_splits):
    evaluation = read_evaluation(evaluated)
    metrics = evaluation["object_detection_metrics"]
    assert metrics["mAP50"]["value"] > 0.3
    assert metrics["mAP50"]["value"] >= metrics["mAP50_95"]["value"]
    # no baseline: the static JsonGet path baseline.mAP50_95.value is there, and the regression rule holds
    assert evaluation["baseline"] == {"present": False, "regression_tolerance": 0.0, "minimum_mAP50_95": 0.0,
                                      **{name: {"value": 0.0, "delta": None}
                                         for name in ("mAP50_95", "mAP50", "precision", "recall")}}
    assert evaluation["plots"] == ["plots/confusion_matrix.png", "plots/BoxPR_curve.png"]
    assert all((evaluated / "processing" / "evaluation" / plot).is_file() for plot in evaluation["plots"])
    test_images = list((prepared_splits / "test" / "images").iterdir())
    labels = (prepared_splits / "test" / "labels").glob("*.txt")
    instances = sum(1 for path in labels for line in path.read_text().splitlines() if line.strip())
    assert evaluation["dataset"] == {"images": len(test_images), "instances": instances, "classes": list(CLASS_NAMES)}
    assert set(metrics["per_class"]) <= set(CLASS_NAMES)
    assert sum(c["instances"] for c in metrics["per_class"].values()) == instances
    assert evaluation["model"]["variant"] == "yolo11n"
    assert not list((evaluated / "processing" / "test").rglob("*.cache")), "the input must not be written to"


@pytest.mark.slow
def test_the_baseline_is_scored_on_the_same_split_in_the_same_job(evaluated, trained_model, weak_model,
                                                                   prepared_splits, tmp_path, network_guard):
    """Champion/challenger: the candidate (trained 12 epochs) against a baseline trained 2, both on the test split;
    the values, the deltas and both models' plots are there, and everything goes to the training job's MLflow run."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("yolo-test", artifact_location=str(tmp_path / "artifacts"))
    run = client.create_run(experiment, tags={"sagemaker.training_job_name": "yolo-train-8"})
    opt_ml = evaluation_job(tmp_path / "opt_ml", trained_model, prepared_splits, baseline=weak_model,
                            card_changes={"training_job_name": "yolo-train-8"})
    result = run_entrypoint(EVALUATE, ["--conf", "0.001", "--iou", "0.7", "--regression-tolerance", "0.05"], opt_ml,
                            env={**network_guard.env, "MLFLOW_TRACKING_URI": uri})
    assert result.returncode == 0, result.stderr[-3000:]
    assert network_guard.attempts() == ""
    evaluation = read_evaluation(opt_ml)
    alone = read_evaluation(evaluated)
    assert evaluation["object_detection_metrics"] == alone["object_detection_metrics"]  # the same candidate score
    comparison = evaluation["baseline"]
    assert comparison["present"] is True
    assert comparison["model"]["variant"] == "yolo11n"
    for name in ("mAP50_95", "mAP50", "precision", "recall"):
        candidate = evaluation["object_detection_metrics"][name]["value"]
        assert comparison[name]["delta"] == pytest.approx(candidate - comparison[name]["value"])
    assert comparison["mAP50_95"]["delta"] > 0.05, comparison  # 12 epochs beat 2
    assert comparison["regression_tolerance"] == 0.05
    assert comparison["minimum_mAP50_95"] == pytest.approx(max(0.0, comparison["mAP50_95"]["value"] - 0.05))
    assert evaluation["plots"] == ["plots/confusion_matrix.png", "plots/BoxPR_curve.png",
                                   "plots/baseline_confusion_matrix.png", "plots/baseline_BoxPR_curve.png"]
    folder = opt_ml / "processing" / "evaluation"
    assert all((folder / plot).stat().st_size > 10_000 for plot in evaluation["plots"])
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert logged == {f"evaluation/{name}" for name in ("evaluation.json", "confusion_matrix.png", "BoxPR_curve.png",
                                                        "baseline_confusion_matrix.png", "baseline_BoxPR_curve.png")}
    assert not list((opt_ml / "processing" / "baseline").rglob("*.pt")), "the baseline input must not be written to"


@pytest.mark.parametrize(("setup", "message"), [
    ("no-model", "no model archive at {root}/processing/model/model.tar.gz: expected TrainYOLO's model.tar.gz"),
    ("bad-baseline", "the baseline input {root}/processing/baseline holds evaluation.json but no model.tar.gz: give "
                     "it the approved model version's model data (ModelDataUrl)"),
    ("bad-argument", "argument --conf: 0.0 is not in (0, 1]"),
    ("bad-tolerance", "argument --regression-tolerance: -0.1 is not in [0, 1]"),
])
def test_bad_inputs_fail_with_their_reason(trained_model, prepared_splits, tmp_path, setup, message):
    opt_ml = evaluation_job(tmp_path / "opt_ml", trained_model, prepared_splits)
    if setup == "no-model":
        (opt_ml / "processing" / "model" / "model.tar.gz").unlink()
    if setup == "bad-baseline":
        (opt_ml / "processing" / "baseline").mkdir()
        (opt_ml / "processing" / "baseline" / "evaluation.json").write_text("{}")
    arguments = {"bad-argument": ["--conf", "0"], "bad-tolerance": ["--regression-tolerance", "-0.1"]}
    result = run_entrypoint(EVALUATE, arguments.get(setup, []), opt_ml)
    assert result.returncode == 1
    assert message.format(root=opt_ml) in result.failure
