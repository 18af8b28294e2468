"""Synthetic aerial-style detection scenes, so that every part of the pipeline can run without real data.

Textured ground with vehicles (red rectangles), people (yellow discs) and buildings (blue roofs): distinct enough
that YOLO11n learns them in a few CPU epochs. The same scenes are written in each input format PrepareData accepts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["CLASS_NAMES", "FORMATS", "generate"]

CLASS_NAMES = ("vehicle", "person", "building")
FORMATS = ("yolo", "ground-truth", "coco")
IMAGE_SIZE = 160
LABEL_ATTRIBUTE = "bounding-box"
MANIFEST_NAME = "output.manifest"
COCO_NAME = "annotations.json"
SOURCE_PREFIX = "s3://example-bucket/aerial-sample/"

Box = tuple[int, int, int, int, int]  # class_id, left, top, width, height (pixels)


def generate(out_dir: Path, fmt: str = "yolo", n_images: int = 48, seed: int = 0) -> Path:
    """Write ``n_images`` scenes in format ``fmt`` under ``out_dir`` and return the dataset directory.

    Image ``i`` depends only on ``(seed, i)``, so the output is byte-identical across runs and formats.

    Raises:
        ValueError: ``fmt`` is not one of ``FORMATS`` or ``n_images`` is not positive.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown sample data format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if n_images < 1:
        raise ValueError(f"n_images must be at least 1, got {n_images}")
    out_dir = Path(out_dir)
    image_dir = out_dir / "images" if fmt == "yolo" else out_dir
    image_dir.mkdir(parents=True, exist_ok=True)
    scenes: list[tuple[str, list[Box]]] = []
    for index in range(n_images):
        image, boxes = _scene(np.random.default_rng([seed, index]))
        name = f"scene_{index:04d}.jpg"
        image.save(image_dir / name, quality=92)
        scenes.append((name, boxes))
    {"yolo": _write_yolo, "ground-truth": _write_ground_truth, "coco": _write_coco}[fmt](out_dir, scenes)
    return out_dir


def _scene(rng: np.random.Generator) -> tuple[Image.Image, list[Box]]:
    """One image: ground texture plus 2-5 non-overlapping objects."""
    image = _ground(rng)
    draw = ImageDraw.Draw(image)
    boxes: list[Box] = []
    for _ in range(int(rng.integers(2, 6))):
        for _attempt in range(20):
            box = _place(rng)
            if not any(_overlaps(box, other) for other in boxes):
                boxes.append(box)
                _draw(draw, box, rng)
                break
    return image, boxes


def _ground(rng: np.random.Generator) -> Image.Image:
    """Fields of grass and soil: a low-frequency colour field plus fine grain."""
    base = np.array([[95, 115, 60], [120, 105, 70], [80, 100, 55]], dtype=np.float32)[rng.integers(0, 3)]
    coarse = (rng.normal(0.0, 16.0, size=(6, 6, 1)) + rng.normal(0.0, 5.0, size=(6, 6, 3))).astype(np.float32)
    small = Image.fromarray(np.clip(base + coarse, 0, 255).astype(np.uint8))
    field = np.asarray(small.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC), dtype=np.float32)
    grain = rng.normal(0.0, 6.0, size=(IMAGE_SIZE, IMAGE_SIZE, 1)).astype(np.float32)
    return Image.fromarray(np.clip(field + grain, 0, 255).astype(np.uint8))


def _place(rng: np.random.Generator) -> Box:
    class_id = int(rng.integers(0, len(CLASS_NAMES)))
    if class_id == 0:  # vehicle: an elongated rectangle, either orientation
        long, short = int(rng.integers(24, 34)), int(rng.integers(13, 18))
        width, height = (long, short) if rng.random() < 0.5 else (short, long)
    elif class_id == 1:  # person: a small disc
        width = height = int(rng.integers(14, 20))
    else:  # building: a large square-ish roof
        width, height = int(rng.integers(32, 50)), int(rng.integers(32, 50))
    left = int(rng.integers(0, IMAGE_SIZE - width + 1))
    top = int(rng.integers(0, IMAGE_SIZE - height + 1))
    return class_id, left, top, width, height


def _overlaps(a: Box, b: Box, margin: int = 2) -> bool:
    return not (a[1] + a[3] + margin <= b[1] or b[1] + b[3] + margin <= a[1]
                or a[2] + a[4] + margin <= b[2] or b[2] + b[4] + margin <= a[2])


def _draw(draw: ImageDraw.ImageDraw, box: Box, rng: np.random.Generator) -> None:
    class_id, left, top, width, height = box
    corners = (left, top, left + width - 1, top + height - 1)
    jitter = rng.integers(-20, 21, size=3)
    if class_id == 0:
        red = tuple(int(c) for c in np.clip(np.array([205, 35, 35]) + jitter, 0, 255))
        draw.rectangle(corners, fill=red, outline=(40, 20, 20))
        inset = 4 if width > height else 3
        draw.rectangle((left + inset, top + inset, left + width - 1 - inset, top + height - 1 - inset),
                       fill=(60, 70, 90))  # windscreen-dark cabin
    elif class_id == 1:
        yellow = tuple(int(c) for c in np.clip(np.array([240, 215, 40]) + jitter, 0, 255))
        draw.ellipse(corners, fill=yellow, outline=(90, 70, 10))
    else:
        roof = tuple(int(c) for c in np.clip(np.array([70, 95, 175]) + jitter, 0, 255))
        draw.rectangle(corners, fill=roof, outline=(25, 30, 60), width=2)
        draw.line((left + 2, top + height // 2, left + width - 3, top + height // 2), fill=(45, 60, 120), width=2)


def _write_yolo(out_dir: Path, scenes: list[tuple[str, list[Box]]]) -> None:
    labels = out_dir / "labels"
    labels.mkdir(exist_ok=True)
    for name, boxes in scenes:
        lines = [f"{c} {(x + w / 2) / IMAGE_SIZE:.6f} {(y + h / 2) / IMAGE_SIZE:.6f} "
                 f"{w / IMAGE_SIZE:.6f} {h / IMAGE_SIZE:.6f}" for c, x, y, w, h in boxes]
        (labels / name).with_suffix(".txt").write_text("".join(line + "\n" for line in lines))
    names = "".join(f"  - {name}\n" for name in CLASS_NAMES)
    (out_dir / "data.yaml").write_text(f"# Synthetic aerial sample (pipelines.sample_data)\nnc: {len(CLASS_NAMES)}\n"
                                       f"names:\n{names}")


def _write_ground_truth(out_dir: Path, scenes: list[tuple[str, list[Box]]]) -> None:
    """A Ground Truth bounding-box output manifest; ``source-ref`` keys are resolved by basename beside it."""
    class_map = {str(i): name for i, name in enumerate(CLASS_NAMES)}
    lines = []
    for name, boxes in scenes:
        record = {
            "source-ref": SOURCE_PREFIX + name,
            LABEL_ATTRIBUTE: {
                "image_size": [{"width": IMAGE_SIZE, "height": IMAGE_SIZE, "depth": 3}],
                "annotations": [{"class_id": c, "left": x, "top": y, "width": w, "height": h}
                                for c, x, y, w, h in boxes],
            },
            f"{LABEL_ATTRIBUTE}-metadata": {
                "objects": [{"confidence": 1.0} for _ in boxes],
                "class-map": class_map,
                "type": "groundtruth/object-detection",
                "human-annotated": "yes",
                "creation-date": "2026-01-01T00:00:00.000000",
                "job-name": "labeling-job/aerial-sample",
            },
        }
        lines.append(json.dumps(record))
    (out_dir / MANIFEST_NAME).write_text("\n".join(lines) + "\n")


def _write_coco(out_dir: Path, scenes: list[tuple[str, list[Box]]]) -> None:
    """COCO detection JSON; category ids start at 1 as in COCO itself."""
    images: list[dict] = []
    annotations: list[dict] = []
    for image_id, (name, boxes) in enumerate(scenes, start=1):
        images.append({"id": image_id, "file_name": name, "width": IMAGE_SIZE, "height": IMAGE_SIZE})
        for c, x, y, w, h in boxes:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": c + 1,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
    categories = [{"id": i + 1, "name": name, "supercategory": "aerial"} for i, name in enumerate(CLASS_NAMES)]
    document = {"info": {"description": "Synthetic aerial sample (pipelines.sample_data)"},
                "images": images, "annotations": annotations, "categories": categories}
    (out_dir / COCO_NAME).write_text(json.dumps(document, indent=1) + "\n")
