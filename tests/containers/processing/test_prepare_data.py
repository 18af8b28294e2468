"""PrepareData run as its real entrypoint (a process with its own /opt/ml) on the sample data, good and bad."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.sample_data import CLASS_NAMES
from tests.containers.conftest import REPO
from tests.containers.processing import exports
from tests.containers.processing.exports import Scene
from tests.containers.processing.jobs import SPLITS, Job, labels_of, tree_digest


@pytest.fixture
def job(tmp_path, sample_raw):
    """``job(fmt)``: a fresh job on a copy of the sample data in that format (``None``: an empty input)."""
    made = []

    def make(fmt: str | None = "yolo") -> Job:
        made.append(Job(tmp_path / f"job{len(made)}", sample_raw(fmt) if fmt else None))
        return made[-1]
    return make


@pytest.fixture(scope="module")
def prepared(sample_raw, prepared_splits, tmp_path_factory):
    """The output folder of one successful run per input format (YOLO: the shared ``prepared_splits``)."""
    outputs = {"yolo": prepared_splits}
    for fmt in ("ground-truth", "coco"):
        runner = Job(tmp_path_factory.mktemp(f"prepared-{fmt}"), sample_raw(fmt))
        runner.succeed()
        outputs[fmt] = runner.output
    return outputs


# --- good data -------------------------------------------------------------------------------------------------


def test_yolo_output_layout(prepared):
    output = prepared["yolo"]
    names = set()
    for split in SPLITS:
        assert yaml.safe_load((output / split / "data.yaml").read_text()) == {"nc": 3, "names": list(CLASS_NAMES)}
        images = sorted(p.stem for p in (output / split / "images").iterdir())
        assert images == sorted(p.stem for p in (output / split / "labels").iterdir())
        assert images, f"{split} is empty"
        names.update(images)
    assert len(names) == 48
    assert (output / "report" / "data.yaml").read_text() == (output / "train" / "data.yaml").read_text()


def test_the_three_formats_give_the_same_splits_and_labels(prepared):
    yolo = prepared["yolo"]
    for fmt in ("ground-truth", "coco"):
        assert tree_digest(prepared[fmt] / "train") == tree_digest(yolo / "train")
        for split in ("val", "test"):
            assert tree_digest(prepared[fmt] / split) == tree_digest(yolo / split)
        assert labels_of(prepared[fmt]) == labels_of(yolo)


def test_labels_are_the_source_labels(prepared, sample_raw):
    source = {p.stem: p.read_text() for p in (sample_raw("yolo") / "labels").iterdir()}
    written = {Path(name).stem: text for name, text in labels_of(prepared["yolo"]).items()}
    assert written == source


def test_report_content(prepared):
    report = json.loads((prepared["coco"] / "report" / "data_report.json").read_text())
    assert report["input_format"] == "coco"
    assert report["class_names"] == list(CLASS_NAMES)
    assert report["arguments"] == {"train_ratio": 0.7, "val_ratio": 0.15, "test_ratio": 0.15,
                                   "max_invalid_fraction": 0.05, "resplit": False}
    assert report["split_source"] == "content" and report["split_filled"] == {}
    totals = report["totals"]
    assert totals == {"items": 48, "rejected": 0, "invalid_fraction": 0.0, "unlabeled": 0, "duplicates_dropped": 0,
                      "images": 48, "boxes": totals["boxes"]}
    assert report["rejected"] == [] and report["duplicates"] == []
    assert sum(report["splits"][s]["images"] for s in SPLITS) == 48
    for split in SPLITS:
        files = list((prepared["coco"] / split / "labels").iterdir())
        lines = [line.split()[0] for f in files for line in f.read_text().splitlines()]
        assert report["splits"][split]["images"] == len(files)
        assert report["splits"][split]["boxes"] == len(lines)
        assert report["splits"][split]["per_class"] == {name: lines.count(str(i)) for i, name in enumerate(CLASS_NAMES)}
    for name in CLASS_NAMES:
        counts = report["per_class"][name]
        assert counts["total"] == sum(counts[s] for s in SPLITS) > 0
    assert sum(c["total"] for c in report["per_class"].values()) == totals["boxes"]
    assert report["image_sizes"] == {"width": {"min": 160, "max": 160, "mean": 160},
                                     "height": {"min": 160, "max": 160, "mean": 160}, "formats": {"JPEG": 48}}


def test_runs_are_deterministic_and_leave_the_source_untouched(job):
    first = job("ground-truth")
    source_before = tree_digest(first.raw)
    first.succeed()
    assert tree_digest(first.raw) == source_before
    outputs = tree_digest(first.output)
    (first.output / "train" / "images" / "stale.jpg").write_bytes(b"left over from an earlier run")
    first.succeed()
    assert tree_digest(first.output) == outputs
    second = job("ground-truth")
    second.succeed()
    assert tree_digest(second.output) == outputs
    assert tree_digest(first.raw) == source_before


def test_the_last_line_says_where_the_time_went(job):
    """benchmarks/prepare_data.py reads it: only the decoding phase runs on every worker."""
    out = job().run()
    assert out.returncode == 0, out.stderr
    phases = re.fullmatch(r"PrepareData: done in ([\d.]+) s \(reading ([\d.]+) s, decoding ([\d.]+) s, the rest "
                          r"([\d.]+) s\)", out.stdout.splitlines()[-1])
    assert phases, out.stdout
    total, *parts = map(float, phases.groups())
    assert parts[1] > 0 and abs(sum(parts) - total) < 0.005


def test_nested_yolo_folders_and_relative_ground_truth_paths(job, prepared):
    nested = job("yolo")
    for sub in ("images", "labels"):
        (nested.raw / sub).rename(nested.raw / "part")
        (nested.raw / sub).mkdir()
        (nested.raw / "part").rename(nested.raw / sub / "part1")
    nested.succeed()
    assert tree_digest(nested.output) == tree_digest(prepared["yolo"])

    relative = job("ground-truth")
    (relative.raw / "pictures").mkdir()
    for image in relative.raw.glob("*.jpg"):
        image.rename(relative.raw / "pictures" / image.name)
    manifest = relative.raw / "output.manifest"
    manifest.write_text(manifest.read_text().replace("s3://example-bucket/aerial-sample/", "pictures/"))
    relative.succeed()
    assert tree_digest(relative.output) == tree_digest(prepared["ground-truth"])


# --- bad data: items rejected with their reason, the job still succeeds -------------------------------------------


def append_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line + "\n")


def edit_manifest(raw: Path, index: int, change) -> None:
    manifest = raw / "output.manifest"
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    change(records[index])
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records))


def edit_coco(raw: Path, change) -> None:
    path = raw / "annotations.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def first_annotation(record: dict) -> dict:
    return record["bounding-box"]["annotations"][0]


def gif(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (160, 160), (90, 110, 60)).save(path, format="GIF")


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


REJECTIONS = {
    "corrupt image bytes": (
        "yolo", lambda raw: (raw / "images/scene_0003.jpg").write_bytes(b"\x00\x01 not an image" * 50),
        "images/scene_0003.jpg", "corrupt or truncated image: UnidentifiedImageError"),
    "truncated image": (
        "yolo", lambda raw: truncate(raw / "images/scene_0004.jpg"),
        "images/scene_0004.jpg", "corrupt or truncated image: OSError: image file is truncated"),
    "empty image file": (
        "ground-truth", lambda raw: (raw / "scene_0004.jpg").write_bytes(b""),
        "scene_0004.jpg", r"empty image file \(0 bytes\)"),
    "unsupported format": (
        "yolo", lambda raw: gif(raw / "images/scene_0005.jpg"),
        "images/scene_0005.jpg", "unsupported image format GIF: use one of"),
    "class out of range": (
        "yolo", lambda raw: append_line(raw / "labels/scene_0006.txt", "7 0.5 0.5 0.1 0.1"),
        "images/scene_0006.jpg", r"labels/scene_0006.txt line \d: class id 7 is out of range: the class list names 3"),
    "zero-area box": (
        "yolo", lambda raw: append_line(raw / "labels/scene_0007.txt", "0 0.5 0.5 0 0.1"),
        "images/scene_0007.jpg", "box has zero or negative area"),
    "negative box in Ground Truth": (
        "ground-truth", lambda raw: edit_manifest(raw, 7, lambda r: first_annotation(r).update(width=-12)),
        "scene_0007.jpg", "output.manifest line 8 annotation 0: box has zero or negative area"),
    "coordinates above 1": (
        "yolo", lambda raw: append_line(raw / "labels/scene_0008.txt", "1 1.2 0.5 0.1 0.1"),
        "images/scene_0008.jpg", r"must lie in \[0, 1\], got 1.2 0.5 0.1 0.1"),
    "box beyond the edge": (
        "coco", lambda raw: edit_coco(raw, lambda d: d["annotations"][0].update(bbox=[140, 10, 30, 20])),
        "scene_0000.jpg", "annotations.json annotation 1: box extends outside the image"),
    "malformed label line": (
        "yolo", lambda raw: append_line(raw / "labels/scene_0009.txt", "0 0.5 0.5"),
        "images/scene_0009.jpg", "expected 5 values 'class x_center y_center width height', got 3"),
    "non-numeric label line": (
        "yolo", lambda raw: append_line(raw / "labels/scene_0009.txt", "car 0.5 0.5 0.1 0.1"),
        "images/scene_0009.jpg", "not a class id and 4 numbers"),
    "label without image": (
        "yolo", lambda raw: (raw / "labels/ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n"),
        "labels/ghost.txt", "label file without a matching image"),
    "class id not in the Ground Truth class-map": (
        "ground-truth", lambda raw: edit_manifest(raw, 2, lambda r: first_annotation(r).update(class_id=9)),
        "scene_0002.jpg", r"class id 9 is not in the class-map \(ids 0, 1, 2\)"),
    "Ground Truth image missing": (
        "ground-truth", lambda raw: (raw / "scene_0010.jpg").unlink(),
        "s3://example-bucket/aerial-sample/scene_0010.jpg",
        "image 'scene_0010.jpg' .*not found under the input or beside the manifest, and not fetched"),
    "Ground Truth line not JSON": (
        "ground-truth", lambda raw: append_line(raw / "output.manifest", '{"source-ref": "s3://b/x.jpg"'),
        "output.manifest line 49", "not valid JSON"),
    "Ground Truth image_size wrong": (
        "ground-truth", lambda raw: edit_manifest(raw, 1, lambda r: r["bounding-box"].update(
            image_size=[{"width": 200, "height": 160, "depth": 3}])),
        "scene_0001.jpg", "image_size says 200x160 but the image is 160x160"),
    "unknown COCO category": (
        "coco", lambda raw: edit_coco(raw, lambda d: d["annotations"][3].update(category_id=99)),
        "scene_0000.jpg", r"category_id 99 is not in categories \(ids 1, 2, 3\)"),
    "COCO annotation of an unknown image": (
        "coco", lambda raw: edit_coco(raw, lambda d: d["annotations"].append(
            {"id": 999, "image_id": 4242, "category_id": 1, "bbox": [1, 1, 5, 5]})),
        "annotations.json annotation", "refers to unknown image_id 4242"),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_bad_item_is_rejected_with_its_reason(job, case):
    fmt, mutate, item, reason = REJECTIONS[case]
    runner = job(fmt)
    source = tree_digest(runner.raw)
    mutate(runner.raw)
    mutated = tree_digest(runner.raw)
    assert mutated != source
    report = runner.succeed()
    [rejected] = report["rejected"]
    assert rejected["item"].startswith(item)
    assert re.search(reason, rejected["reason"]), rejected["reason"]
    assert report["totals"]["rejected"] == 1
    written = {p.stem for split in SPLITS for p in (runner.output / split / "images").iterdir()}
    assert Path(item).stem not in written
    assert len(written) == report["totals"]["images"] == report["totals"]["items"] - 1
    assert tree_digest(runner.raw) == mutated


# --- bad data: the job fails with a clear reason ------------------------------------------------------------------


def test_too_many_rejected_items_fail_the_job_after_writing_the_report(job):
    runner = job("yolo")
    for index in range(5):
        (runner.raw / f"images/scene_{index:04d}.jpg").write_bytes(b"broken")
    failure = runner.fail()
    report_path = runner.output / "report" / "data_report.json"
    assert failure.startswith("5 of 48 items rejected (10.4% > data.max_invalid_fraction 5.0%); first: "
                              "images/scene_0000.jpg: corrupt or truncated image: UnidentifiedImageError")
    assert "images/scene_0002.jpg" in failure and "images/scene_0003.jpg" not in failure
    assert failure.endswith(f"every rejected item with its reason: {report_path}")
    report = runner.report()
    assert [r["item"] for r in report["rejected"]] == [f"images/scene_{i:04d}.jpg" for i in range(5)]
    assert not (runner.output / "train").exists()
    tolerant = job("yolo")
    for index in range(5):
        (tolerant.raw / f"images/scene_{index:04d}.jpg").write_bytes(b"broken")
    assert tolerant.succeed("--max-invalid-fraction", "0.2")["totals"]["images"] == 43


def test_empty_input_folder(job):
    assert "empty dataset: the input folder" in job(None).fail()


def test_dataset_without_images(job):
    runner = job("yolo")
    for sub in ("images", "labels"):
        shutil.rmtree(runner.raw / sub)
        (runner.raw / sub).mkdir()
    assert runner.fail() == "empty dataset: the yolo dataset has no images"


def test_unknown_class_name_in_the_class_map(job):
    failure = job("ground-truth").fail("--class-names", "vehicle,person")
    assert failure == ("unknown class name(s) 'building' in the 'bounding-box-metadata' class-map: --class-names "
                       "allows vehicle, person; fix the class map or extend --class-names")


def test_class_names_argument_fixes_the_class_ids(job):
    runner = job("coco")
    report = runner.succeed("--class-names", "building, person ,vehicle")
    assert report["class_names"] == ["building", "person", "vehicle"]
    assert yaml.safe_load((runner.output / "val" / "data.yaml").read_text())["names"] == ["building", "person",
                                                                                           "vehicle"]
    remap = {"0": "2", "1": "1", "2": "0"}
    expected = job("coco")
    expected.succeed()
    for name, text in labels_of(expected.output).items():
        swapped = "".join(remap[line[0]] + line[1:] + "\n" for line in text.splitlines())
        assert (runner.output / name.replace("/", "/labels/", 1)).read_text() == swapped


def test_mixed_up_ground_truth_class_map(job):
    runner = job("ground-truth")
    edit_manifest(runner.raw, 4, lambda r: r["bounding-box-metadata"].update(
        {"class-map": {"0": "person", "1": "vehicle", "2": "building"}}))
    assert runner.fail() == ("mixed-up Ground Truth class-map: class id 0 is 'vehicle' in output.manifest line 1 "
                             "but 'person' in output.manifest line 5; relabel or split manifests made with "
                             "different label sets")


def test_ground_truth_class_with_two_ids(job):
    runner = job("ground-truth")
    edit_manifest(runner.raw, 0, lambda r: r["bounding-box-metadata"]["class-map"].update({"3": "person"}))
    assert "class 'person' has ids 1 and 3" in runner.fail()


def test_class_with_no_examples(job):
    runner = job("yolo")
    (runner.raw / "data.yaml").write_text("names: [vehicle, person, building, tree]\n")
    assert runner.fail() == ("class(es) 'tree' have no examples in the 48 usable images: label some, or remove "
                             "them from data.yaml")


def test_too_few_images_say_how_many_are_needed(job):
    runner = job("yolo")
    labels = {p.stem: {line.split()[0] for line in p.read_text().splitlines()}
              for p in sorted((runner.raw / "labels").iterdir())}
    pair = next((a, b) for a in labels for b in labels if a < b and labels[a] | labels[b] == {"0", "1", "2"})
    for stem in labels:
        if stem not in pair:
            (runner.raw / "images" / f"{stem}.jpg").unlink()
            (runner.raw / "labels" / f"{stem}.txt").unlink()
    assert runner.fail() == ("too few images to split: 2 usable image(s), PrepareData needs at least 3 (one each for "
                             "train, val and test); add images")
    shutil.copy(runner.raw / "images" / f"{pair[0]}.jpg", runner.raw / "images" / "flipped.jpg")
    from PIL import Image

    with Image.open(runner.raw / "images" / "flipped.jpg") as image:
        image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(runner.raw / "images" / "flipped.jpg")
    report = runner.succeed()
    assert [report["splits"][s]["images"] for s in SPLITS] == [1, 1, 1]


def test_duplicate_images_are_dropped_and_reported(job):
    runner = job("yolo")
    shutil.copyfile(runner.raw / "images/scene_0001.jpg", runner.raw / "images/copy_a.jpg")
    shutil.copyfile(runner.raw / "labels/scene_0001.txt", runner.raw / "labels/copy_a.txt")
    shutil.copyfile(runner.raw / "images/scene_0002.jpg", runner.raw / "images/copy_b.jpg")
    (runner.raw / "labels/copy_b.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    report = runner.succeed()
    assert report["totals"]["duplicates_dropped"] == 2 and report["totals"]["images"] == 48
    assert sorted((d["kept"], d["dropped"], d["same_labels"]) for d in report["duplicates"]) == [
        ("images/copy_a.jpg", ["images/scene_0001.jpg"], True),
        ("images/copy_b.jpg", ["images/scene_0002.jpg"], False),
    ]
    digest = hashlib.sha256((runner.raw / "images/scene_0001.jpg").read_bytes()).hexdigest()
    copies = [p for p in runner.output.rglob("*.jpg") if hashlib.sha256(p.read_bytes()).hexdigest() == digest]
    assert [p.relative_to(runner.output).parts[1:] for p in copies] == [("images", "copy_a.jpg")]


def test_placing_while_workers_decode_ends_where_one_process_ends(tmp_path):
    """With worker processes, PrepareData places each image as its result arrives, under the split and name it most
    likely keeps (placement.py); settling must give exactly the output of one process, which places after
    decoding, in each case where the final decision differs: an empty split filled, duplicates that share a stem
    (the copy placed first is the one dropped), and a stem left to one image once the other was rejected."""
    scenes = [Scene(f"img_{i:03d}.jpg", "val" if i % 5 == 0 else "train", (32, 32),
                    ((i % 2, 1 + i % 5, 3, 8 + i % 17, 12),)) for i in range(130)]  # two chunks of 64 and more

    def run(workers: str, *args: str) -> Job:
        runner = Job(tmp_path / f"workers-{workers}{''.join(args)}", None)
        exports.ultralytics_yolo(runner.raw, scenes)  # train and val, no test: test is filled from train
        images, labels = runner.raw / "images" / "train", runner.raw / "labels" / "train"
        for folder in ("a", "a-dup"):  # Path order walks a/ first; de-duplication keeps a-dup/ (first by name)
            exports.draw(Scene("dup.jpg", "train", (40, 40), ((0, 1, 1, 20, 20),)), images / folder / "dup.jpg")
            (labels / folder).mkdir()
            (labels / folder / "dup.txt").write_text("0 0.275 0.275 0.5 0.5\n")
        (images / "img_002.png").write_bytes(b"not an image")  # rejected: img_002.jpg keeps its plain name
        result = runner.run("--workers", workers, *args)
        assert result.returncode == (1 if args else 0), result.stderr
        return runner

    single, parallel = run("1"), run("2")
    assert tree_digest(parallel.output) == tree_digest(single.output)
    report = parallel.report()
    assert report["totals"]["rejected"] == 1 and report["totals"]["duplicates_dropped"] == 1
    assert report["split_filled"]["test"]["from"] == "train"
    assert [d["kept"] for d in report["duplicates"]] == ["images/train/a-dup/dup.jpg"]
    names = {p.name for split in SPLITS for p in (parallel.output / split / "images").iterdir()}
    assert {"dup.jpg", "img_002.jpg"} <= names and len(names) == report["totals"]["images"] == 131
    failed = run("2", "--max-invalid-fraction", "0")  # fails after placing: no half-filled split is left
    assert not any((failed.output / split).exists() for split in SPLITS)


@pytest.mark.parametrize(("args", "message"), [
    (["--train-ratio", "0.9", "--val-ratio", "0.1"],
     "data.train_ratio 0.9 + data.val_ratio 0.1 leave nothing for the test split: their sum must be below 1"),
    (["--train-ratio", "1.5"], "data.train_ratio must be between 0 and 1 (exclusive), got 1.5: "
                               "--set data.train_ratio=0.8"),
    (["--val-ratio", "0"], "data.val_ratio must be between 0 and 1 (exclusive), got 0.0"),
    (["--max-invalid-fraction", "-1"], "data.max_invalid_fraction must be between 0 and 1, got -1.0"),
    (["--resplit", "maybe"], "invalid arguments: argument --resplit: invalid choice: 'maybe'"),
    (["--workers", "-2"], "--workers must be 0 (every core) or more, got -2"),
    (["--train-ratio", "most"], "invalid arguments: argument --train-ratio: invalid float value: 'most'"),
    (["--bogus"], "invalid arguments: unrecognized arguments: --bogus"),
    (["--input-format", "voc"], "invalid arguments: argument --input-format: invalid choice: 'voc'"),
    (["--class-names", "car,,truck"], "--class-names has an invalid class name ''"),
])
def test_bad_arguments(job, args, message):
    assert job("yolo").fail(*args).startswith(message)


def test_two_formats_in_one_input_need_input_format(job, sample_raw):
    runner = job("yolo")
    shutil.copy(sample_raw("ground-truth") / "output.manifest", runner.raw)
    assert runner.fail() == ("the input holds more than one dataset format (yolo, ground-truth): keep one dataset "
                             "in the input (InputDataUri)")
    assert runner.succeed("--input-format", "yolo")["input_format"] == "yolo"


def test_ground_truth_chained_job_uses_the_newest_label_attribute(job):
    runner = job("ground-truth")

    def adjust(record):
        adjusted = json.loads(json.dumps(record["bounding-box"]))
        adjusted["annotations"][0]["left"] += 1
        record["adjusted"] = adjusted
        record["adjusted-metadata"] = {**record["bounding-box-metadata"], "creation-date": "2026-02-01T00:00:00.000000"}
    for index in range(48):
        edit_manifest(runner.raw, index, adjust)
    report = runner.succeed()
    assert report["label_attribute"] == {
        "chosen": "adjusted", "chosen_by": "the newest creation-date; set data.label_attribute to choose",
        "found": {"adjusted": "2026-02-01T00:00:00.000000", "bounding-box": "2026-01-01T00:00:00.000000"}}
    chained = labels_of(runner.output)
    original = job("ground-truth")
    for index in range(48):
        edit_manifest(original.raw, index, adjust)
    assert original.succeed("--label-attribute", "bounding-box")["label_attribute"]["chosen_by"] == \
        "data.label_attribute"
    assert labels_of(original.output) != chained
    assert job("ground-truth").fail("--label-attribute", "nope") == \
        "label attribute 'nope' (data.label_attribute) is not in the manifest, which has bounding-box"


def test_ground_truth_failed_labeling_lines_are_unlabeled_not_invalid(job):
    runner = job("ground-truth")

    def fail(record):
        del record["bounding-box"]
        record["bounding-box-metadata"] = {"failure-reason": "ClientError: worker response timed out",
                                           "job-name": "labeling-job/aerial-sample"}
    for index in (3, 5):
        edit_manifest(runner.raw, index, fail)
    report = runner.succeed("--max-invalid-fraction", "0")
    assert report["totals"]["rejected"] == 0 and report["totals"]["unlabeled"] == 2
    assert report["totals"]["items"] == report["totals"]["images"] == 46
    assert report["unlabeled"] == [
        {"item": f"output.manifest line {n}", "reason": "labeling failed: 'ClientError: worker response timed out'"}
        for n in (4, 6)]


def test_ground_truth_manifest_without_label_attribute(job):
    runner = job("ground-truth")
    manifest = runner.raw / "output.manifest"
    manifest.write_text("".join(json.dumps({"source-ref": json.loads(line)["source-ref"]}) + "\n"
                                for line in manifest.read_text().splitlines()))
    assert runner.fail().startswith("no bounding-box label attribute in the manifest: no key holds 'annotations' "
                                    "next to its '<attribute>-metadata' (the lines hold 'source-ref')")


def test_coco_with_a_repeated_category_name(job):
    runner = job("coco")
    edit_coco(runner.raw, lambda d: d["categories"].append({"id": 4, "name": "person"}))
    assert runner.fail() == ("annotations.json categories lists class name(s) person more than once: "
                             "names must be unique")


def _can_mount() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-rm", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _can_mount(),
                    reason="needs Linux mount namespaces (unshare -rm) to give each output its own filesystem")
def test_each_output_on_a_filesystem_of_its_own(job):
    """SageMaker Processing may mount every output's LocalPath separately: a rename into it fails with EXDEV."""
    runner = job("yolo")
    mounts = " && ".join(f'mkdir -p "$OUT/{name}" && mount -t tmpfs tmpfs "$OUT/{name}"'
                         for name in (*SPLITS, "report"))
    script = f'{mounts} && "$PYTHON" -m containers.processing.prepare_data && ls "$OUT/train/images" | wc -l'
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OUT": str(runner.output), "PYTHON": sys.executable,
                                            "OPT_ML_ROOT": str(runner.opt_ml), "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.split()[-1]) > 0
