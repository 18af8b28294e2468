"""data_report.json: what PrepareData found, kept, dropped and why, and how the splits are made up."""

from __future__ import annotations

from collections import Counter
from statistics import mean

from containers.processing.dataset import Item, RawDataset
from containers.processing.splitting import SPLITS, Assignment, Duplicate


def build_report(*, dataset: RawDataset, class_names: list[str], arguments: dict[str, object], kept: list[Item],
                 assignment: Assignment, duplicates: list[Duplicate]) -> dict:
    """The report as a JSON-ready dict (no timestamps: two runs on the same data give the same bytes)."""
    items = dataset.items
    rejected = sorted((item for item in items if item.problem), key=lambda i: i.name)
    per_split = {split: [item for item in kept if assignment.splits[item.name] == split] for split in SPLITS}
    class_counts = {split: Counter(box.class_name for item in group for box in item.boxes)
                    for split, group in per_split.items()}
    return {
        "input_format": dataset.input_format,
        "class_names": class_names,
        "arguments": arguments,
        **dataset.notes,
        "split_source": assignment.source,
        "split_filled": assignment.filled,
        "totals": {
            "items": len(items),
            "rejected": len(rejected),
            "invalid_fraction": round(len(rejected) / len(items), 6) if items else 0.0,
            "unlabeled": len(dataset.unlabeled),
            "duplicates_dropped": sum(len(d.dropped) for d in duplicates),
            "images": len(kept),
            "boxes": sum(len(item.boxes) for item in kept),
        },
        "splits": {split: {
            "images": len(group),
            "boxes": sum(len(item.boxes) for item in group),
            "background_images": sum(1 for item in group if not item.boxes),
            "per_class": {name: class_counts[split][name] for name in class_names},
        } for split, group in per_split.items()},
        "per_class": {name: {**{split: class_counts[split][name] for split in SPLITS},
                             "total": sum(class_counts[split][name] for split in SPLITS)} for name in class_names},
        "image_sizes": _size_stats(kept),
        "rejected": [{"item": item.name, "reason": item.problem} for item in rejected],
        "unlabeled": [{"item": entry.name, "reason": entry.reason} for entry in dataset.unlabeled],
        "duplicates": [{"sha256": d.sha256, "kept": d.kept, "dropped": list(d.dropped), "same_labels": d.same_labels}
                       for d in duplicates],
    }


def _size_stats(kept: list[Item]) -> dict:
    if not kept:
        return {}
    widths, heights = [item.image.width for item in kept], [item.image.height for item in kept]
    return {
        "width": {"min": min(widths), "max": max(widths), "mean": round(mean(widths), 2)},
        "height": {"min": min(heights), "max": max(heights), "mean": round(mean(heights), 2)},
        "formats": dict(sorted(Counter(item.image.format for item in kept).items())),
    }
