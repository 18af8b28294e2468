"""Decoding every image and parsing its labels on every core the job has, memory bounded, results in input order.

Each worker process holds one image at a time; the parent gets back only the small :class:`ImageInfo` record and
the boxes, in the order of the input (so reports and splits do not depend on scheduling).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from multiprocessing import get_context
from pathlib import Path

from containers.processing.images import ImageError, ImageInfo, inspect_image
from containers.processing.labels import Box, LabelError

LabelParser = Callable[[ImageInfo], list[Box]]
# What a worker sends back: the image's facts (None when rejected), its boxes, and the rejection reason if any.
Result = tuple[ImageInfo | None, list[Box], str | None]

# Paths per task sent to a worker: large enough to amortise the inter-process round trip on small images.
CHUNK = 16


def available_cores() -> int:
    """The cores this process may run on (the container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# The image, how to parse its labels (picklable), where to stage its output files, and the class ids to write.
Task = tuple[Path, LabelParser | None, Path, dict[str, int]]


def staged_files(stage: Path) -> tuple[Path, Path]:
    """The staged copy of an image and its YOLO label file, ready to be moved into a split."""
    return stage.with_name(f"{stage.name}.image"), stage.with_name(f"{stage.name}.txt")


def inspect_all(tasks: list[Task], workers: int) -> Iterator[Result]:
    """Decode each image and parse its labels against its real size; a usable image is staged with its label file
    (so that writing the output costs the parent two renames). Results come in the order of ``tasks``."""
    workers = max(1, min(workers, len(tasks) // CHUNK + 1))
    if workers == 1:
        yield from map(_inspect, tasks)
        return
    with get_context("fork" if hasattr(os, "fork") else "spawn").Pool(workers) as pool:
        yield from pool.imap(_inspect, tasks, chunksize=CHUNK)


def _inspect(task: Task) -> Result:
    path, parse, stage, ids = task
    image, label = staged_files(stage)
    try:
        info = inspect_image(path, image)
    except ImageError as exc:
        return None, [], str(exc)
    try:
        boxes = parse(info) if parse else []
    except LabelError as exc:
        return info, [], str(exc)
    label.write_bytes("".join(box.yolo_line(ids[box.class_name]) + "\n" for box in boxes).encode())
    return info, boxes, None
