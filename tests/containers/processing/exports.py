"""Small, faithful exports of one scene set in the layouts labeling tools write, and what PrepareData must make of
them (the YOLO line of every box, exactly).

Each builder follows the tool's documented layout: Ultralytics (docs.ultralytics.com/datasets/detect), Roboflow
YOLOv8 and COCO downloads, Label Studio's YOLO export, CVAT "YOLO 1.1" (docs.cvat.ai, format-yolo), COCO 2017, and
Ground Truth bounding-box output manifests (docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from PIL import Image, ImageDraw

NAMES = ["car", "person"]
EXPORT_SPLITS = {"train": "train", "val": "valid", "test": "test"}  # our split -> Roboflow's folder


@dataclass(frozen=True)
class Scene:
    name: str  # file name, spaces and mixed-case suffixes included
    split: str
    size: tuple[int, int]
    boxes: tuple[tuple[int, int, int, int, int], ...]  # class, left, top, width, height in pixels

    def yolo_lines(self) -> list[str]:
        width, height = self.size
        return [f"{c} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} {w / width:.6f} {h / height:.6f}"
                for c, x, y, w, h in self.boxes]


SCENES = [
    Scene("street 01.jpg", "train", (96, 64), ((0, 10, 12, 30, 20), (1, 50, 5, 10, 40))),
    Scene("street_02.JPG", "train", (64, 64), ((1, 3, 3, 9, 30),)),
    Scene("yard.png", "train", (80, 60), ((0, 40, 20, 39, 39),)),
    Scene("lot.bmp", "train", (64, 48), ((0, 0, 0, 64, 48), (0, 5, 5, 6, 6))),
    Scene("empty.webp", "train", (64, 64), ()),
    Scene("gate.jpeg", "val", (72, 72), ((1, 20, 20, 12, 30),)),
    Scene("road.jpg", "val", (64, 80), ((0, 1, 2, 60, 30), (1, 30, 40, 8, 25))),
    Scene("park.png", "test", (100, 50), ((1, 70, 10, 10, 35),)),
    Scene("dock.jpg", "test", (64, 64), ((0, 12, 14, 40, 20),)),
]
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".webp": "WEBP"}


def draw(scene: Scene, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = sum(map(ord, scene.name))
    image = Image.new("RGB", scene.size, (seed % 200, (seed * 7) % 200, (seed * 13) % 200))
    pen = ImageDraw.Draw(image)
    for c, x, y, w, h in scene.boxes:
        pen.rectangle([x, y, x + w - 1, y + h - 1], fill=(255, 40 + 150 * c, 0))
    fmt = FORMATS[Path(scene.name).suffix.lower()]
    image.save(path, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))


def write_label(scene: Scene, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in scene.yolo_lines()))


def roboflow_readmes(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.dataset.txt").write_text("# My Export > 2026-03-01\nProvided by a Roboflow user\n")
    (root / "README.roboflow.txt").write_text("This dataset was exported via roboflow.com\n")


def roboflow_yolo(root: Path, scenes=SCENES) -> Path:
    """Roboflow "YOLOv8" download: train/ valid/ test/ with images/ and labels/, data.yaml with ../ paths."""
    roboflow_readmes(root)
    for scene in scenes:
        folder = root / EXPORT_SPLITS[scene.split]
        draw(scene, folder / "images" / scene.name)
        write_label(scene, folder / "labels" / Path(scene.name).with_suffix(".txt"))
    (root / "data.yaml").write_text(yaml.safe_dump({
        "train": "../train/images", "val": "../valid/images", "test": "../test/images", "nc": len(NAMES),
        "names": NAMES, "roboflow": {"workspace": "w", "project": "p", "version": 1, "license": "CC BY 4.0"}},
        sort_keys=False))
    return root


def ultralytics_yolo(root: Path, scenes=SCENES) -> Path:
    """Ultralytics layout: images/{train,val}/ and labels/{train,val}/, data.yaml with path and a names dict; the
    test images are left out (a missing split)."""
    for scene in scenes:
        if scene.split == "test":
            continue
        draw(scene, root / "images" / scene.split / scene.name)
        write_label(scene, root / "labels" / scene.split / Path(scene.name).with_suffix(".txt"))
    (root / "data.yaml").write_text(yaml.safe_dump({"path": ".", "train": "images/train", "val": "images/val",
                                                    "names": dict(enumerate(NAMES))}, sort_keys=False))
    return root


def label_studio_yolo(root: Path, scenes=SCENES) -> Path:
    """Label Studio "YOLO" export: classes.txt, notes.json, images/, labels/ (no splits)."""
    for scene in scenes:
        draw(scene, root / "images" / scene.name)
        write_label(scene, root / "labels" / Path(scene.name).with_suffix(".txt"))
    (root / "classes.txt").write_text("".join(f"{n}\n" for n in NAMES))
    (root / "notes.json").write_text(json.dumps({"categories": [{"id": i, "name": n} for i, n in enumerate(NAMES)],
                                                 "info": {"year": 2026, "version": "1.0"}}))
    return root


def cvat_yolo(root: Path, scenes=SCENES) -> Path:
    """CVAT "YOLO 1.1": obj.data/obj.names, train.txt/valid.txt with Darknet's data/ prefix, obj_<subset>_data/ with
    each label beside its image (the only subsets are train and valid)."""
    lists: dict[str, list[str]] = {"train": [], "valid": []}
    for scene in scenes:
        subset = "train" if scene.split == "train" else "valid" if scene.split == "val" else None
        if subset is None:
            continue
        draw(scene, root / f"obj_{subset}_data" / scene.name)
        write_label(scene, root / f"obj_{subset}_data" / Path(scene.name).with_suffix(".txt"))
        lists[subset].append(f"data/obj_{subset}_data/{scene.name}")
    for subset, entries in lists.items():
        (root / f"{subset}.txt").write_text("".join(f"{e}\n" for e in entries))
    (root / "obj.names").write_text("".join(f"{n}\n" for n in NAMES))
    (root / "obj.data").write_text(f"classes = {len(NAMES)}\ntrain = data/train.txt\nvalid = data/valid.txt\n"
                                   "names = data/obj.names\nbackup = backup/\n")
    return root


def _coco_document(scenes, categories: list[dict], first_category: int) -> dict:
    images, annotations = [], []
    for image_id, scene in enumerate(scenes, start=1):
        images.append({"id": image_id, "file_name": scene.name, "width": scene.size[0], "height": scene.size[1]})
        for c, x, y, w, h in scene.boxes:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": c + first_category,
                                "bbox": [x, y, w, h], "area": w * h, "segmentation": [], "iscrowd": 0})
    return {"info": {"year": "2026"}, "licenses": [], "categories": categories, "images": images,
            "annotations": annotations}


def coco_2017(root: Path, scenes=SCENES) -> Path:
    """COCO 2017: annotations/instances_{train,val}2017.json, images in train2017/ and val2017/ (no test split)."""
    categories = [{"id": i + 1, "name": n, "supercategory": "vehicle" if n == "car" else "person"}
                  for i, n in enumerate(NAMES)]
    for split in ("train", "val"):
        chosen = [s for s in scenes if s.split == split]
        for scene in chosen:
            draw(scene, root / f"{split}2017" / scene.name)
        path = root / "annotations" / f"instances_{split}2017.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_coco_document(chosen, categories, 1)))
    (root / "annotations" / "captions_train2017.json").write_text(json.dumps({"images": [], "annotations": []}))
    return root


def cvat_coco(root: Path, scenes=SCENES) -> Path:
    """CVAT "COCO 1.0": annotations/instances_default.json, the images in images/ (../images from the JSON)."""
    for scene in scenes:
        draw(scene, root / "images" / scene.name)
    path = root / "annotations" / "instances_default.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(_coco_document(scenes, [{"id": i + 1, "name": n, "supercategory": ""}
                                                       for i, n in enumerate(NAMES)], 1)))
    return root


def roboflow_coco(root: Path, scenes=SCENES, names=NAMES) -> Path:
    """Roboflow "COCO" download: train/ valid/ test/ each with _annotations.coco.json beside the images; category 0
    is a supercategory no annotation uses (for one class it repeats the class name)."""
    roboflow_readmes(root)
    group = names[0] if len(names) == 1 else "vehicles-and-people"
    categories = [{"id": 0, "name": group, "supercategory": "none"},
                  *({"id": i + 1, "name": n, "supercategory": group} for i, n in enumerate(names))]
    for split, folder in EXPORT_SPLITS.items():
        chosen = [s for s in scenes if s.split == split]
        for scene in chosen:
            draw(scene, root / folder / scene.name)
        (root / folder / "_annotations.coco.json").write_text(json.dumps(_coco_document(chosen, categories, 1)))
    return root


def ground_truth(root: Path, scenes=SCENES, prefix="labeling/images/", image_root: Path | None = None) -> Path:
    """A Ground Truth output manifest at manifests/output/output.manifest, its images kept under their S3 keys
    (``aws s3 sync s3://bucket/ <root>``) unless ``image_root`` says where they go instead."""
    lines = []
    for scene in scenes:
        draw(scene, (image_root or root / "labeling" / "images") / scene.name)
        lines.append(json.dumps({
            "source-ref": f"s3://gt-bucket/{prefix}{scene.name}",
            "boxes": {"image_size": [{"width": scene.size[0], "height": scene.size[1], "depth": 3}],
                      "annotations": [{"class_id": c, "left": x, "top": y, "width": w, "height": h}
                                      for c, x, y, w, h in scene.boxes]},
            "boxes-metadata": {"objects": [{"confidence": 0.9} for _ in scene.boxes],
                               "class-map": {str(i): n for i, n in enumerate(NAMES)},
                               "type": "groundtruth/object-detection", "human-annotated": "yes",
                               "creation-date": "2026-03-01T10:00:00.000000", "job-name": "labeling-job/boxes"},
        }))
    manifest = root / "labeling" / "boxes" / "manifests" / "output" / "output.manifest"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text("\n".join(lines) + "\n")
    return root
