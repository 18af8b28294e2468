"""The synthetic sample data: deterministic, the same scenes in every format, fast enough for fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from pipelines.sample_data import CLASS_NAMES, FORMATS, generate


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generate_is_deterministic(tmp_path):
    first = tree_bytes(generate(tmp_path / "a", n_images=6, seed=3))
    assert first == tree_bytes(generate(tmp_path / "b", n_images=6, seed=3))
    assert first != tree_bytes(generate(tmp_path / "c", n_images=6, seed=4))


def test_image_i_does_not_depend_on_the_dataset_size(tmp_path):
    small, large = generate(tmp_path / "small", n_images=2), generate(tmp_path / "large", n_images=5)
    for name in ("images/scene_0001.jpg", "labels/scene_0001.txt"):
        assert (small / name).read_bytes() == (large / name).read_bytes()


def test_yolo_layout(tmp_path):
    root = generate(tmp_path, fmt="yolo", n_images=4)
    assert yaml.safe_load((root / "data.yaml").read_text())["names"] == list(CLASS_NAMES)
    images = sorted((root / "images").iterdir())
    assert [p.name for p in images] == [f"scene_{i:04d}.jpg" for i in range(4)]
    for image in images:
        with Image.open(image) as opened:
            assert opened.format == "JPEG" and opened.size == (160, 160)
        lines = (root / "labels" / f"{image.stem}.txt").read_text().splitlines()
        assert 2 <= len(lines) <= 5
        for line in lines:
            class_id, *coords = line.split()
            assert int(class_id) in range(len(CLASS_NAMES))
            assert all(0 < float(v) <= 1 for v in coords)


def _yolo_boxes(root: Path) -> dict[str, list[tuple]]:
    return {p.stem: sorted(tuple(round(float(v), 6) for v in line.split()) for line in p.read_text().splitlines())
            for p in (root / "labels").iterdir()}


def test_all_formats_hold_the_same_scenes(tmp_path):
    yolo = generate(tmp_path / "yolo", fmt="yolo", n_images=5)
    expected = _yolo_boxes(yolo)

    ground_truth = generate(tmp_path / "gt", fmt="ground-truth", n_images=5)
    records = [json.loads(line) for line in (ground_truth / "output.manifest").read_text().splitlines()]
    assert len(records) == 5
    from_manifest = {}
    for record in records:
        name = record["source-ref"].rsplit("/", 1)[1]
        assert (ground_truth / name).read_bytes() == (yolo / "images" / name).read_bytes()
        assert record["bounding-box-metadata"]["class-map"] == {str(i): n for i, n in enumerate(CLASS_NAMES)}
        assert record["bounding-box"]["image_size"] == [{"width": 160, "height": 160, "depth": 3}]
        from_manifest[Path(name).stem] = sorted(
            (a["class_id"], round((a["left"] + a["width"] / 2) / 160, 6), round((a["top"] + a["height"] / 2) / 160, 6),
             round(a["width"] / 160, 6), round(a["height"] / 160, 6)) for a in record["bounding-box"]["annotations"])
    assert from_manifest == expected

    coco = generate(tmp_path / "coco", fmt="coco", n_images=5)
    document = json.loads((coco / "annotations.json").read_text())
    assert [c["name"] for c in sorted(document["categories"], key=lambda c: c["id"])] == list(CLASS_NAMES)
    files = {image["id"]: Path(image["file_name"]).stem for image in document["images"]}
    from_coco: dict[str, list] = {stem: [] for stem in files.values()}
    for a in document["annotations"]:
        x, y, w, h = a["bbox"]
        from_coco[files[a["image_id"]]].append((a["category_id"] - 1, round((x + w / 2) / 160, 6),
                                                round((y + h / 2) / 160, 6), round(w / 160, 6), round(h / 160, 6)))
    assert {stem: sorted(boxes) for stem, boxes in from_coco.items()} == expected


def test_every_class_appears_in_the_default_sample(tmp_path):
    boxes = [box for boxes in _yolo_boxes(generate(tmp_path)).values() for box in boxes]
    counts = {int(box[0]): 0 for box in boxes}
    for box in boxes:
        counts[int(box[0])] += 1
    assert sorted(counts) == [0, 1, 2] and min(counts.values()) >= 20


def test_unknown_format_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown sample data format 'voc'.*yolo, ground-truth, coco"):
        generate(tmp_path, fmt="voc")
    assert FORMATS == ("yolo", "ground-truth", "coco")
