"""A COCO detection JSON (``images``, ``annotations``, ``categories``) with its images beside it.

Category ids may be any integers (COCO starts at 1); classes are ordered by id. Crowd annotations
(``iscrowd: 1``) mark regions, not objects, and are skipped, as Ultralytics' own COCO converter does.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import partial
from pathlib import Path, PurePosixPath

from containers.common.contract import JobFailure
from containers.processing.dataset import Item, RawDataset, load_item
from containers.processing.images import ImageInfo
from containers.processing.labels import Box, LabelError, check_class_names, pixel_box

REQUIRED_KEYS = ("images", "annotations", "categories")


def coco_files(raw: Path) -> list[Path]:
    """The JSON files at the top of ``raw`` that look like COCO detection files."""
    return [path for path in sorted(raw.glob("*.json")) if _looks_like_coco(path)]


def read(raw: Path) -> RawDataset:
    """Read the one COCO file at the top of ``raw``.

    Raises:
        JobFailure: not exactly one COCO file, or its categories or image ids are unusable.
    """
    found = coco_files(raw)
    if len(found) != 1:
        raise JobFailure(f"expected one COCO JSON in {raw}, found {len(found)}: {', '.join(p.name for p in found)}")
    document = json.loads(found[0].read_text())
    where = found[0].name
    declared = _categories(document["categories"], where)
    names = check_class_names(list(declared.values()), f"{where} categories")
    categories = dict(zip(declared, names, strict=True))  # the same ids, their names now checked to be strings
    images: dict[object, dict] = {}
    for image in document["images"]:
        if not isinstance(image, dict) or "id" not in image or not isinstance(image.get("file_name"), str):
            raise JobFailure(f"{where}: every image needs an 'id' and a 'file_name', got {image!r}")
        if images.setdefault(image["id"], image) is not image:
            raise JobFailure(f"{where}: image id {image['id']} is used twice")
    by_image: dict[object, list[dict]] = defaultdict(list)
    items: list[Item] = []
    for index, annotation in enumerate(document["annotations"]):
        image_id = annotation.get("image_id") if isinstance(annotation, dict) else None
        if image_id not in images:
            items.append(Item(f"{where} annotation {index}", problem=f"refers to unknown image_id {image_id!r}"))
        else:
            by_image[image_id].append(annotation)
    for image_id, image in images.items():
        relative = PurePosixPath(image["file_name"])
        if relative.is_absolute() or ".." in relative.parts:
            items.append(Item(str(relative), problem=f"{where}: file_name must be relative to the JSON file"))
            continue
        parse = partial(_parse, by_image[image_id], image, categories, where)
        items.append(load_item(relative.as_posix(), raw / relative, parse))
    return RawDataset("coco", names, items, f"{where} categories")


def _looks_like_coco(path: Path) -> bool:
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(document, dict) and all(isinstance(document.get(key), list) for key in REQUIRED_KEYS)


def _categories(categories: list, where: str) -> dict[int, object]:
    """Category id -> name as declared (not yet checked), ordered by id."""
    result: dict[int, object] = {}
    for category in categories:
        if not isinstance(category, dict) or not isinstance(category.get("id"), int):
            raise JobFailure(f"{where}: every category needs an integer 'id' and a 'name', got {category!r}")
        if category["id"] in result:
            raise JobFailure(f"{where}: category id {category['id']} is used twice")
        result[category["id"]] = category.get("name")
    return dict(sorted(result.items()))


def _parse(annotations: list[dict], image: dict, categories: dict[int, str], where: str,
           info: ImageInfo) -> list[Box]:
    declared = (image.get("width"), image.get("height"))
    if declared != (None, None) and declared != (info.width, info.height):
        raise LabelError(f"{where}: image {image['id']} is declared {declared[0]}x{declared[1]} "
                         f"but the file is {info.width}x{info.height}")
    boxes = []
    for annotation in annotations:
        label = f"{where} annotation {annotation.get('id', '?')}"
        if annotation.get("iscrowd"):
            continue
        bbox = annotation.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)):
            raise LabelError(f"{label}: bbox must be [x, y, width, height] in pixels, got {bbox!r}")
        left, top, width, height = bbox
        category = annotation.get("category_id")
        if category not in categories:
            raise LabelError(f"{label}: category_id {category!r} is not in categories "
                             f"(ids {', '.join(map(str, categories))})")
        try:
            boxes.append(pixel_box(categories[category], left, top, width, height, info.width, info.height))
        except LabelError as exc:
            raise LabelError(f"{label}: {exc}") from None
    return boxes
