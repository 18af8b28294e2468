"""Decoding every image and parsing its labels on every core the job has, memory bounded, results in input order.

Each worker process holds one image at a time; the parent gets back only the small :class:`ImageInfo` record, the
boxes, the staged image's path and the label text (:data:`Result`), in the order of the input (so reports and splits
do not depend on scheduling).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

from containers.common.contract import JobFailure
from containers.processing.images import ImageError, ImageInfo, inspect_image
from containers.processing.labels import Box, LabelError

LabelParser = Callable[[ImageInfo], list[Box]]
# What a worker sends back: the image's facts (None when rejected), its boxes, the rejection reason if any, and for a
# usable image where it staged the image file (a string, which pickles at a fraction of a Path's cost) and the text of
# its YOLO label file. The parent writes that file where the image goes: a worker creating it too would create it
# in the staging folder and the parent rename it, one more file operation per image on the parent's serial path,
# and workers creating files at once contend in the file system's inode allocator (2 workers on 5000 images right
# after 20000 files were deleted: 1.58 s with workers creating the label files, 1.25 s without, median of 6).
Result = tuple[ImageInfo | None, list[Box], str | None, str | None, str]

# Images per range sent to a worker: one result message (and one wake-up of the parent's pool thread) per chunk; 64
# halved the parent's CPU share against 16 and still ends within a few tens of milliseconds of even on 2 cores.
CHUNK = 64


def available_cores() -> int:
    """The cores this process may run on (the container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# The image, how to parse its labels (picklable), the staging folder and a name unique in it for the staged image,
# and the class ids to write.
Task = tuple[Path, LabelParser | None, Path, str, dict[str, int]]


def inspect_all(tasks: list[Task], workers: int) -> Iterator[Result]:
    """Decode each image and parse its labels against its real size; a usable image is staged (so that writing the
    output costs the parent a rename) and its YOLO label text made. Results come in the order of ``tasks``.

    A process pool from concurrent.futures, not multiprocessing.Pool: the latter's worker-handler thread also polls
    the result pipe and spins until each result is read, which cost the parent a fifth of a core here. Each worker
    gets the task list once (through fork; pickled once per worker under spawn), then only index ranges.

    Raises:
        JobFailure: a worker process died (killed for memory, most likely): the job stops instead of waiting.
    """
    workers = worker_count(len(tasks), workers)
    if workers == 1:
        yield from map(_inspect, tasks)
        return
    context = get_context("fork" if hasattr(os, "fork") else "spawn")
    with ProcessPoolExecutor(workers, context, initializer=_share, initargs=(tasks,)) as pool:
        try:
            for results in pool.map(_inspect_range, [(start, start + CHUNK) for start in range(0, len(tasks), CHUNK)]):
                yield from results
        except BrokenProcessPool:
            raise JobFailure(f"one of the {workers} PrepareData worker processes died while decoding images (out "
                             "of memory?): give the job more memory (--set processing_instance_type=...)") from None


def worker_count(tasks: int, workers: int) -> int:
    """How many processes decode ``tasks`` images given ``workers``: no more than there are chunks; 1 means this
    process, without a pool."""
    return max(1, min(workers, tasks // CHUNK + 1))


_shared: list[Task] = []  # in a worker process: the whole task list (_share)


def _share(tasks: list[Task]) -> None:
    global _shared
    _shared = tasks


def _inspect_range(bounds: tuple[int, int]) -> list[Result]:
    return [_inspect(task) for task in _shared[bounds[0]:bounds[1]]]


def _inspect(task: Task) -> Result:
    path, parse, staging, name, ids = task
    staged = f"{_own_folder(staging, os.getpid())}/{name}.image"
    try:
        info = inspect_image(path, Path(staged))
    except ImageError as exc:
        return None, [], str(exc), None, ""
    try:
        boxes = parse(info) if parse else []
    except LabelError as exc:
        return info, [], str(exc), None, ""
    return info, boxes, None, staged, "".join(box.yolo_line(ids[box.class_name]) + "\n" for box in boxes)


@functools.cache
def _own_folder(staging: Path, pid: int) -> str:
    """A staging folder per worker process: files created by several processes in one folder contend for its lock
    (4-6% of the CPU time of a 2-worker run, in the kernel)."""
    folder = staging / f"worker-{pid}"
    folder.mkdir(exist_ok=True)
    return str(folder)
