"""COCO detection JSONs (``images``, ``annotations``, ``categories``) anywhere in the input, one per split.

- COCO 2017 layout: ``annotations/instances_train2017.json`` with images in ``train2017/``; Roboflow COCO: one
  ``_annotations.coco.json`` in each of ``train/``, ``valid/``, ``test/`` with the images beside it.
- An image's ``file_name`` is looked up beside the JSON, in ``images/``, in the split folder named like the JSON
  (``instances_train2017.json`` -> ``train2017/``), then in ``../images``.
- A JSON's split comes from its name or folder (train, val/valid, test); other JSONs leave the split to PrepareData.
- Category ids may be any integers (COCO starts at 1); classes are ordered by id. Roboflow adds a category that
  is only the other categories' supercategory (its id 0; for one class it repeats the class name) and that no
  annotation uses: it is not a class. Crowd annotations (``iscrowd: 1``) mark regions, not objects, and are skipped,
  as Ultralytics' own COCO converter does.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import partial
from pathlib import Path

from containers.common.contract import JobFailure
from containers.processing.dataset import Item, RawDataset
from containers.processing.images import ImageInfo
from containers.processing.labels import Box, LabelError, check_class_names, pixel_box
from containers.processing.safepath import InputRoot, OutsideInput, excerpt, shown

REQUIRED_KEYS = ("images", "annotations", "categories")
# Files next to instances_*.json in COCO 2017 that are COCO-shaped but not boxes of the detection task.
OTHER_TASKS = ("person_keypoints_", "captions_", "panoptic_", "stuff_")
SPLIT_WORDS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


def coco_files(raw: Path) -> list[Path]:
    """The COCO detection JSONs anywhere under ``raw`` (hidden folders skipped), sorted."""
    found = []
    for path in sorted(raw.rglob("*.json")):
        relative = path.relative_to(raw)
        if any(part.startswith(".") for part in relative.parts) or path.name.startswith(OTHER_TASKS):
            continue
        if not path.is_symlink() and _looks_like_coco(path):
            found.append(path)
    return found


def read(src: InputRoot) -> RawDataset:
    """Read every COCO JSON of the input; their category lists must agree.

    Raises:
        JobFailure: no COCO file, unusable categories or image ids, or JSONs with different classes.
    """
    found = coco_files(src.root)
    if not found:
        raise JobFailure(f"no COCO JSON (images, annotations, categories) in {src.root}")
    items: list[Item] = []
    names: list[str] | None = None
    source = ""
    for path in found:
        json_names, json_items = _read_one(src, path)
        if names is None:
            names, source = json_names, f"{src.relative(path)} categories"
        elif json_names != names:
            raise JobFailure(f"{src.relative(path)} has categories {json_names} but {source} has {names}: "
                             "the JSONs of one dataset must share one category list")
        items.extend(json_items)
    assert names is not None
    return RawDataset("coco", names, items, source)


def split_of_json(path: Path) -> str | None:
    """train/val/test from the JSON's name (instances_val2017.json), else from its folder (Roboflow's valid/)."""
    for text in (path.stem, path.parent.name):
        for word in re.split(r"[^a-z]+", text.lower()):
            if word in SPLIT_WORDS:
                return SPLIT_WORDS[word]
    return None


def _read_one(src: InputRoot, path: Path) -> tuple[list[str], list[Item]]:
    where = src.relative(path)
    document = json.loads(src.file(path).read_text())
    images: dict[object, dict] = {}
    for image in document["images"]:
        if not isinstance(image, dict) or "id" not in image or not isinstance(image.get("file_name"), str):
            raise JobFailure(f"{where}: every image needs an 'id' and a 'file_name', got {shown(image)}")
        if images.setdefault(image["id"], image) is not image:
            raise JobFailure(f"{where}: image id {shown(image['id'])} is used twice")
    by_image: dict[object, list[dict]] = defaultdict(list)
    items: list[Item] = []
    for index, annotation in enumerate(document["annotations"]):
        image_id = annotation.get("image_id") if isinstance(annotation, dict) else None
        if image_id not in images:
            items.append(Item(f"{where} annotation {index}",
                              problem=f"refers to unknown image_id {shown(image_id)}"))
        else:
            by_image[image_id].append(annotation)
    used = {a.get("category_id") for group in by_image.values() for a in group}
    declared = _categories(document["categories"], used, where)
    names = check_class_names(list(declared.values()), f"{where} categories")
    categories = dict(zip(declared, names, strict=True))  # the same ids, their names now checked to be strings
    split = split_of_json(path)
    roots = _image_roots(src, path)
    for image_id, image in images.items():
        name = image["file_name"]
        try:
            file = _find_image(src, name, roots)
        except OutsideInput as exc:
            items.append(Item(f"{where} image {excerpt(name)}", problem=str(exc)))
            continue
        items.append(Item(src.relative(file), file, partial(_parse, by_image[image_id], image, categories, where),
                          split))
    return names, items


def _image_roots(src: InputRoot, path: Path) -> list[Path]:
    """Where a JSON's images may be, in the order the tools lay them out."""
    folder = path.parent
    named = path.stem.removeprefix("instances_")
    roots = [folder, folder / "images", folder / named, folder.parent / named, folder.parent / "images"]
    return [root for root in dict.fromkeys(roots) if root.is_dir() and root.resolve().is_relative_to(src.real)]


def _find_image(src: InputRoot, name: str, roots: list[Path]) -> Path:
    candidates = [src.join(root, name) for root in roots]
    for candidate in candidates:
        if src.exists(candidate):
            return candidate
    for candidate in candidates:
        if candidate.exists() or candidate.is_symlink():
            src.file(candidate)  # says why it is refused
    raise OutsideInput(f"image file {excerpt(name)} not found beside the JSON, in images/, in the split folder "
                       "or in ../images")


def _looks_like_coco(path: Path) -> bool:
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError):
        return False
    return isinstance(document, dict) and all(isinstance(document.get(key), list) for key in REQUIRED_KEYS)


def _categories(categories: list, used: set, where: str) -> dict[int, object]:
    """Category id -> name as declared (not yet checked), ordered by id, without unused supercategory entries."""
    result: dict[int, object] = {}
    supercategories: dict[int, object] = {}
    for category in categories:
        if not isinstance(category, dict) or not isinstance(category.get("id"), int):
            raise JobFailure(f"{where}: every category needs an integer 'id' and a 'name', got "
                             f"{shown(category)}")
        if category["id"] in result:
            raise JobFailure(f"{where}: category id {category['id']} is used twice")
        result[category["id"]] = category.get("name")
        supercategories[category["id"]] = category.get("supercategory")
    grouping = {i for i in result if i not in used
                and any(supercategories[j] == result[i] for j in result if j != i)}
    return {i: name for i, name in sorted(result.items()) if i not in grouping}


def _parse(annotations: list[dict], image: dict, categories: dict[int, str], where: str,
           info: ImageInfo) -> list[Box]:
    declared = (image.get("width"), image.get("height"))
    if declared != (None, None) and declared != (info.width, info.height):
        raise LabelError(f"{where}: image {shown(image['id'])} is declared "
                         f"{shown(declared[0])}x{shown(declared[1])} "
                         f"but the file is {info.width}x{info.height}")
    boxes = []
    for annotation in annotations:
        label = f"{where} annotation {shown(annotation.get('id', '?'))}"
        if annotation.get("iscrowd"):
            continue
        bbox = annotation.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)):
            raise LabelError(f"{label}: bbox must be [x, y, width, height] in pixels, got {shown(bbox)}")
        left, top, width, height = bbox
        category = annotation.get("category_id")
        if category not in categories:
            raise LabelError(f"{label}: category_id {shown(category)} is not in categories "
                             f"(ids {', '.join(map(str, categories))})")
        try:
            boxes.append(pixel_box(categories[category], left, top, width, height, info.width, info.height))
        except LabelError as exc:
            raise LabelError(f"{label}: {exc}") from None
    return boxes
