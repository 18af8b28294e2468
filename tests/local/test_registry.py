"""The local model registry on a real MLflow SQLite store: versions, approval, comparison, errors."""

from __future__ import annotations

import fcntl
import json
import tarfile
import threading

import pytest

from pipelines.local import LocalModeError, LocalRegistry
from pipelines.local.tracking import ensure_experiment

GROUP = "yolo11-detection"


def evaluation(map50_95: float) -> dict:
    return {"object_detection_metrics": {"mAP50_95": {"value": map50_95}, "mAP50": {"value": 0.7},
                                         "precision": {"value": 0.6}, "recall": {"value": 0.5},
                                         "per_class": {"vehicle": {"mAP50_95": 0.3}}},
            "baseline": None, "dataset": {"images": 4}}


@pytest.fixture
def model_file(tmp_path):
    (tmp_path / "model.json").write_text("{}")
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        archive.add(tmp_path / "model.json", arcname="model.json")
    return path


@pytest.fixture
def registry(state_dir) -> LocalRegistry:
    return LocalRegistry(state_dir)


def register(registry, model_file, map50_95, execution="exec1", **kwargs):
    return registry.register(GROUP, model_file, evaluation=evaluation(map50_95),
                             metadata={"PipelineExecutionId": execution, "TrainingImageTag": "b"},
                             model_data_url=f"s3://bucket/models/{execution}/output/model.tar.gz",
                             image="yolo-pipelines-inference:abc", **kwargs)


def test_register_list_and_get(registry, model_file):
    assert registry.groups() == []
    first = register(registry, model_file, 0.40, "exec1")
    second = register(registry, model_file, 0.45, "exec2", approval_status="Approved")
    assert (first.version, second.version) == (1, 2)
    assert registry.groups() == [GROUP]
    assert [v.version for v in registry.list_versions(GROUP)] == [2, 1]
    got = registry.get(GROUP, "1")  # a version number given as text, as the CLI passes it
    assert got.version == 1 and got.approval_status == "PendingManualApproval"
    assert got.metrics == {"mAP50_95": 0.40, "mAP50": 0.7, "precision": 0.6, "recall": 0.5}
    assert got.execution_id == "exec1" and got.image_tags == {"training": "b"}
    assert got.model_data_url == "s3://bucket/models/exec1/output/model.tar.gz"
    assert got.tags["InferenceImage"] == "yolo-pipelines-inference:abc"
    assert got.arn == "arn:aws:sagemaker:local:000000000000:model-package/yolo11-detection/1"
    assert got.model_path.read_bytes() == model_file.read_bytes()
    assert got.evaluation_path.is_file() and got.model_path.parent != registry.get(GROUP, 2).model_path.parent
    assert registry.latest(GROUP).version == 2
    assert registry.latest(GROUP, "Approved").version == 2
    assert registry.latest(GROUP, "Rejected") is None
    assert registry.latest("other-group") is None


def test_approve_and_reject_move_the_approved_alias(registry, model_file):
    register(registry, model_file, 0.40)
    register(registry, model_file, 0.45)
    approved = registry.set_approval(GROUP, 1, "Approved")
    assert approved.approval_status == "Approved"
    client = registry.client
    assert client.get_registered_model(GROUP).aliases == {"approved": 1}
    registry.set_approval(GROUP, 2, "Approved")
    assert client.get_registered_model(GROUP).aliases == {"approved": 2}
    assert registry.set_approval(GROUP, 2, "Rejected").approval_status == "Rejected"
    assert client.get_registered_model(GROUP).aliases == {"approved": 1}  # v1 is still Approved
    assert registry.get(GROUP, 1).approval_status == "Approved"
    assert "ApprovalUpdatedAt" in registry.get(GROUP, 2).tags
    registry.set_approval(GROUP, 1, "Rejected")
    assert client.get_registered_model(GROUP).aliases == {}


def test_rejecting_an_older_version_keeps_the_alias_on_the_newer_approved_one(registry, model_file):
    register(registry, model_file, 0.40)
    register(registry, model_file, 0.45)
    registry.set_approval(GROUP, 2, "Approved")
    registry.set_approval(GROUP, 1, "Approved")  # an older version approved later: the newest approved keeps it
    assert registry.client.get_registered_model(GROUP).aliases == {"approved": 2}
    registry.set_approval(GROUP, 1, "Rejected")
    assert registry.client.get_registered_model(GROUP).aliases == {"approved": 2}


def test_the_approval_note_is_kept(registry, model_file, state_dir, capsys):
    from pipelines.cli.main import main

    register(registry, model_file, 0.40)
    assert registry.set_approval(GROUP, 1, "Rejected", note="too many false positives").tags[
        "ApprovalDescription"] == "too many false positives"
    assert main(["registry", "approve", "1", "--note", "checked by hand", "--local", "--state-dir",
                 str(state_dir)]) == 0
    assert main(["registry", "show", "1", "--local", "--state-dir", str(state_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["details"]["ApprovalDescription"] == "checked by hand"


def test_registry_writes_wait_for_each_other(registry, model_file, state_dir):
    """A write waits while another holds the registry lock; concurrent approve and reject then always leave the
    status and the alias in agreement."""
    register(registry, model_file, 0.40)
    done = threading.Event()
    with (state_dir / "registry.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process writing
        writer = threading.Thread(target=lambda: (LocalRegistry(state_dir).set_approval(GROUP, 1, "Approved"),
                                                  done.set()))
        writer.start()
        assert not done.wait(1.0)
        fcntl.flock(lock, fcntl.LOCK_UN)
    writer.join()
    assert done.is_set()

    for _ in range(3):
        threads = [threading.Thread(target=LocalRegistry(state_dir).set_approval, args=(GROUP, 1, status))
                   for status in ("Approved", "Rejected")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = registry.get(GROUP, 1).approval_status
        aliases = registry.client.get_registered_model(GROUP).aliases
        assert aliases == ({"approved": 1} if final == "Approved" else {})


def test_compare_lists_both_values_and_the_change(registry, model_file):
    register(registry, model_file, 0.40)
    register(registry, model_file, 0.45)
    comparison = registry.compare(GROUP, 1, 2)
    rows = {name: (a, b, round(delta, 6)) for name, a, b, delta in comparison.rows}
    assert rows == {"mAP50": (0.7, 0.7, 0.0), "mAP50_95": (0.40, 0.45, 0.05), "precision": (0.6, 0.6, 0.0),
                    "recall": (0.5, 0.5, 0.0)}


def test_a_version_is_attached_to_the_training_run_that_made_it(registry, model_file):
    experiment = ensure_experiment(registry.state, "yolo11-detection")
    run = registry.client.create_run(experiment, tags={"sagemaker.training_job_name": "trainyolo-exec9"})
    version = register(registry, model_file, 0.4, training_job_name="trainyolo-exec9")
    assert version.run_id == run.info.run_id
    assert registry.client.get_run(run.info.run_id).data.metrics["test_mAP50_95"] == 0.4
    unattached = register(registry, model_file, 0.4, training_job_name="never-logged")
    assert unattached.run_id != run.info.run_id


@pytest.mark.parametrize(("call", "message"), [
    (lambda r: r.list_versions("nope"), "no model package group 'nope' in the local registry"),
    (lambda r: r.get(GROUP, 7), "model package group 'yolo11-detection' has no version 7 \\(versions: 1\\)"),
    (lambda r: r.get(GROUP, "latest"), "a model version is a number like 3, not 'latest'"),
    (lambda r: r.set_approval(GROUP, 1, "approved"),
     "approval status 'approved' is not one of PendingManualApproval, Approved, Rejected"),
])
def test_errors_name_what_is_wrong(registry, model_file, call, message):
    register(registry, model_file, 0.4)
    with pytest.raises(LocalModeError, match=message):
        call(registry)


def test_register_refuses_a_missing_model_and_a_bad_status(registry, tmp_path, model_file):
    with pytest.raises(LocalModeError, match="no such model file"):
        registry.register(GROUP, tmp_path / "missing.tar.gz")
    with pytest.raises(LocalModeError, match="approval status 'Maybe'"):
        registry.register(GROUP, model_file, approval_status="Maybe")
