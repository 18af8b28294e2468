"""Darknet-style YOLO exports: Label Studio "YOLO" and CVAT "YOLO 1.1".

- Label Studio: ``classes.txt`` (one name a line), ``images/``, ``labels/`` (``notes.json`` beside them).
- CVAT YOLO 1.1: ``obj.names``, ``obj.data`` (``train = data/train.txt``, optional ``valid = data/valid.txt``),
  the list files, and ``obj_<subset>_data/`` holding each image with its ``.txt`` beside it. List and config
  entries may carry Darknet's ``data/`` prefix. Reference: https://docs.cvat.ai/docs/dataset_management/formats/format-yolo/
Without list files every image under the input is read.
"""

from __future__ import annotations

from pathlib import Path

from containers.common.contract import JobFailure
from containers.processing.dataset import Item, RawDataset
from containers.processing.labels import check_class_names
from containers.processing.readers import yolo_files
from containers.processing.safepath import InputRoot, OutsideInput

NAME_FILES = ("obj.names", "classes.txt")
LIST_KEYS = {"train": "train", "valid": "val", "val": "val", "test": "test"}


def names_file(raw: Path) -> Path | None:
    """The class list at the top of ``raw``."""
    return next((raw / name for name in NAME_FILES if (raw / name).is_file()), None)


def read(src: InputRoot) -> RawDataset:
    """Read the images of each list file (or every image) with their labels.

    Raises:
        JobFailure: no class list, an unusable one, or obj.data names a list that is not in the input.
    """
    raw = src.root
    names_path = names_file(raw)
    if names_path is None:
        raise JobFailure(f"no obj.names or classes.txt in {raw}: a Darknet/Label Studio/CVAT YOLO export has one")
    names_path = src.file(names_path)
    names = check_class_names([line.strip() for line in names_path.read_text().splitlines() if line.strip()],
                              names_path.name)
    items: list[Item] = []
    labels: set[str] = set()
    lists = _list_files(src)
    for split, list_file in lists.items():
        images, problems = yolo_files.listed_images(src, list_file, [raw, list_file.parent])
        items.extend([*yolo_files.image_items(src, images, names, split), *problems])
    if not lists:
        top = raw / "images" if (raw / "images").is_dir() else raw
        found, labels = yolo_files.folder_items(src, top, names, None)
        items.extend(found)
        if (raw / "labels").is_dir():
            labels |= yolo_files.label_files(src.walk(raw / "labels")[0])
        labels.discard(str(names_path))
    items.extend(yolo_files.orphan_labels(src, labels, items))
    return RawDataset("darknet", names, items, names_path.name)


def _list_files(src: InputRoot) -> dict[str, Path]:
    """Split -> list file: from obj.data's train/valid/test keys, else ``train.txt``/``valid.txt``/``test.txt``."""
    raw = src.root
    config = raw / "obj.data"
    entries: dict[str, str] = {}
    if config.is_file():
        for line in src.file(config).read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() in LIST_KEYS and value.strip():
                entries[LIST_KEYS[key.strip()]] = value.strip()
    else:
        entries = {LIST_KEYS[name]: f"{name}.txt" for name in ("train", "valid", "val", "test")
                   if (raw / f"{name}.txt").is_file()}
    lists = {}
    for split, value in entries.items():
        try:
            lists[split] = yolo_files.resolve_listed(src, value, [raw])
        except OutsideInput as exc:
            raise JobFailure(f"obj.data {split}: {exc}; put the list file in the export") from None
    return lists
