"""Untrusted datasets: nothing outside the input is read, whatever links, archive members or names say, and
reports quote only a bounded excerpt of a bad line. Ground Truth images under another S3 prefix are fetched (moto)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from containers.common import contract
from containers.processing import prepare_data
from tests.containers.processing import exports
from tests.containers.processing.exports import SCENES
from tests.containers.processing.jobs import Job

SECRET = "TOP-SECRET-LINE-do-not-leak"


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder beside the job, holding what must never be read: a secret text, a JPEG and an image folder."""
    folder = tmp_path / "outside"
    exports.draw(SCENES[0], folder / "pictures" / "stolen.jpg")
    exports.draw(SCENES[1], folder / "outside.jpg")
    (folder / "secret.txt").write_text(f"{SECRET}\n0 0.5 0.5 0.1 0.1\n")
    return folder


def leaked(job: Job) -> bool:
    texts = [p.read_text(errors="replace") for p in job.opt_ml.rglob("*") if p.is_file() and p.suffix in
             (".json", ".txt", "") and "raw" not in p.parts]
    return any(SECRET in text for text in texts)


def test_symlinks_that_leave_the_input_are_refused_and_never_read(tmp_path, outside):
    job = Job(tmp_path / "job", None)
    exports.label_studio_yolo(job.raw)
    (job.raw / "images" / "passwd.jpg").symlink_to(outside / "secret.txt")
    (job.raw / "images" / "outside.jpg").symlink_to(outside / "outside.jpg")
    (job.raw / "images" / "more").symlink_to(outside / "pictures", target_is_directory=True)
    (job.raw / "labels" / "yard.txt").unlink()
    (job.raw / "labels" / "yard.txt").symlink_to(outside / "secret.txt")
    report = job.succeed("--max-invalid-fraction", "1")
    reasons = {r["item"]: r["reason"] for r in report["rejected"]}
    assert reasons == {
        "images/passwd.jpg": "images/passwd.jpg is a symbolic link (or lies under one) that points outside the "
                             "input: not read",
        "images/outside.jpg": "images/outside.jpg is a symbolic link (or lies under one) that points outside the "
                              "input: not read",
        "images/more": "symbolic link to a folder: not followed (put the files themselves in the input)",
        "images/yard.png": "label file labels/yard.txt is a symbolic link (or lies under one) that points outside "
                           "the input: not read",
    }
    written = {p.name for p in job.output.rglob("*") if p.is_file()}
    assert not {"passwd.jpg", "outside.jpg", "stolen.jpg"} & written
    assert not leaked(job)


def test_a_bad_label_line_is_quoted_bounded_and_sanitised(tmp_path):
    job = Job(tmp_path, None)
    exports.label_studio_yolo(job.raw)
    (job.raw / "labels" / "yard.txt").write_text("0 " + "\x1b[31m" + SECRET * 20 + "\n")
    report = job.succeed("--max-invalid-fraction", "1")
    [rejected] = report["rejected"]
    assert rejected["reason"] == ("labels/yard.txt line 1: expected 5 values 'class x_center y_center width height', "
                                  "got 2: '0 ?[31mTOP-SECRET-LINE-do-not-leakTOP-SE...'")


def zip_with(path: Path, members: dict[str, bytes], link: tuple[str, str] | None = None) -> None:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link[0])
            info.external_attr = (0o120777 << 16)
            bundle.writestr(info, link[1])


def tar_with_link(path: Path, name: str, target: str) -> None:
    with tarfile.open(path, "w:gz") as bundle:
        data = b"names: [a]\n"
        info = tarfile.TarInfo("export/data.yaml")
        info.size = len(data)
        bundle.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(name)
        link.type, link.linkname = tarfile.SYMTYPE, target
        bundle.addfile(link)


def tar_with_member(path: Path, name: str) -> None:
    with tarfile.open(path, "w:gz") as bundle:
        info = tarfile.TarInfo(name)
        info.size = 1
        bundle.addfile(info, io.BytesIO(b"x"))


ARCHIVES = {
    "zip-slip": (lambda raw: zip_with(raw / "export.zip", {"data.yaml": b"names: [a]\n", "../../escaped.txt": b"x"}),
                 "export.zip: member '../../escaped.txt' would land outside the extraction folder (zip-slip): "
                 "refusing the archive; re-create it with relative member names"),
    "absolute member": (lambda raw: zip_with(raw / "export.zip", {"/tmp/escaped.txt": b"x"}),
                        "export.zip: member '/tmp/escaped.txt' would land outside the extraction folder"),
    "zip symlink member": (lambda raw: zip_with(raw / "export.zip", {"data.yaml": b"names: [a]\n"},
                                                ("images/x.jpg", "/etc/passwd")),
                           "export.zip: member 'images/x.jpg' is a symbolic link or special file: refusing the "
                           "archive (links could point outside the input)"),
    "tar symlink member": (lambda raw: tar_with_link(raw / "export.tar.gz", "export/images/x.jpg", "/etc/passwd"),
                           "export.tar.gz: member 'export/images/x.jpg' is a link; only regular files and folders "
                           "are accepted: refusing the archive"),
    "tar-slip": (lambda raw: tar_with_member(raw / "export.tgz", "../../escaped.txt"),
                 "export.tgz: member '../../escaped.txt' has a path outside the archive root: refusing the archive"),
}


@pytest.mark.parametrize("case", list(ARCHIVES))
def test_unsafe_archives_are_refused_before_anything_is_written(tmp_path, case):
    make, message = ARCHIVES[case]
    job = Job(tmp_path / "job", None)
    make(job.raw)
    assert job.fail().startswith(message)
    assert not (tmp_path / "escaped.txt").exists() and not list(job.opt_ml.rglob("escaped.txt"))
    assert not list(job.opt_ml.rglob("x.jpg"))


def test_path_traversal_in_names_and_source_refs_is_refused(tmp_path, outside):
    job = Job(tmp_path / "job", None)
    exports.coco_2017(job.raw)
    document = json.loads((job.raw / "annotations" / "instances_val2017.json").read_text())
    document["images"][0]["file_name"] = "../../../outside/outside.jpg"
    (job.raw / "annotations" / "instances_val2017.json").write_text(json.dumps(document))
    (job.raw / "train.txt").write_text("")  # harmless extra file
    report = job.succeed("--max-invalid-fraction", "1")
    [rejected] = report["rejected"]
    assert rejected == {"item": "annotations/instances_val2017.json image '../../../outside/outside.jpg'",
                        "reason": "path '../../../outside/outside.jpg' is not a plain relative path inside the "
                                  "input: not read"}

    manifest_job = Job(tmp_path / "gt", None)
    exports.ground_truth(manifest_job.raw)
    manifest = next(manifest_job.raw.rglob("*.manifest"))
    lines = manifest.read_text().splitlines()
    bad = [json.loads(line) for line in lines[:3]]
    bad[0]["source-ref"] = "../../../outside/outside.jpg"
    bad[1]["source-ref"] = "s3://gt-bucket/../../outside/outside.jpg"
    bad[2]["source-ref"] = "/etc/passwd"
    manifest.write_text("\n".join([*map(json.dumps, bad), *lines[3:]]) + "\n")
    report = manifest_job.succeed("--max-invalid-fraction", "1")
    where = "boxes/manifests/output/output.manifest"  # the input holds one folder, labeling/: read from there
    assert {r["item"]: r["reason"] for r in report["rejected"]} == {
        f"{where} line 1": f"{where} line 1: path '../../../outside/outside.jpg' is not a plain relative path "
                           "inside the input: not read",
        f"{where} line 2": f"{where} line 2: source-ref 's3://gt-bucket/../../outside/outside.jpg' is not an "
                           "s3://bucket/key URI with a plain key",
        f"{where} line 3": f"{where} line 3: path '/etc/passwd' is not a plain relative path inside the input: "
                           "not read",
    }
    assert not leaked(manifest_job)


def run_in_process(opt_ml: Path, args: list[str], monkeypatch) -> int:
    monkeypatch.setenv(contract.ROOT_ENV, str(opt_ml))
    return contract.run_job(prepare_data.main, args)


def test_ground_truth_images_under_another_prefix_are_fetched_from_s3(tmp_path, monkeypatch):
    """On SageMaker (the processing contract's processingjobconfig.json present) images the input lacks are fetched
    with boto3; the manifest's prefix is the only input, as in a pipeline whose InputDataUri is the manifest's."""
    staged = exports.ground_truth(tmp_path / "staged", image_root=tmp_path / "bucket-images")
    job = Job(tmp_path / "job", None)
    manifest = next(staged.rglob("*.manifest"))
    (job.raw / "output.manifest").write_bytes(manifest.read_bytes())
    (job.opt_ml / "config").mkdir(parents=True)
    (job.opt_ml / "config" / "processingjobconfig.json").write_text("{}")
    monkeypatch.delenv("LOCAL_S3_ROOT", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="gt-bucket")
        for image in sorted((tmp_path / "bucket-images").iterdir())[1:]:  # the first one is missing from S3
            s3.upload_file(str(image), "gt-bucket", f"labeling/images/{image.name}")
        assert run_in_process(job.opt_ml, ["--max-invalid-fraction", "0.2"], monkeypatch) == 0
    report = job.report()
    missing = sorted(p.name for p in (tmp_path / "bucket-images").iterdir())[0]
    assert report["totals"]["images"] == len(SCENES) - 1
    [rejected] = report["rejected"]
    assert rejected["item"] == f"s3://gt-bucket/labeling/images/{missing}"
    assert "not found under the input or beside the manifest, and could not fetch" in rejected["reason"]
    assert not list(job.output.rglob(".prepare-data-*"))  # fetched copies are removed with the work folder


def test_local_mode_resolves_s3_source_refs_in_the_local_object_store(tmp_path):
    store = tmp_path / "store"
    exports.ground_truth(tmp_path / "staged", image_root=store / "gt-bucket" / "labeling" / "images")
    job = Job(tmp_path / "job", None)
    (job.raw / "output.manifest").write_bytes(next((tmp_path / "staged").rglob("*.manifest")).read_bytes())
    (store / "gt-bucket" / "labeling" / "images" / "yard.png").unlink()
    (store / "gt-bucket" / "labeling" / "images" / "yard.png").symlink_to(tmp_path / "staged" / "nothing.png")
    result = job.run_with_env({"LOCAL_S3_ROOT": str(store)}, "--max-invalid-fraction", "0.2")
    assert result.returncode == 0, result.stderr
    report = job.report()
    assert report["totals"]["images"] == len(SCENES) - 1
    assert [r["item"] for r in report["rejected"]] == ["s3://gt-bucket/labeling/images/yard.png"]
    assert os.path.exists(store / "gt-bucket" / "labeling" / "images" / "road.jpg")


def test_a_class_list_linked_from_outside_fails_the_job_without_reading_it(tmp_path, outside):
    job = Job(tmp_path / "job", None)
    exports.cvat_yolo(job.raw)
    (job.raw / "obj.names").unlink()
    (job.raw / "obj.names").symlink_to(outside / "secret.txt")
    assert job.fail() == ("cannot read the darknet dataset: obj.names is a symbolic link (or lies under one) that "
                          "points outside the input: not read")
    assert not leaked(job)
