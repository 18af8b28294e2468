"""PrepareData on the exports labeling tools write (tests/containers/processing/exports.py): every image and box
accounted for, the export's own splits kept, coordinates exact."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.containers.processing import exports
from tests.containers.processing.exports import NAMES, SCENES, Scene
from tests.containers.processing.jobs import SPLITS, Job

# layout -> (builder, input_format, how the splits are kept: "export" or "content", splits the export lacks)
LAYOUTS = {
    "Roboflow YOLOv8": (exports.roboflow_yolo, "yolo", "export", set()),
    "Ultralytics, names dict, no test split": (exports.ultralytics_yolo, "yolo", "export", {"test"}),
    "Label Studio YOLO": (exports.label_studio_yolo, "darknet", "content", set()),
    "CVAT YOLO 1.1": (exports.cvat_yolo, "darknet", "export", {"test"}),
    "COCO 2017": (exports.coco_2017, "coco", "export", {"test"}),
    "CVAT COCO 1.0, images in ../images": (exports.cvat_coco, "coco", "content", set()),
    "Roboflow COCO": (exports.roboflow_coco, "coco", "export", set()),
    "Ground Truth, images synced with their keys": (exports.ground_truth, "ground-truth", "content", set()),
}


def expected(scenes: list[Scene], source: str, missing: set[str]) -> dict[str, str]:
    """Image stem -> label text of every scene the export holds."""
    held = [s for s in scenes if not (missing and s.split in missing)]
    return {Path(s.name).stem: "".join(line + "\n" for line in s.yolo_lines()) for s in held}


def written(job: Job) -> dict[str, tuple[str, str]]:
    """Image stem -> (split, label text) of the output."""
    out = {}
    for split in SPLITS:
        images = sorted((job.output / split / "images").iterdir())
        assert sorted(p.stem for p in images) == sorted(p.stem for p in (job.output / split / "labels").iterdir())
        for image in images:
            out[image.stem] = (split, (job.output / split / "labels" / f"{image.stem}.txt").read_text())
    return out


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_export_layout(tmp_path, layout):
    build, fmt, source, missing = LAYOUTS[layout]
    job = Job(tmp_path, None)
    build(job.raw)
    report = job.succeed()
    assert report["input_format"] == fmt
    assert report["class_names"] == NAMES
    want = expected(SCENES, source, missing)
    got = written(job)
    assert {stem: text for stem, (_, text) in got.items()} == want  # every image, every box, exact coordinates
    assert report["totals"]["items"] == report["totals"]["images"] == len(want)
    assert report["rejected"] == [] and report["totals"]["boxes"] == sum(len(t.splitlines()) for t in want.values())
    assert report["split_source"] == source
    if source == "export":
        moved = {stem for stem, (split, _) in got.items()
                 if split != next(s.split for s in SCENES if Path(s.name).stem == stem)}
        assert set(report["split_filled"]) == missing
        assert len(moved) == sum(fill["images"] for fill in report["split_filled"].values())
        assert all(got[stem][0] in missing for stem in moved)  # only the missing split was filled
    assert all(report["splits"][split]["images"] for split in SPLITS)


def test_single_class_roboflow_coco_does_not_make_its_supercategory_a_class(tmp_path):
    job = Job(tmp_path, None)
    scenes = [Scene(s.name, s.split, s.size, tuple(b for b in s.boxes if b[0] == 0)) for s in SCENES]
    exports.roboflow_coco(job.raw, scenes, names=["car"])
    report = job.succeed()
    assert report["class_names"] == ["car"] and report["totals"]["boxes"] == sum(len(s.boxes) for s in scenes)


def test_resplit_ignores_the_export_splits(tmp_path):
    job = Job(tmp_path, None)
    exports.roboflow_yolo(job.raw)
    report = job.succeed("--resplit", "true")
    assert report["split_source"] == "content" and report["arguments"]["resplit"] is True
    assert report["totals"]["images"] == len(SCENES)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_export_downloaded_as_one_archive(tmp_path, kind):
    export = exports.roboflow_yolo(tmp_path / "export" / "my-dataset.v1i.yolov8")
    job = Job(tmp_path / "job", None)
    if kind == "zip":
        with zipfile.ZipFile(job.raw / "dataset.zip", "w") as bundle:
            for path in sorted(export.rglob("*")):
                bundle.write(path, path.relative_to(export.parent).as_posix())
    else:
        with tarfile.open(job.raw / "dataset.tar.gz", "w:gz") as bundle:
            bundle.add(export, arcname=export.name)
    report = job.succeed()
    assert report["archive"] == f"dataset.{kind}" and report["split_source"] == "export"
    assert report["totals"]["images"] == len(SCENES) and report["rejected"] == []


def files(**contents: bytes):
    """A mutation that writes ``contents`` (relative path -> bytes) into the input."""
    def write(raw: Path) -> None:
        for name, data in contents.items():
            (raw / name).parent.mkdir(parents=True, exist_ok=True)
            (raw / name).write_bytes(data)
    return write


NOT_RECOGNISED = {
    "data.yaml with missing paths": (
        files(**{"data.yaml": b"train: ../train/images\nval: ../valid/images\nnames: [a]\n"}),
        "data.yaml names split paths that are not in the input (train: '../train/images'; val: '../valid/images')"),
    "a JSON one folder down": (
        files(**{"export/labels.json": b'{"items": []}', "README.md": b"my export"}),
        "'export/labels.json' (JSON without COCO's images/annotations/categories)"),
    "a zip beside other files": (
        files(**{"export.zip": b"PK", "README.md": b"my export"}),
        "'export.zip' (an archive: it is extracted only when it is the input's only file)"),
}


@pytest.mark.parametrize("case", list(NOT_RECOGNISED))
def test_an_unrecognised_input_says_what_it_holds(tmp_path, case):
    make, message = NOT_RECOGNISED[case]
    job = Job(tmp_path, None)
    make(job.raw)
    assert message in job.fail()


def flat_darknet(root: Path) -> Path:
    """A Darknet folder with everything at the top: images, their label files beside them, classes.txt."""
    for scene in SCENES:
        exports.draw(scene, root / scene.name)
        exports.write_label(scene, root / Path(scene.name).with_suffix(".txt"))
    (root / "classes.txt").write_text("".join(f"{n}\n" for n in NAMES))
    return root


@pytest.mark.parametrize(("build", "ghost"), [
    (exports.label_studio_yolo, "labels/ghost.txt"),
    (exports.ultralytics_yolo, "labels/train/ghost.txt"),
    (exports.roboflow_yolo, "valid/labels/ghost.txt"),
    (flat_darknet, "ghost.txt"),
])
def test_a_label_file_without_its_image_is_rejected_and_nothing_else(tmp_path, build, ghost):
    """Label files are matched to images as path strings: the unmatched one is rejected, and neither a matched label
    nor the class list (classes.txt beside the labels) is."""
    job = Job(tmp_path, None)
    build(job.raw)
    (job.raw / ghost).write_text("0 0.5 0.5 0.1 0.1\n")
    report = job.succeed("--max-invalid-fraction", "0.5")
    assert report["rejected"] == [{"item": ghost, "reason": "label file without a matching image"}]
    assert report["totals"]["images"] == len(written(job)) == report["totals"]["items"] - 1
