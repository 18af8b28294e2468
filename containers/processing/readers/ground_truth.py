"""SageMaker Ground Truth bounding-box output manifests (``*.manifest``, JSON lines) and their images.

Each line holds ``source-ref`` and the label attribute (``{"image_size": [...], "annotations": [{"class_id",
"left", "top", "width", "height"}]}``, pixels) with ``<attribute>-metadata`` carrying ``class-map`` and
``creation-date``. A chained or adjustment job adds its own attribute: the newest (by creation-date) is used unless
``--label-attribute`` names one. A line whose labeling failed has no label, only metadata with ``failure-reason``:
it is reported as unlabeled. Reference: "Bounding Box Job Output" in the Ground Truth developer guide
(https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html).

An ``s3://`` source-ref is resolved by the longest suffix of its key that is a file under the input (images synced
down with their key structure), then beside the manifest, then fetched (:mod:`containers.processing.objects`).
A relative source-ref is relative to the manifest.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path, PurePosixPath

from containers.common.contract import JobFailure
from containers.processing.dataset import Item, RawDataset, Unlabeled
from containers.processing.images import ImageInfo
from containers.processing.labels import Box, LabelError, check_class_names, pixel_box
from containers.processing.objects import FetchError, ObjectFetcher, split_uri
from containers.processing.safepath import InputRoot, OutsideInput, excerpt, printable, shown

Line = tuple[str, Path, dict]  # where (manifest line), the manifest, the record


def manifests(raw: Path) -> list[Path]:
    """The manifests under ``raw``, Ground Truth's ``manifests/intermediate/`` copies left out."""
    return [p for p in sorted(raw.rglob("*.manifest"))
            if not any(part.startswith(".") or part == "intermediate" for part in p.relative_to(raw).parts)]


def label_attributes(lines: list[Line]) -> dict[str, str]:
    """Label attribute -> its newest ``creation-date`` ("" when none), for every attribute the lines use."""
    found: dict[str, str] = {}
    for _, _, record in lines:
        for key, value in record.items():
            metadata = record.get(f"{key}-metadata")
            if not key.endswith("-metadata") and isinstance(value, dict) and "annotations" in value \
                    and isinstance(metadata, dict):
                found[key] = max(found.get(key, ""), str(metadata.get("creation-date", "")))
            elif key.endswith("-metadata") and isinstance(value, dict) and "failure-reason" in value:
                found.setdefault(key.removesuffix("-metadata"), "")
    return found


def read(src: InputRoot, label_attribute: str | None, cache: Path) -> RawDataset:
    """Read every line of every manifest under the input.

    Raises:
        JobFailure: no label attribute, an unknown ``label_attribute``, or a missing or contradictory class-map.
    """
    lines: list[Line] = []
    items: list[Item] = []
    for manifest in manifests(src.root):
        try:
            text = src.file(manifest).read_text(errors="replace")
        except OutsideInput as exc:
            items.append(Item(src.relative(manifest), problem=str(exc)))
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{src.relative(manifest)} line {number}"
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                items.append(Item(where, problem=f"not valid JSON: {exc.msg} at column {exc.colno}"))
                continue
            if not isinstance(record, dict):
                items.append(Item(where, problem="not a JSON object"))
                continue
            lines.append((where, manifest, record))
    attribute, notes = _choose_attribute(lines, label_attribute)
    class_map = _class_map(lines, attribute)
    names = check_class_names([class_map[i] for i in sorted(class_map)], f"the '{attribute}-metadata' class-map")
    unlabeled: list[Unlabeled] = []
    labeled: list[Line] = []
    for where, manifest, record in lines:
        if attribute in record:
            labeled.append((where, manifest, record))
            continue
        metadata = record.get(f"{attribute}-metadata")
        reason = metadata.get("failure-reason") if isinstance(metadata, dict) else None
        unlabeled.append(Unlabeled(where, f"labeling failed: {excerpt(str(reason), 120)}" if reason
                                   else f"no '{attribute}' label"))
    items.extend(_items(src, labeled, attribute, class_map, ObjectFetcher(cache)))
    return RawDataset("ground-truth", names, items, f"the '{attribute}-metadata' class-map", unlabeled, notes)


def _choose_attribute(lines: list[Line], wanted: str | None) -> tuple[str, dict[str, object]]:
    found = label_attributes(lines)
    if not found:
        keys = sorted({key for _, _, record in lines for key in record})[:12]
        raise JobFailure("no bounding-box label attribute in the manifest: no key holds 'annotations' next to its "
                         f"'<attribute>-metadata' (the lines hold {', '.join(map(excerpt, keys)) or 'nothing'}); "
                         "a Ground Truth bounding-box output manifest is needed")
    if wanted is not None:
        if wanted not in found:
            raise JobFailure(f"label attribute {wanted!r} (data.label_attribute) is not in the manifest, which has "
                             f"{', '.join(sorted(found))}")
        chosen, how = wanted, "data.label_attribute"
    else:
        chosen = max(sorted(found), key=lambda key: found[key])
        how = "the only one" if len(found) == 1 else "the newest creation-date; set data.label_attribute to choose"
    return chosen, {"label_attribute": {"chosen": chosen, "chosen_by": how,
                                        "found": {key: found[key] or None for key in sorted(found)}}}


def _class_map(lines: list[Line], attribute: str) -> dict[int, str]:
    """The class-map of every line merged into one; each id must name one class and each class have one id."""
    merged: dict[int, tuple[str, str]] = {}  # class id -> (name, where first seen)
    for where, _, record in lines:
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
                raise JobFailure(f"{where}: class-map key {excerpt(key)} is not a class id") from None
            seen = merged.setdefault(class_id, (name, where))
            if seen[0] != name:
                raise JobFailure(f"mixed-up Ground Truth class-map: class id {class_id} is {excerpt(str(seen[0]))} "
                                 f"in {seen[1]} but {excerpt(str(name))} in {where}; relabel or split manifests made "
                                 "with different label sets")
    by_name: dict[str, int] = {}
    for class_id, (name, where) in sorted(merged.items()):
        if by_name.setdefault(name, class_id) != class_id:
            raise JobFailure(f"mixed-up Ground Truth class-map: class {excerpt(str(name))} has ids {by_name[name]} "
                             f"and {class_id} ({where}); one class must keep one id")
    if not merged:
        raise JobFailure(f"no class-map in any '{attribute}-metadata': the class names are unknown")
    return {class_id: name for class_id, (name, _) in merged.items()}


def _items(src: InputRoot, lines: list[Line], attribute: str, class_map: dict[int, str],
           fetcher: ObjectFetcher) -> list[Item]:
    found: dict[int, Path | str] = {}  # line index -> file, or the reason there is none
    to_fetch: dict[int, str] = {}
    for index, (_, manifest, record) in enumerate(lines):
        ref = record.get("source-ref")
        try:
            if not isinstance(ref, str) or not ref:
                raise OutsideInput("no 'source-ref'")
            local = _in_input(src, manifest, ref)
        except (OutsideInput, FetchError) as exc:
            found[index] = str(exc)
            continue
        if local is None:
            to_fetch[index] = ref
        else:
            found[index] = local
    fetched = fetcher.fetch_all(sorted(set(to_fetch.values())))
    for index, ref in to_fetch.items():
        result = fetched[ref]
        found[index] = result if isinstance(result, Path) else (
            f"image {excerpt(PurePosixPath(ref).name)} (source-ref {excerpt(ref, 80)}) not found under the input "
            f"or beside the manifest, and {result}")
    items = []
    for index, (where, _, record) in enumerate(lines):
        ref = str(record.get("source-ref"))
        result = found[index]
        if isinstance(result, str):
            items.append(Item(printable(ref) if index in to_fetch else where, problem=f"{where}: {result}"))
        else:
            name = src.relative(result) if result.is_relative_to(src.root) else ref
            items.append(Item(name, result, partial(_parse, record[attribute], where, class_map)))
    return items


def _in_input(src: InputRoot, manifest: Path, ref: str) -> Path | None:
    """The input's file for a source-ref, None when an ``s3://`` one must be fetched.

    Raises:
        OutsideInput: a relative source-ref that leaves the input or is missing.
        FetchError: a malformed ``s3://`` URI.
    """
    if not ref.startswith("s3://"):
        path = src.join(manifest.parent, ref)
        src.file(path)
        return path
    _, parts = split_uri(ref)
    for base in (src.root, manifest.parent):
        for start in range(len(parts)):
            candidate = base.joinpath(*parts[start:])
            if src.exists(candidate):
                return candidate
            if candidate.is_symlink():
                src.file(candidate)  # a link found where the image should be: refused with its reason
    return None


def _parse(label: object, where: str, class_map: dict[int, str], info: ImageInfo) -> list[Box]:
    if not isinstance(label, dict) or not isinstance(label.get("annotations"), list):
        raise LabelError(f"{where}: the label has no 'annotations' list")
    sizes = label.get("image_size")
    if isinstance(sizes, list) and sizes and isinstance(sizes[0], dict):
        declared = (sizes[0].get("width"), sizes[0].get("height"))
        if declared != (info.width, info.height):
            raise LabelError(f"{where}: image_size says {shown(declared[0])}x{shown(declared[1])} "
                             f"but the image is {info.width}x{info.height}")
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
