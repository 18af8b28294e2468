"""An Ultralytics / Roboflow YOLO dataset: a ``data.yaml`` with ``names`` and, usually, ``train``/``val``/``test``.

Split entries are image folders or list files (``train.txt``, CVAT's Ultralytics export), or lists of them, relative
to ``path`` (itself relative to the yaml) or to the yaml; Roboflow writes ``../train/images`` meaning ``train/images``
beside the yaml, which Ultralytics also accepts (``check_det_dataset`` retries without the leading ``../``). Without
split entries the dataset is ``images/`` (any depth) with ``labels/`` mirroring it. Reference:
https://docs.ultralytics.com/datasets/detect/
"""

from __future__ import annotations

from pathlib import Path

import yaml

from containers.common.contract import JobFailure
from containers.processing.dataset import Item, RawDataset
from containers.processing.labels import check_class_names
from containers.processing.readers import yolo_files
from containers.processing.safepath import InputRoot, OutsideInput, excerpt

SPLIT_KEYS = {"train": "train", "val": "val", "test": "test"}


def data_yaml(raw: Path) -> Path | None:
    """The dataset's YAML at the top of ``raw``: the one that defines ``names``."""
    found = [p for p in sorted([*raw.glob("*.yaml"), *raw.glob("*.yml")])
             if InputRoot(raw).exists(p) and _has_names(p)]
    if len(found) > 1:
        raise JobFailure(f"several YAML files define 'names' ({', '.join(p.name for p in found)}): keep one data.yaml")
    return found[0] if found else None


def split_entries(config: Path) -> dict[str, list[str]]:
    """The ``train``/``val``/``test`` entries of a data.yaml, each as a list of strings."""
    document = yaml.safe_load(config.read_text())
    entries = {}
    for key, split in SPLIT_KEYS.items():
        value = document.get(key)
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            entries[split] = value
    return entries


def read(src: InputRoot) -> RawDataset:
    """Read the images of every split the data.yaml names (or of ``images/``) with their label files.

    Raises:
        JobFailure: no data.yaml with names, an unusable class list, or none of the split paths exists.
    """
    raw = src.root
    config = data_yaml(raw)
    if config is None:
        raise JobFailure(f"no data.yaml with 'names' in {raw}: a YOLO dataset needs one (names: [class0, class1, ...])")
    names = _class_names(config)
    entries = split_entries(config)
    items: list[Item] = []
    labels: set[str] = set()
    missing: list[str] = []
    if not entries:
        if not (raw / "images").is_dir():
            raise JobFailure(f"no images/ folder in {raw} and no train/val paths in {config.name}: a YOLO dataset "
                             "keeps images in images/ and labels in labels/, or names its split folders in data.yaml")
        items, _ = yolo_files.folder_items(src, raw / "images", names, None)
        if (raw / "labels").is_dir():
            labels = yolo_files.label_files(src.walk(raw / "labels")[0])
    for split, values in entries.items():
        for value in values:
            found = _split_source(src, config, value)
            if found is None:
                missing.append(f"{split}: {excerpt(value)}")
                continue
            if found.is_dir():
                new, _ = yolo_files.folder_items(src, found, names, split)
                label_dir = _labels_of(found)
                if label_dir is not None:
                    labels |= yolo_files.label_files(src.walk(label_dir)[0])
            else:
                images, problems = yolo_files.listed_images(src, found, [src.root, found.parent])
                new = [*yolo_files.image_items(src, images, names, split), *problems]
            items.extend(new)
    if entries and len(missing) == sum(len(v) for v in entries.values()):
        raise JobFailure(f"{config.name} names split paths that are not in the input ({'; '.join(missing)}): "
                         "fix train/val/test (relative to 'path' or to the yaml), or put the folders beside it")
    items.extend(yolo_files.orphan_labels(src, labels, items))
    dataset = RawDataset("yolo", names, items, config.name)
    if missing:
        dataset.notes["missing_split_paths"] = missing
    return dataset


def _split_source(src: InputRoot, config: Path, value: str) -> Path | None:
    """The folder or list file a split entry names, inside the input; None when it is not there."""
    document = yaml.safe_load(config.read_text())
    bases = [config.parent]
    root = document.get("path")
    if isinstance(root, str) and root:
        try:
            based = src.join(config.parent, root)
            if based.resolve().is_relative_to(src.real):
                bases.insert(0, based)
        except OutsideInput:
            pass  # an absolute 'path' from the exporting machine: the yaml's own folder stands in for it
    variants = [value, value[3:]] if value.startswith("../") else [value]
    for variant in variants:
        for base in bases:
            try:
                candidate = src.join(base, variant.removeprefix("./"))
            except OutsideInput:
                continue
            if candidate.is_dir() and candidate.resolve().is_relative_to(src.real):
                return candidate
            if candidate.suffix == ".txt" and src.exists(candidate):
                return candidate
    return None


def _labels_of(images: Path) -> Path | None:
    parts = images.parts
    if "images" not in parts:
        return None
    index = len(parts) - 1 - parts[::-1].index("images")
    labels = Path(*parts[:index], "labels", *parts[index + 1:])
    return labels if labels.is_dir() else None


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
            raise JobFailure(f"{config.name}: 'names' keys must be class ids 0..n-1, got {list(names)[:10]}") from None
        if ids != list(range(len(ids))):
            raise JobFailure(f"{config.name}: 'names' ids must run 0..{len(ids) - 1} without gaps, got {ids[:10]}")
        names = [names.get(i, names.get(str(i))) for i in ids]
    if not isinstance(names, list):
        raise JobFailure(f"{config.name}: 'names' must be a list of class names, got {type(names).__name__}")
    return check_class_names(names, config.name)
