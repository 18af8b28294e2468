"""De-duplication and the train/val/test split, both keyed by image content.

An image's split is a function of its SHA-256 alone: copies of one image cannot land in two splits, runs are
reproducible, and adding images to a dataset never moves the existing ones to another split.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from containers.processing.dataset import Item

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Duplicate:
    sha256: str
    kept: str
    dropped: tuple[str, ...]
    same_labels: bool


def deduplicate(items: list[Item]) -> tuple[list[Item], list[Duplicate]]:
    """Keep one item per image content (the first by name); report the others."""
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i.name):
        groups[item.image.sha256].append(item)
    kept = [group[0] for group in groups.values()]
    duplicates = [Duplicate(sha, group[0].name, tuple(i.name for i in group[1:]),
                            all(sorted_boxes(i) == sorted_boxes(group[0]) for i in group[1:]))
                  for sha, group in sorted(groups.items()) if len(group) > 1]
    return sorted(kept, key=lambda i: i.name), duplicates


def sorted_boxes(item: Item) -> list:
    return sorted(item.boxes, key=lambda b: (b.class_name, b.x_center, b.y_center, b.width, b.height))


def split_of(sha256: str, train_ratio: float, val_ratio: float) -> str:
    """The split of an image: its hash read as a number in [0, 1) against the cumulative ratios."""
    position = int(sha256[:16], 16) / 16**16
    if position < train_ratio:
        return "train"
    return "val" if position < train_ratio + val_ratio else "test"


def output_names(items: list[Item]) -> dict[str, str]:
    """Item name -> file stem in the output: the source stem, plus a hash prefix where two sources share a stem."""
    by_stem: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_stem[item.image_path.stem.lower()].append(item)
    return {item.name: item.image_path.stem if len(group) == 1 else f"{item.image_path.stem}_{item.image.sha256[:10]}"
            for group in by_stem.values() for item in group}
