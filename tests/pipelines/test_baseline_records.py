"""`registry show` and `registry compare` show the baseline comparison a version's evaluation recorded, and name its
plots: on the SageMaker Model Registry (moto) and in local mode (the RegisterModel step keeps the plots)."""

from __future__ import annotations

import json

import pytest

from pipelines.cli.main import main
from tests.pipelines.model_packages import GROUP, moto_registry

HEADLINE = ("mAP50_95", "mAP50", "precision", "recall")


def evaluation(map50_95: float, baseline: float | None) -> dict:
    """An evaluation.json as EvaluateYOLO writes it, with or without a baseline."""
    values = {"mAP50_95": map50_95, "mAP50": map50_95 + 0.3, "precision": 0.6, "recall": 0.5}
    if baseline is None:
        compared = {"present": False, **{name: {"value": 0.0, "delta": None} for name in HEADLINE}}
        plots = ["plots/confusion_matrix.png", "plots/BoxPR_curve.png"]
    else:
        base = {**values, "mAP50_95": baseline}
        compared = {"present": True, "model": {"variant": "yolo11n", "training_job_name": "yolo11-train-1",
                                               "git_sha": None}, "per_class": {}, "imgsz": 128,
                    **{name: {"value": base[name], "delta": values[name] - base[name]} for name in HEADLINE}}
        plots = ["plots/confusion_matrix.png", "plots/BoxPR_curve.png", "plots/baseline_confusion_matrix.png",
                 "plots/baseline_BoxPR_curve.png"]
    start = {"kind": "pretrained", "variant": "yolo11n", "source": "s3://artifacts/weights/yolo11n/0123/yolo11n.pt",
             "sha256": "0123"}
    return {"object_detection_metrics": {**{name: {"value": value} for name, value in values.items()},
                                         "per_class": {}},
            "model": {"variant": "yolo11n", "training_job_name": "yolo11-train-2", "git_sha": None,
                      "initialisation": start},
            "baseline": compared, "dataset": {"images": 6, "instances": 20, "classes": ["vehicle"]}, "plots": plots}


@pytest.fixture
def aws_registry():
    with moto_registry({f"executions/{index}/evaluation/evaluation.json": evaluation(value, baseline)
                        for index, (value, baseline) in enumerate(((0.31, None), (0.42, 0.31)), start=1)}) as client:
        yield client


def test_show_and_compare_on_aws(aws_registry, capsys):
    assert main(["registry", "show", "2"]) == 0
    details = json.loads(capsys.readouterr().out)["details"]
    assert details["baseline"]["model"]["training_job_name"] == "yolo11-train-1"
    assert details["baseline"]["mAP50_95"] == {"value": 0.31, "delta": pytest.approx(0.11)}
    assert details["plots"][2] == "s3://artifacts/executions/2/evaluation/plots/baseline_confusion_matrix.png"
    assert details["trained_from"]["kind"] == "pretrained"
    assert details["trained_from"]["source"] == "s3://artifacts/weights/yolo11n/0123/yolo11n.pt"
    assert main(["registry", "show", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["details"]["baseline"] is None

    assert main(["registry", "compare", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "v1: evaluated without a baseline (no approved version then)" in out
    assert "v2: evaluated against the baseline yolo11-train-1: mAP50_95 0.310 (+0.110), mAP50 0.720 (+0.000)" in out


def test_local_registration_keeps_the_plots_and_shows_the_baseline(tmp_path, capsys):
    from pipelines.local import LocalRegistry, LocalStore
    from pipelines.local.registration import register_model

    store = LocalStore(tmp_path / "store")
    folder = store.path("s3://artifacts/executions/2/evaluation")
    (folder / "plots").mkdir(parents=True)
    report = evaluation(0.42, 0.31)
    (folder / "evaluation.json").write_text(json.dumps(report))
    for plot in report["plots"]:
        (folder / plot).write_bytes(b"\x89PNG " + plot.encode())
    (folder / "plots" / "not-listed.png").write_bytes(b"left out")
    model = store.path("s3://artifacts/models/2/model.tar.gz")
    model.parent.mkdir(parents=True)
    model.write_bytes(b"a model")
    registry = LocalRegistry(tmp_path / "state")
    register_model({"ModelPackageGroupName": GROUP,
                    "InferenceSpecification": {"Containers": [{"Image": "img:1",
                                                               "ModelDataUrl": "s3://artifacts/models/2/model.tar.gz"}]},
                    "ModelMetrics": {"ModelQuality": {"Statistics": {
                        "S3Uri": "s3://artifacts/executions/2/evaluation/evaluation.json"}}}},
                   registry=registry, store=store)
    state = ["--local", "--state-dir", str(tmp_path / "state")]
    assert main(["registry", "show", "1", *state]) == 0
    details = json.loads(capsys.readouterr().out)["details"]
    assert details["baseline"]["mAP50_95"]["value"] == 0.31
    kept = details["plots"]
    assert [p.rsplit("/", 2)[-2:] for p in kept] == [p.split("/") for p in report["plots"]]
    for path, plot in zip(kept, report["plots"], strict=True):
        assert open(path, "rb").read() == b"\x89PNG " + plot.encode()  # copies in the MLflow artifact store
    assert not (registry.get(GROUP, 1).evaluation_path.parent / "plots" / "not-listed.png").exists()
