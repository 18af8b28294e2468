"""Where a training run starts: checkpoint metadata read without unpickling, and the ``weights`` channel, in-process."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import tarfile
import zipfile

import pytest

from containers.common.checkpoint_metadata import CheckpointError, read_metadata
from containers.common.contract import JobFailure
from containers.training.weights import FROM_YAML, NO_MODEL, PRETRAINED, WARM_START, starting_point
from pipelines.sample_data import CLASS_NAMES
from tests.containers.training.conftest import model_archive


def torch_zip(path, payload: bytes, member: str = "best/data.pkl"):
    """A file laid out like torch.save's zip, with the given pickle as its data.pkl."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, payload)
    return path


class _RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_metadata_of_a_trained_checkpoint(trained_model):
    metadata = read_metadata(trained_model / "best.pt")
    assert (metadata.variant, metadata.model_class) == ("yolo11n", "ultralytics.nn.tasks.DetectionModel")
    assert metadata.class_names == tuple(CLASS_NAMES)
    assert metadata.ultralytics_version and metadata.ultralytics_version[0].isdigit()


def test_reading_metadata_never_runs_the_pickle(tmp_path):
    marker = tmp_path / "executed"
    checkpoint = torch_zip(tmp_path / "evil.pt", pickle.dumps({"model": _RunsACommand(marker)}, protocol=2))
    with pytest.raises(CheckpointError, match="evil.pt is not an Ultralytics detection checkpoint: its 'model' is "
                                              r"(posix|os)\.system"):
        read_metadata(checkpoint)
    assert not marker.exists()


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.write_text("not weights"), "x.pt is not a torch checkpoint (not a zip file"),
    (lambda p: torch_zip(p, b"", member="weights.bin"), "x.pt is not a torch checkpoint: expected one */data.pkl"),
    (lambda p: torch_zip(p, b"\x80\x02garbage"), "x.pt is not a readable checkpoint: "),
    (lambda p: torch_zip(p, pickle.dumps([1, 2])), "x.pt is not an Ultralytics checkpoint: its pickle holds a list"),
    (lambda p: torch_zip(p, pickle.dumps({"state_dict": {}})), "its 'model' is NoneType, expected one of"),
    (lambda p: None, "x.pt does not exist"),
])
def test_what_is_not_a_checkpoint_says_what_it_is(tmp_path, make, message):
    make(tmp_path / "x.pt")
    with pytest.raises(CheckpointError) as failure:
        read_metadata(tmp_path / "x.pt")
    assert message in str(failure.value)


@pytest.fixture
def weights_channel(tmp_path, monkeypatch):
    """An empty /opt/ml for this process; returns where the weights channel goes (not created)."""
    monkeypatch.setenv("OPT_ML_ROOT", str(tmp_path / "opt_ml"))
    return tmp_path / "opt_ml" / "input" / "data" / "weights"


def test_no_channel_trains_from_the_yaml(weights_channel, tmp_path):
    start = starting_point("yolo11s", True, None, tmp_path)
    assert (start.kind, start.variant, start.checkpoint) == (FROM_YAML, "yolo11s", None)
    assert start.describe() == {"kind": "yaml", "variant": "yolo11s", "source": None, "sha256": None}


def test_a_checkpoint_is_pretrained_weights_named_by_their_uri(weights_channel, trained_model, tmp_path):
    weights_channel.mkdir(parents=True)
    shutil.copyfile(trained_model / "best.pt", weights_channel / "yolo11n.pt")
    uri = "s3://bucket/yolo/weights/yolo11n/0123/yolo11n.pt"
    start = starting_point("yolo11n", False, uri, tmp_path)
    assert (start.kind, start.variant, start.source, start.checkpoint) == (PRETRAINED, "yolo11n", uri,
                                                                           weights_channel / "yolo11n.pt")
    assert start.sha256 == hashlib.sha256((trained_model / "best.pt").read_bytes()).hexdigest()
    assert starting_point("yolo11n", False, None, tmp_path).source == "yolo11n.pt"


def test_a_model_archive_is_a_warm_start_from_that_version(weights_channel, trained_model, tmp_path):
    weights_channel.mkdir(parents=True)
    model_archive(trained_model, weights_channel / "model.tar.gz", {"training_job_name": "yolo-train-7"})
    start = starting_point("yolo11n", True, "s3://bucket/models/yolo-train-7/output/model.tar.gz", tmp_path / "w")
    assert (start.kind, start.variant) == (WARM_START, "yolo11n")
    assert start.checkpoint.read_bytes() == (trained_model / "best.pt").read_bytes()
    assert start.describe()["source_model"] == {"variant": "yolo11n", "training_job_name": "yolo-train-7",
                                                "git_sha": None}


def test_the_no_model_placeholder_trains_from_the_yaml(weights_channel, tmp_path):
    """The pipeline's default weights input: a prefix whose one object is the placeholder, URI passed as usual."""
    weights_channel.mkdir(parents=True)
    (weights_channel / NO_MODEL).write_text("no model")
    start = starting_point("yolo11n", True, "s3://bucket/yolo11-detection/inputs/no-model/", tmp_path)
    assert (start.kind, start.source) == (FROM_YAML, None)


def test_a_named_uri_without_its_channel_fails(weights_channel, tmp_path):
    with pytest.raises(JobFailure, match="^hyperparameter weights_uri='s3://b/w/yolo11n.pt' names weights, but "
                                         "channel 'weights' has no"):
        starting_point("yolo11n", False, "s3://b/w/yolo11n.pt", tmp_path)


def test_a_channel_without_weights_fails(weights_channel, tmp_path):
    weights_channel.mkdir(parents=True)
    (weights_channel / "README").write_text("no weights here")
    with pytest.raises(JobFailure, match="^channel 'weights' at .* holds no \\*.pt or model.tar.gz$"):
        starting_point("yolo11n", False, None, tmp_path)


def test_an_archive_member_leaving_the_folder_is_refused(weights_channel, tmp_path):
    weights_channel.mkdir(parents=True)
    with tarfile.open(weights_channel / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.pt")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(JobFailure, match="^channel 'weights': cannot unpack .*model.tar.gz"):
        starting_point("yolo11n", False, None, tmp_path / "work")
    assert not (tmp_path / "escaped.pt").exists()
