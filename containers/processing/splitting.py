"""De-duplication and the train/val/test split.

The export's own splits are kept (a curated validation set stays the validation set). Images without one, or all
of them when a re-split is asked for, are split by content: an image's split is a function of its SHA-256 alone, so
copies of one image cannot land in two splits, runs are reproducible, and adding images never moves the existing
ones. A split left empty is filled deterministically from the largest one, and the report says so.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from containers.processing.dataset import Item

SPLITS = ("train", "val", "test")
MIN_IMAGES = len(SPLITS)  # one per split


@dataclass(frozen=True)
class Duplicate:
    sha256: str
    kept: str
    dropped: tuple[str, ...]
    same_labels: bool


@dataclass
class Assignment:
    """Item name -> split, and how it was made (repeated in data_report.json)."""

    splits: dict[str, str]
    source: str  # "export": the export's splits kept; "content": split by image content
    filled: dict[str, dict] = field(default_factory=dict)  # split -> {"from": split, "images": n}


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


def position(item: Item) -> float:
    """The image's hash read as a number in [0, 1)."""
    return int(item.image.sha256[:16], 16) / 16**16


def split_of(item: Item, train_ratio: float, val_ratio: float) -> str:
    """The content split of an image: its position against the cumulative ratios."""
    where = position(item)
    if where < train_ratio:
        return "train"
    return "val" if where < train_ratio + val_ratio else "test"


def keeps_export_splits(items: list[Item], resplit: bool) -> bool:
    """Whether the export's own splits are kept: some item has one, and no re-split was asked for."""
    return not resplit and any(item.split for item in items)


def split_for(item: Item, from_export: bool, train_ratio: float, val_ratio: float) -> str:
    """An item's split before empty splits are filled: the export's where kept, else its content split."""
    return item.split if from_export and item.split else split_of(item, train_ratio, val_ratio)


def assign(kept: list[Item], train_ratio: float, val_ratio: float, resplit: bool) -> Assignment:
    """Each kept item's split: the export's (unless ``resplit``), else by content; empty splits filled."""
    ratios = {"train": train_ratio, "val": val_ratio, "test": 1 - train_ratio - val_ratio}
    from_export = keeps_export_splits(kept, resplit)
    result = Assignment({item.name: split_for(item, from_export, train_ratio, val_ratio) for item in kept},
                        "export" if from_export else "content")
    if len(kept) < MIN_IMAGES:
        return result
    for split in SPLITS:
        _fill(split, kept, result, ratios, len(kept) if from_export else 1)
    return result


def _fill(split: str, kept: list[Item], result: Assignment, ratios: dict[str, float], total: int) -> None:
    """Move images into an empty ``split`` from the largest one: its ratio of ``total`` (at least one, leaving the
    donor at least one), those whose content position lies nearest the split's own range."""
    members: dict[str, list[Item]] = {s: [] for s in SPLITS}
    for item in kept:
        members[result.splits[item.name]].append(item)
    if members[split]:
        return
    donor = max(SPLITS, key=lambda s: (len(members[s]), -SPLITS.index(s)))
    count = min(max(1, round(total * ratios[split])), len(members[donor]) - 1)
    center = {"train": 0.0, "val": ratios["train"] + ratios["val"] / 2, "test": 1.0}[split]
    chosen = sorted(members[donor], key=lambda item: (abs(position(item) - center), item.name))[:count]
    for item in chosen:
        result.splits[item.name] = split
    result.filled[split] = {"from": donor, "images": len(chosen)}


def output_names(items: list[Item]) -> dict[str, str]:
    """Item name -> file stem in the output: the source stem, plus a hash prefix where two sources share a stem."""
    shared = shared_stems(items)
    return {item.name: output_name(item, shared) for item in items}


def shared_stems(items: list[Item]) -> set[str]:
    """The source stems that more than one of ``items`` has, case-folded (the output may land on a file system
    that ignores case)."""
    counts = Counter(item.image_path.stem.lower() for item in items)
    return {stem for stem, count in counts.items() if count > 1}


def output_name(item: Item, shared: set[str]) -> str:
    """An item's file stem in the output, given the stems it may share (:func:`shared_stems`)."""
    stem = item.image_path.stem
    return f"{stem}_{item.image.sha256[:10]}" if stem.lower() in shared else stem
