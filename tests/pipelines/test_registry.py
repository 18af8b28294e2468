"""Registry commands against the SageMaker Model Registry (moto) and the local MLflow registry."""

from __future__ import annotations

import json

import pytest

from pipelines.cli.main import main
from tests.pipelines.model_packages import GROUP, moto_registry


def evaluation(map50_95: float) -> dict:
    return {"object_detection_metrics": {"mAP50_95": {"value": map50_95}, "mAP50": {"value": map50_95 + 0.3},
                                         "precision": {"value": 0.6}, "recall": {"value": 0.5}, "per_class": {}},
            "baseline": None, "dataset": {"images": 6, "instances": 20, "classes": ["vehicle"]}}


@pytest.fixture
def aws_registry():
    with moto_registry({f"evaluation/{index}/evaluation.json": evaluation(value)
                        for index, value in enumerate((0.31, 0.42), start=1)}) as client:
        yield client


def test_list_show_compare_approve_reject_on_aws(aws_registry, capsys):
    assert main(["registry", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["2", "1"]
    assert "mAP50_95=0.420" in out[0] and "PendingManualApproval" in out[0]

    assert main(["registry", "compare", "1", "2"]) == 0
    assert "mAP50_95          0.310      0.420     +0.110" in capsys.readouterr().out

    assert main(["registry", "approve", "2", "--note", "looks good"]) == 0
    assert "version 2: Approved" in capsys.readouterr().err
    assert aws_registry.list_model_packages(ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved")[
        "ModelPackageSummaryList"][0]["ModelPackageVersion"] == 2
    assert main(["registry", "reject", "1"]) == 0
    assert main(["registry", "show", "1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["approval_status"] == "Rejected" and shown["metrics"]["mAP50_95"] == 0.31


def test_registry_errors_are_usage_errors(aws_registry, capsys):
    assert main(["registry", "show", "9"]) == 2
    assert "has no version 9" in capsys.readouterr().err
    assert main(["registry", "list", "--group", "nope"]) == 2
    assert "model package group 'nope' does not exist" in capsys.readouterr().err
    assert main(["registry", "compare", "1"]) == 2
    assert "expected 2 version number(s)" in capsys.readouterr().err
    assert main(["registry", "approve", "x"]) == 2


def test_local_registry_through_the_same_commands(tmp_path, capsys):
    from pipelines.local import LocalRegistry

    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"not really a model")
    registry = LocalRegistry(tmp_path / "state")
    for value in (0.2, 0.5):
        registry.register(GROUP, model, evaluation=evaluation(value))
    state = ["--local", "--state-dir", str(tmp_path / "state")]
    assert main(["registry", "list", *state]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["2", "1"]
    assert main(["registry", "approve", "1", *state]) == 0
    assert registry.get(GROUP, 1).approval_status == "Approved"
    assert main(["registry", "compare", "1", "2", *state]) == 0
    assert "+0.300" in capsys.readouterr().out
    assert main(["registry", "show", "7", *state]) == 2
