"""A YOLO dataset folder: ``images/`` (any depth), ``labels/`` mirroring it, and a ``data.yaml`` with ``names``.

An image without a label file is a background image (no objects), as in Ultralytics; a label file without an
image is rejected.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import yaml

from containers.common.contract import JobFailure
from containers.processing.dataset import Item, RawDataset, load_item
from containers.processing.images import ImageInfo
from containers.processing.labels import Box, LabelError, check_class_names, yolo_box


def data_yaml(raw: Path) -> Path | None:
    """The dataset's YAML at the top of ``raw``: the one that defines ``names``."""
    found = [p for p in sorted([*raw.glob("*.yaml"), *raw.glob("*.yml")]) if _has_names(p)]
    if len(found) > 1:
        raise JobFailure(f"several YAML files define 'names' ({', '.join(p.name for p in found)}): keep one data.yaml")
    return found[0] if found else None


def read(raw: Path) -> RawDataset:
    """Read every image under ``raw/images`` with its label file.

    Raises:
        JobFailure: no data.yaml with names, no images folder, or an unusable class list.
    """
    config = data_yaml(raw)
    if config is None:
        raise JobFailure(f"no data.yaml with 'names' in {raw}: a YOLO dataset needs one (names: [class0, class1, ...])")
    names = _class_names(config)
    image_dir, label_dir = raw / "images", raw / "labels"
    if not image_dir.is_dir():
        raise JobFailure(f"no images/ folder in {raw}: a YOLO dataset keeps images in images/ and labels in labels/")
    images = sorted(p for p in image_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
    items = []
    for image in images:
        label = label_dir / image.relative_to(image_dir).with_suffix(".txt")
        items.append(load_item(image.relative_to(raw).as_posix(), image, partial(_parse, label, raw, names)))
    image_stems = {image.relative_to(image_dir).with_suffix("") for image in images}
    for label in sorted(label_dir.rglob("*.txt")) if label_dir.is_dir() else []:
        if label.relative_to(label_dir).with_suffix("") not in image_stems:
            items.append(Item(label.relative_to(raw).as_posix(), problem="label file without a matching image"))
    return RawDataset("yolo", names, items, config.name)


def _has_names(path: Path) -> bool:
    try:
        content = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError):
        return False
    return isinstance(content, dict) and "names" in content


def _class_names(config: Path) -> list[str]:
    """``names`` as a list, or as a mapping {0: name, 1: name, ...} (both are Ultralytics forms)."""
    names = yaml.safe_load(config.read_text())["names"]
    if isinstance(names, dict):
        try:
            ids = sorted(int(key) for key in names)
        except (TypeError, ValueError):
            raise JobFailure(f"{config.name}: 'names' keys must be class ids 0..n-1, got {list(names)}") from None
        if ids != list(range(len(ids))):
            raise JobFailure(f"{config.name}: 'names' ids must run 0..{len(ids) - 1} without gaps, got {ids}")
        names = [names.get(i, names.get(str(i))) for i in ids]
    if not isinstance(names, list):
        raise JobFailure(f"{config.name}: 'names' must be a list of class names, got {type(names).__name__}")
    return check_class_names(names, config.name)


def _parse(label: Path, raw: Path, names: list[str], info: ImageInfo) -> list[Box]:
    """The boxes of one YOLO label file (``class x_center y_center width height`` per line, normalized)."""
    if not label.exists():
        return []
    where = label.relative_to(raw).as_posix()
    try:
        text = label.read_text()
    except UnicodeDecodeError:
        raise LabelError(f"{where}: not a text file") from None
    boxes = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 5:
            raise LabelError(f"{where} line {number}: expected 5 values 'class x_center y_center width height', "
                             f"got {len(fields)}: {line.strip()!r}")
        try:
            class_id, *coords = int(fields[0]), *map(float, fields[1:])
        except ValueError:
            raise LabelError(f"{where} line {number}: not a class id and 4 numbers: {line.strip()!r}") from None
        if not 0 <= class_id < len(names):
            raise LabelError(f"{where} line {number}: class id {class_id} is out of range: "
                             f"data.yaml names {len(names)} classes (ids 0-{len(names) - 1})")
        try:
            boxes.append(yolo_box(names[class_id], *coords))
        except LabelError as exc:
            raise LabelError(f"{where} line {number}: {exc}") from None
    return boxes
