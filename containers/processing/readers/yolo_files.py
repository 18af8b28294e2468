"""YOLO text labels and image lists, shared by the Ultralytics/Roboflow and the Darknet (Label Studio, CVAT) layouts.

A label file holds ``class x_center y_center width height`` per line (normalized). It is found where Ultralytics
looks (the last ``images`` folder of the image path replaced by ``labels``), else beside the image (Darknet,
CVAT's ``obj_train_data/``). An image without a label file is a background image; a label file without an image is
rejected.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from containers.processing.dataset import Item
from containers.processing.images import ImageInfo
from containers.processing.labels import Box, LabelError, yolo_box
from containers.processing.safepath import InputRoot, OutsideInput, Refused, excerpt, path_order

# Files that travel with images in exports but are never images.
NOT_IMAGES = {".txt", ".json", ".yaml", ".yml", ".names", ".data", ".xml", ".csv", ".md", ".cache", ".zip"}


def label_path(image: Path) -> str:
    """Where the label file of ``image`` is: under the matching ``labels`` folder (the last ``images`` folder of its
    path replaced), else beside the image. String work, a string back: it runs once per image before any decoding
    starts, and label files are only compared until a worker reads one."""
    text = os.fspath(image)
    stem = text[: len(text) - len(image.suffix)]
    head, images, tail = (os.sep + stem).rpartition(f"{os.sep}images{os.sep}")
    if images:
        mirrored = f"{head[1:]}{os.sep}labels{os.sep}{tail}.txt" if head else f"labels{os.sep}{tail}.txt"
        if os.path.lexists(mirrored):
            return mirrored
    return f"{stem}.txt"


def image_items(src: InputRoot, images: list[Path], names: list[str], split: str | None) -> list[Item]:
    """One item per image file, its labels parsed once the image is decoded."""
    return [Item(src.relative(image), image, partial(parse_label_file, src, label, names), split,
                 label=label)
            for image, label in zip(images, map(label_path, images), strict=True)]


def folder_items(src: InputRoot, folder: Path, names: list[str], split: str | None) -> tuple[list[Item], set[str]]:
    """Items for the images under ``folder`` (label files beside them excluded), and the label files seen there."""
    files, refused = src.walk(folder)
    images = [Path(f) for f in files if os.path.splitext(f)[1].lower() not in NOT_IMAGES]
    return [*image_items(src, images, names, split), *refused_items(refused)], label_files(files)


def label_files(files: list[str]) -> set[str]:
    """The YOLO label files (``.txt``) among ``files``."""
    return {f for f in files if f.endswith(".txt")}


def refused_items(refused: list[Refused]) -> list[Item]:
    return [Item(r.name, problem=r.reason) for r in refused]


def listed_images(src: InputRoot, list_file: Path, bases: list[Path]) -> tuple[list[Path], list[Item]]:
    """The images named in a list file (``train.txt``: one path a line), each resolved against ``bases`` in turn,
    a leading ``data/`` (Darknet's data folder) dropped when needed."""
    found: list[Path] = []
    problems: list[Item] = []
    for number, line in enumerate(list_file.read_text(errors="replace").splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        where = f"{src.relative(list_file)} line {number}"
        try:
            found.append(resolve_listed(src, name, bases))
        except OutsideInput as exc:
            problems.append(Item(where, problem=str(exc)))
    return found, problems


def resolve_listed(src: InputRoot, name: str, bases: list[Path]) -> Path:
    """A path from a list or config file: the first of ``base/name`` (then without a leading ``./`` or ``data/``)
    that is a file inside the input.

    Raises:
        OutsideInput: the name leaves the input, or nothing is there.
    """
    trimmed = name[2:] if name.startswith("./") else name
    variants = [trimmed, trimmed[len("data/"):]] if trimmed.startswith("data/") else [trimmed]
    candidates = [src.join(base, variant) for variant in variants for base in bases]
    for candidate in candidates:
        if src.exists(candidate):
            return candidate
    for candidate in candidates:
        src.file(candidate)  # a candidate that exists but is refused says why
    raise OutsideInput(f"{excerpt(name)} not found in the input (looked at "
                       f"{', '.join(src.relative(c) for c in candidates)})")


def orphan_labels(src: InputRoot, labels: set[str], items: list[Item]) -> list[Item]:
    """Label files that no image uses, rejected."""
    used = {item.label for item in items}
    return [Item(src.relative(label), problem="label file without a matching image")
            for label in sorted(labels - used, key=path_order)]


def parse_label_file(src: InputRoot, label: str, names: list[str], info: ImageInfo) -> list[Box]:
    """The boxes of one YOLO label file; a missing file is a background image."""
    try:
        found = src.optional_file(Path(label))
        return _boxes(found.read_bytes().decode(), names) if found is not None else []  # UTF-8, whatever the locale
    except OutsideInput as exc:
        raise LabelError(f"label file {exc}") from None
    except UnicodeDecodeError:
        raise LabelError(f"{src.relative(label)}: not a text file") from None
    except LabelError as exc:  # named here only: most label files are fine, and the name costs a relpath
        raise LabelError(f"{src.relative(label)} {exc}") from None


def _boxes(text: str, names: list[str]) -> list[Box]:
    boxes = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 5:
            raise LabelError(f"line {number}: expected 5 values 'class x_center y_center width height', "
                             f"got {len(fields)}: {excerpt(line.strip())}")
        try:
            class_id, *coords = int(fields[0]), *map(float, fields[1:])
        except ValueError:
            raise LabelError(f"line {number}: not a class id and 4 numbers: {excerpt(line.strip())}") from None
        if not 0 <= class_id < len(names):
            raise LabelError(f"line {number}: class id {class_id} is out of range: "
                             f"the class list names {len(names)} classes (ids 0-{len(names) - 1})")
        try:
            boxes.append(yolo_box(names[class_id], *coords))
        except LabelError as exc:
            raise LabelError(f"line {number}: {exc}") from None
    return boxes
