"""Boxes in the normalized YOLO form every input format is converted to, and the checks they all share."""

from __future__ import annotations

import math
from typing import NamedTuple

from containers.common.contract import JobFailure
from containers.processing.safepath import printable, shown

# Labelling tools round box corners: an edge up to 1% of the image outside the frame is accepted as-is.
EDGE_TOLERANCE = 0.01


class LabelError(ValueError):
    """A label that cannot be used; the message is the rejection reason of its image."""


class Box(NamedTuple):
    """One object: its class name and its normalized center and size. A named tuple: workers send thousands of these
    to the parent, and a tuple pickles at a fraction of a dataclass's cost."""

    class_name: str
    x_center: float
    y_center: float
    width: float
    height: float

    def yolo_line(self, class_id: int) -> str:
        return f"{class_id} {self.x_center:.6f} {self.y_center:.6f} {self.width:.6f} {self.height:.6f}"


def yolo_box(class_name: str, x_center: float, y_center: float, width: float, height: float) -> Box:
    """A checked box from normalized coordinates.

    Raises:
        LabelError: a value is not finite or outside [0, 1], the area is not positive, or the box leaves the image.
    """
    values = (x_center, y_center, width, height)
    if not all(math.isfinite(v) for v in values):
        raise LabelError(f"box coordinates are not finite numbers: {values}")
    if width <= 0 or height <= 0:
        raise LabelError(f"box has zero or negative area (width {width:g}, height {height:g})")
    if not all(0.0 <= v <= 1.0 for v in values):
        raise LabelError(f"normalized box coordinates must lie in [0, 1], got {' '.join(f'{v:g}' for v in values)}")
    edges = (x_center - width / 2, y_center - height / 2, x_center + width / 2, y_center + height / 2)
    if min(edges) < -EDGE_TOLERANCE or max(edges) > 1 + EDGE_TOLERANCE:
        raise LabelError(f"box extends outside the image (edges {' '.join(f'{v:.4f}' for v in edges)})")
    return Box(class_name, *values)


def pixel_box(class_name: str, left: float, top: float, width: float, height: float,
              image_width: int, image_height: int) -> Box:
    """A checked box from a top-left corner and size in pixels (Ground Truth, COCO).

    Raises:
        LabelError: as :func:`yolo_box`.
    """
    return yolo_box(class_name, (left + width / 2) / image_width, (top + height / 2) / image_height,
                          width / image_width, height / image_height)


def check_class_names(names: list, where: str) -> list[str]:
    """The class list of a dataset: non-empty, unique strings.

    Raises:
        JobFailure: the list is empty, has a blank or non-string name, or repeats a name.
    """
    if not names:
        raise JobFailure(f"{where} defines no classes")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise JobFailure(f"{where} has an invalid class name {shown(name)}: class names must be non-empty strings")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise JobFailure(f"{where} lists class name(s) {', '.join(printable(n, 40) for n in repeated[:5])} more than "
                         "once: names must be unique")
    return list(names)
