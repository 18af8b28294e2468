"""What a reader makes of a raw dataset: its class names and one item per image, valid or with its rejection reason.

Readers only find images and say how to parse their labels; :func:`load` then decodes every image (in parallel,
:mod:`containers.processing.decoding`) and parses the labels against the real image size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from containers.processing.decoding import LabelParser, inspect_all, worker_count
from containers.processing.images import ImageInfo
from containers.processing.labels import Box


@dataclass
class Item:
    """One image of the raw dataset (or an entry that should have been one).

    ``name`` identifies it in the report (a path relative to the input folder, or a manifest line); ``split`` is the
    split the export put it in (None: the export has no splits); an item with a ``problem`` is rejected and never
    written.
    """

    name: str
    path: Path | None = None
    parse: LabelParser | None = None
    split: str | None = None
    label: str | None = None  # its YOLO label file, where labels are files of their own (found once, by the reader)
    staged: str | None = None  # where its image file was staged while it was decoded
    yolo_labels: str = ""  # the text of its YOLO label file in the output (class ids of the output's class list)
    info: ImageInfo | None = None
    boxes: list[Box] = field(default_factory=list)
    problem: str | None = None

    @property
    def image_path(self) -> Path:
        """The image file of a valid item; :func:`load` sets it whenever ``problem`` is None."""
        assert self.path is not None, f"{self.name}: a rejected item has no image file"
        return self.path

    @property
    def image(self) -> ImageInfo:
        """The decoded image's facts of a valid item; :func:`load` sets them whenever ``problem`` is None."""
        assert self.info is not None, f"{self.name}: a rejected item has no image info"
        return self.info


@dataclass
class Unlabeled:
    """A source entry that has no labels to use (a failed Ground Truth task): reported, not counted as invalid."""

    name: str
    reason: str


@dataclass
class RawDataset:
    input_format: str
    class_names: list[str]
    items: list[Item]
    source: str  # where the class names came from, for messages
    unlabeled: list[Unlabeled] = field(default_factory=list)
    notes: dict[str, object] = field(default_factory=dict)  # reader facts the report repeats (label attribute...)


def load(items: list[Item], workers: int, stage: Path, class_ids: dict[str, int],
         usable: Callable[[Item], None] | None = None) -> None:
    """Decode the images of the items still valid, parse their labels, stage each usable image in ``stage`` and make
    its YOLO label text (class ids from ``class_ids``), on ``workers`` processes.

    Where worker processes decode, ``usable`` is called with each usable item as its result arrives (in input
    order), so that the caller's work on it overlaps theirs. In one process it is not called: there it would only
    interleave the same work with decoding, which measured 3% slower (0.1 s more CPU per 5000 images).
    """
    pending = [item for item in items if item.problem is None]
    stage.mkdir(parents=True, exist_ok=True)
    tasks = [(item.image_path, item.parse, stage, str(index), class_ids) for index, item in enumerate(pending)]
    hand_over = usable if worker_count(len(tasks), workers) > 1 else None
    for item, (info, boxes, problem, staged, yolo_labels) in zip(pending, inspect_all(tasks, workers), strict=True):
        item.info, item.boxes, item.problem, item.staged, item.yolo_labels = info, boxes, problem, staged, yolo_labels
        if hand_over is not None and problem is None:
            hand_over(item)
