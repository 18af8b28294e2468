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


Task = tuple[Path, LabelParser | None, Path]  # the image, how to parse its labels, where to stage its copy


def inspect_all(tasks: list[Task], workers: int) -> Iterator[Result]:
    """Decode and stage each image, then parse its labels against its real size (picklable parsers), in order."""
    workers = max(1, min(workers, len(tasks) // CHUNK + 1))
    if workers == 1:
        yield from map(_inspect, tasks)
        return
    with get_context("fork" if hasattr(os, "fork") else "spawn").Pool(workers) as pool:
        yield from pool.imap(_inspect, tasks, chunksize=CHUNK)


def _inspect(task: Task) -> Result:
    path, parse, stage = task
    try:
        info = inspect_image(path, stage)
    except ImageError as exc:
        return None, [], str(exc)
    try:
        return info, parse(info) if parse else [], None
    except LabelError as exc:
        return info, [], str(exc)
