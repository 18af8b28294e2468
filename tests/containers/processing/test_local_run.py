"""`yolo-pipeline run --local` on a Roboflow-style export folder, end to end (PrepareData keeps the export's splits,
then real training, evaluation and registration). Cheap: nine small images, one epoch, no staging endpoint."""

from __future__ import annotations

import json

import pytest

from tests.containers.processing import exports

pytestmark = pytest.mark.slow


def test_run_local_on_a_roboflow_export(tmp_path, capsys):
    from pipelines.cli.main import main
    from pipelines.local import LocalStore, StateDir, list_executions

    export = exports.roboflow_yolo(tmp_path / "My Export.v2i.yolov8")
    state = tmp_path / "state"
    params = {"InputDataUri": str(export), "Epochs": 1, "ImageSize": 64, "BatchSize": 4, "MapThreshold": 0.0,
              "DeployStaging": "false"}
    code = main(["run", "--local", "--state-dir", str(state), "--json",
                 *[arg for key, value in params.items() for arg in ("--param", f"{key}={value}")]])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["status"] == "Succeeded", summary
    assert summary["registered"]["version"] == 1
    [record] = list_executions(StateDir.at(str(state)))
    report_uri = record.step("PrepareData").metadata["ProcessingJob"]["Outputs"]["report"]
    report = LocalStore(StateDir.at(str(state)).store).read_json(f"{report_uri}/data_report.json")
    assert report["split_source"] == "export" and report["input_format"] == "yolo"
    assert [report["splits"][s]["images"] for s in ("train", "val", "test")] == [5, 2, 2]
