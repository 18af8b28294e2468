"""A SageMaker Ground Truth bounding-box output manifest (``*.manifest``, JSON lines) with its images beside it.

Each line holds ``source-ref`` and the label attribute (``{"image_size": [...], "annotations": [{"class_id",
"left", "top", "width", "height"}]}``, pixels) with ``<attribute>-metadata`` carrying the ``class-map``. An
``s3://`` source-ref is resolved by its basename beside the manifest, a relative one relative to the manifest.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path, PurePosixPath

from containers.common.contract import JobFailure
from containers.processing.dataset import Item, RawDataset, load_item
from containers.processing.images import ImageInfo
from containers.processing.labels import Box, LabelError, check_class_names, pixel_box


def manifests(raw: Path) -> list[Path]:
    return sorted(raw.glob("*.manifest"))


def read(raw: Path, label_attribute: str | None = None) -> RawDataset:
    """Read every line of every manifest at the top of ``raw``.

    Raises:
        JobFailure: no label attribute can be told apart, or the class-map is missing or contradicts itself.
    """
    lines: list[tuple[str, dict]] = []
    items: list[Item] = []
    for manifest in manifests(raw):
        for number, text in enumerate(manifest.read_text().splitlines(), start=1):
            where = f"{manifest.name} line {number}"
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                items.append(Item(where, problem=f"not valid JSON: {exc}"))
                continue
            if not isinstance(record, dict):
                items.append(Item(where, problem="not a JSON object"))
                continue
            lines.append((where, record))
    attribute = label_attribute or _detect_attribute(lines)
    class_map = _class_map(lines, attribute)
    names = check_class_names([class_map[i] for i in sorted(class_map)], f"the '{attribute}-metadata' class-map")
    for where, record in lines:
        items.append(_item(raw, where, record, attribute, class_map))
    return RawDataset("ground-truth", names, items, f"the '{attribute}-metadata' class-map")


def _detect_attribute(lines: list[tuple[str, dict]]) -> str:
    found = sorted({key for _, record in lines for key, value in record.items()
                    if isinstance(value, dict) and "annotations" in value and f"{key}-metadata" in record})
    if not found:
        raise JobFailure("no bounding-box label attribute in the manifest: no key holds 'annotations' next to its "
                         "'<attribute>-metadata'; is this a Ground Truth bounding-box output manifest?")
    if len(found) > 1:
        raise JobFailure(f"the manifest has several label attributes ({', '.join(found)}): "
                         "choose one with --label-attribute")
    return found[0]


def _class_map(lines: list[tuple[str, dict]], attribute: str) -> dict[int, str]:
    """The class-map of every line merged into one; each id must name one class and each class have one id."""
    merged: dict[int, tuple[str, str]] = {}  # class id -> (name, where first seen)
    for where, record in lines:
        metadata = record.get(f"{attribute}-metadata")
        raw_map = metadata.get("class-map") if isinstance(metadata, dict) else None
        if raw_map is None:
            continue
        if not isinstance(raw_map, dict):
            raise JobFailure(f"{where}: class-map must be an object {{\"0\": \"name\", ...}}")
        for key, name in raw_map.items():
            try:
                class_id = int(key)
            except ValueError:
                raise JobFailure(f"{where}: class-map key {key!r} is not a class id") from None
            seen = merged.setdefault(class_id, (name, where))
            if seen[0] != name:
                raise JobFailure(f"mixed-up Ground Truth class-map: class id {class_id} is {seen[0]!r} in {seen[1]} "
                                 f"but {name!r} in {where}; relabel or split manifests made with different label sets")
    by_name: dict[str, int] = {}
    for class_id, (name, where) in sorted(merged.items()):
        if by_name.setdefault(name, class_id) != class_id:
            raise JobFailure(f"mixed-up Ground Truth class-map: class {name!r} has ids {by_name[name]} and "
                             f"{class_id} ({where}); one class must keep one id")
    if not merged:
        raise JobFailure(f"no class-map in any '{attribute}-metadata': the class names are unknown")
    return {class_id: name for class_id, (name, _) in merged.items()}


def _item(raw: Path, where: str, record: dict, attribute: str, class_map: dict[int, str]) -> Item:
    ref = record.get("source-ref")
    if not isinstance(ref, str) or not ref:
        return Item(where, problem="no 'source-ref'")
    if ref.startswith("s3://"):
        relative = PurePosixPath(ref).name
    elif PurePosixPath(ref).is_absolute() or ".." in PurePosixPath(ref).parts:
        return Item(where, problem=f"source-ref {ref!r} must be an s3:// URI or a path relative to the manifest")
    else:
        relative = ref
    if attribute not in record:
        return Item(relative, problem=f"{where}: no '{attribute}' label (a failed or unlabelled item)")
    path = raw / relative
    if not path.is_file():
        return Item(relative, problem=f"{where}: image {relative} (source-ref {ref}) not found beside the manifest")
    return load_item(relative, path, partial(_parse, record[attribute], where, class_map))


def _parse(label: object, where: str, class_map: dict[int, str], info: ImageInfo) -> list[Box]:
    if not isinstance(label, dict) or not isinstance(label.get("annotations"), list):
        raise LabelError(f"{where}: the label has no 'annotations' list")
    sizes = label.get("image_size")
    if isinstance(sizes, list) and sizes and isinstance(sizes[0], dict):
        declared = (sizes[0].get("width"), sizes[0].get("height"))
        if declared != (info.width, info.height):
            raise LabelError(f"{where}: image_size says {declared[0]}x{declared[1]} but the image is "
                             f"{info.width}x{info.height}")
    boxes = []
    for index, annotation in enumerate(label["annotations"]):
        try:
            class_id = annotation["class_id"]
            left, top, width, height = (annotation[key] for key in ("left", "top", "width", "height"))
        except (KeyError, TypeError):
            raise LabelError(f"{where} annotation {index}: needs class_id, left, top, width and height") from None
        values = (class_id, left, top, width, height)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise LabelError(f"{where} annotation {index}: class_id and box values must be numbers")
        if class_id not in class_map:
            raise LabelError(f"{where} annotation {index}: class id {class_id} is not in the class-map "
                             f"(ids {', '.join(map(str, sorted(class_map)))})")
        try:
            boxes.append(pixel_box(class_map[class_id], left, top, width, height, info.width, info.height))
        except LabelError as exc:
            raise LabelError(f"{where} annotation {index}: {exc}") from None
    return boxes
