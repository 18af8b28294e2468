"""PrepareData's split folders (``images/``, ``labels/``, ``data.yaml``) as inputs of training and evaluation.

Ultralytics writes a ``labels.cache`` beside every labels folder it reads. Inputs are never modified (a local-mode
input may be the user's own folder, a SageMaker input may be read-only), so ultralytics is pointed at a scratch
view made of symbolic links to the files: the cache lands in the view, the images are not copied.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from containers.common.contract import JobFailure

__all__ = ["IMAGE_SUFFIXES", "Split", "dataset_view", "read_split"]

# What ultralytics reads as images (ultralytics.data.utils.IMG_FORMATS).
IMAGE_SUFFIXES = frozenset({".bmp", ".dng", ".heic", ".jpeg", ".jpg", ".jp2", ".mpo", ".png", ".tif", ".tiff",
                            ".webp", ".pfm"})


@dataclass(frozen=True)
class Split:
    """One split folder, checked: how many images it has and its class names."""

    role: str
    path: Path
    images: int
    names: list[str]


def read_split(role: str, path: Path) -> Split:
    """Check a split folder (``role`` names it in messages, e.g. "channel 'train'") and read its class names.

    Raises:
        JobFailure: the folder is missing, has no images, or its data.yaml is missing or has no class names.
    """
    what = "PrepareData's split folder layout: images/, labels/, data.yaml"
    if not path.is_dir():
        raise JobFailure(f"{role} is missing: expected {path} ({what})")
    image_dir = path / "images"
    images = sum(1 for f in image_dir.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES) if image_dir.is_dir() else 0
    if not images:
        raise JobFailure(f"{role} is empty: no images under {image_dir} ({what})")
    if not (path / "labels").is_dir():
        raise JobFailure(f"{role} has no labels folder: expected {path / 'labels'} ({what})")
    return Split(role, path, images, _names(role, path / "data.yaml"))


def _names(role: str, data_yaml: Path) -> list[str]:
    if not data_yaml.is_file():
        raise JobFailure(f"{role} has no data.yaml: expected {data_yaml} with the class names (names: [...])")
    try:
        names = (yaml.safe_load(data_yaml.read_text()) or {}).get("names")
    except (yaml.YAMLError, AttributeError) as exc:
        raise JobFailure(f"{role}: {data_yaml} is not a YAML mapping with 'names': {exc}") from None
    if isinstance(names, dict):  # ultralytics also writes {0: name, 1: name}
        names = [names[key] for key in sorted(names)]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise JobFailure(f"{role}: {data_yaml} needs 'names', a non-empty list of class names, got {names!r}")
    return names


def dataset_view(splits: Mapping[str, Split], names: list[str], workdir: Path) -> Path:
    """Link each split into ``workdir/<key>/`` and write the ultralytics data.yaml that reads them; return its path.

    ``splits`` maps ultralytics' keys ("train", "val") to split folders; validation alone needs only "val". Files
    are linked one by one: ultralytics resolves the dataset folders it is given, so a linked folder would lead it
    (and its cache) back to the input.
    """
    document: dict[str, object] = {"path": str(workdir)}
    for key, split in splits.items():
        for part in ("images", "labels"):
            source, view = (split.path / part).resolve(), workdir / key / part
            for folder, _, files in os.walk(source):
                target = view / Path(folder).relative_to(source)
                target.mkdir(parents=True, exist_ok=True)
                for name in files:
                    (target / name).symlink_to(Path(folder) / name)
        document[key] = str(workdir / key / "images")
    document.setdefault("train", document.get("val"))  # ultralytics wants a train entry even just to validate
    document["names"] = dict(enumerate(names))
    data_yaml = workdir / "data.yaml"
    data_yaml.write_text(yaml.safe_dump(document, sort_keys=False))
    return data_yaml
