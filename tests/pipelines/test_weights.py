"""`yolo-pipeline weights stage`: checked without torch, uploaded to a versioned S3 location (moto) or the local
store."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

from pipelines.cli.main import main
from tests.containers.conftest import REPO

ROOT = "s3://yolo-pipelines-artifacts/yolo11-detection"

# Real Ultralytics checkpoints, made in a subprocess (this process must not need torch to check them).
_SAVE = """
import sys
from containers.common.ultralytics_env import configure_offline
configure_offline()
from ultralytics import YOLO
for variant in sys.argv[2:]:
    YOLO(f"{variant}.yaml").save(f"{sys.argv[1]}/{variant}.pt")
"""


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    subprocess.run([sys.executable, "-c", _SAVE, str(folder), "yolo11n", "yolo11s"], cwd=REPO, check=True,
                   capture_output=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                             "YOLO_CONFIG_DIR": str(folder / "config")})
    return folder


@pytest.fixture
def s3():
    with mock_aws():
        from pipelines import aws

        aws.boto_session.cache_clear()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="yolo-pipelines-artifacts")
        yield client
        aws.boto_session.cache_clear()


def test_stage_uploads_to_a_content_addressed_location(s3, checkpoints, capsys):
    source = checkpoints / "yolo11n.pt"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert main(["weights", "stage", "--variant", "yolo11n", "--from", str(source)]) == 0
    captured = capsys.readouterr()
    uri = f"{ROOT}/weights/yolo11n/{digest[:16]}/yolo11n.pt"
    assert captured.out == uri + "\n"
    assert f"--param PretrainedWeightsUri={uri}" in captured.err
    key = uri.removeprefix("s3://yolo-pipelines-artifacts/")
    stored = s3.get_object(Bucket="yolo-pipelines-artifacts", Key=key)
    assert stored["Body"].read() == source.read_bytes()
    assert stored["Metadata"] == {"sha256": digest}
    manifest = json.loads(s3.get_object(Bucket="yolo-pipelines-artifacts",
                                        Key=key.replace("yolo11n.pt", "weights.json"))["Body"].read())
    assert (manifest["variant"], manifest["sha256"], manifest["source"]) == ("yolo11n", digest, "yolo11n.pt")
    assert len(manifest["class_names"]) == 80  # a YAML model: COCO's 80 classes

    assert main(["weights", "stage", "--variant", "yolo11n", "--from", str(source)]) == 0  # idempotent
    assert capsys.readouterr().out == uri + "\n"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="yolo-pipelines-artifacts")["Contents"]] == [
        key.replace("yolo11n.pt", "weights.json"), key]


@pytest.mark.parametrize(("case", "message"), [
    ("wrong-variant", "yolo11s.pt holds a yolo11s model, not yolo11n: pass --variant yolo11s"),
    ("not-a-checkpoint", "notes.pt is not a torch checkpoint (not a zip file"),
    ("missing", "missing.pt does not exist"),
])
def test_stage_refuses_what_is_not_weights_of_that_variant(s3, checkpoints, tmp_path, capsys, case, message):
    (tmp_path / "notes.pt").write_text("not weights")
    source = {"wrong-variant": checkpoints / "yolo11s.pt", "not-a-checkpoint": tmp_path / "notes.pt",
              "missing": tmp_path / "missing.pt"}[case]
    assert main(["weights", "stage", "--variant", "yolo11n", "--from", str(source)]) == 2
    assert message in capsys.readouterr().err
    assert "Contents" not in s3.list_objects_v2(Bucket="yolo-pipelines-artifacts")


def test_stage_locally_puts_it_in_the_local_store(checkpoints, tmp_path, capsys):
    source = checkpoints / "yolo11n.pt"
    assert main(["weights", "stage", "--variant", "yolo11n", "--from", str(source), "--local",
                 "--state-dir", str(tmp_path / "state")]) == 0
    uri = capsys.readouterr().out.strip()
    from pipelines.local import LocalStore, StateDir

    store = LocalStore(StateDir.at(str(tmp_path / "state")).store)
    assert store.path(uri).read_bytes() == source.read_bytes()
    assert json.loads(store.path(uri).with_name("weights.json").read_text())["variant"] == "yolo11n"


def test_checking_weights_imports_neither_torch_nor_ultralytics(checkpoints):
    script = ("import sys; from pipelines.cli import main; from pipelines.weights import inspect; "
              f"assert inspect({str(checkpoints / 'yolo11s.pt')!r}, 'yolo11s').variant == 'yolo11s'; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'ultralytics')))")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
