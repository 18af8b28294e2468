"""What a reader makes of a raw dataset: its class names and one item per image, valid or with its rejection reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from containers.processing.images import ImageError, ImageInfo, inspect_image
from containers.processing.labels import Box, LabelError


@dataclass
class Item:
    """One image of the raw dataset (or an entry that should have been one).

    ``name`` identifies it in the report (a path relative to the input folder, or a manifest line); an item with a
    ``problem`` is rejected and never written.
    """

    name: str
    path: Path | None = None
    info: ImageInfo | None = None
    boxes: list[Box] = field(default_factory=list)
    problem: str | None = None

    @property
    def image_path(self) -> Path:
        """The image file of a valid item; :func:`load_item` sets it whenever ``problem`` is None."""
        assert self.path is not None, f"{self.name}: a rejected item has no image file"
        return self.path

    @property
    def image(self) -> ImageInfo:
        """The decoded image's facts of a valid item; :func:`load_item` sets them whenever ``problem`` is None."""
        assert self.info is not None, f"{self.name}: a rejected item has no image info"
        return self.info


@dataclass
class RawDataset:
    input_format: str
    class_names: list[str]
    items: list[Item]
    source: str  # where the class names came from, for messages


def load_item(name: str, path: Path, parse_labels: Callable[[ImageInfo], list[Box]]) -> Item:
    """Validate an image, then parse its labels against its real size; a failure becomes the item's problem."""
    try:
        info = inspect_image(path)
    except ImageError as exc:
        return Item(name, path, problem=str(exc))
    try:
        return Item(name, path, info, parse_labels(info))
    except LabelError as exc:
        return Item(name, path, info, problem=str(exc))
