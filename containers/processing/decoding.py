"""Decoding every image on every core the job has, with memory bounded and results in input order.

Each worker process holds one image at a time; the parent gets back only small :class:`ImageInfo` records, in the
order of the input (so reports and splits do not depend on scheduling).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from multiprocessing import get_context
from pathlib import Path

from containers.processing.images import ImageError, ImageInfo, inspect_image

# Paths per task sent to a worker: large enough to amortise the inter-process round trip on small images.
CHUNK = 16


def available_cores() -> int:
    """The cores this process may run on (the container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def inspect_all(paths: list[Path], workers: int) -> Iterator[ImageInfo | str]:
    """:func:`inspect_image` of each path, in order; a rejected image gives its reason as a string."""
    workers = max(1, min(workers, len(paths) // CHUNK + 1))
    if workers == 1:
        yield from map(_inspect, paths)
        return
    with get_context("fork" if hasattr(os, "fork") else "spawn").Pool(workers) as pool:
        yield from pool.imap(_inspect, paths, chunksize=CHUNK)


def _inspect(path: Path) -> ImageInfo | str:
    try:
        return inspect_image(path)
    except ImageError as exc:
        return str(exc)
