"""Image checks: an image is usable only if Pillow decodes all of it, in a format YOLO training reads."""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import NamedTuple

from PIL import Image

# Pillow format -> the suffix the image is written with (the suffix follows the content, not the source name).
SUFFIXES = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "BMP": ".bmp", "WEBP": ".webp", "TIFF": ".tif"}


class ImageError(ValueError):
    """An image that cannot be used; the message is the rejection reason."""


class ImageInfo(NamedTuple):
    """What decoding found out about a usable image (a named tuple: it crosses from the workers, like Box)."""

    sha256: str
    format: str
    width: int
    height: int

    @property
    def suffix(self) -> str:
        return SUFFIXES[self.format]


def inspect_image(path: Path, copy_to: Path | None = None) -> ImageInfo:
    """Hash and fully decode one image file; a usable one is also put at ``copy_to`` (bytes unchanged): a hard link
    where the file system allows (no second copy of the dataset on the job's volume), else written from the bytes
    already read.

    Raises:
        ImageError: the file is missing, empty, corrupt, truncated, of zero size or in an unsupported format.
    """
    if not path.is_file():
        raise ImageError(f"image file not found: {path.name}")
    data = path.read_bytes()
    if not data:
        raise ImageError("empty image file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
            width, height = image.size  # from the header: a draft below decodes smaller
            if fmt == "PNG":  # load() skips PNG chunk checksums that verify() checks; JPEG's verify() checks nothing
                image.verify()
            else:
                if fmt in ("JPEG", "MPO"):
                    # libjpeg still entropy-decodes every block at 1/8 scale (truncated or corrupt data fails the
                    # same way) but skips most of the inverse DCT and colour work: about half the cost of a full
                    # decode. Training decodes the image again from the unchanged bytes.
                    image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
                image.load()
        if fmt == "PNG":
            with Image.open(io.BytesIO(data)) as image:  # verify() leaves the image unusable: decode a fresh one
                image.load()
    except Exception as exc:  # Pillow signals bad bytes with many exception types (OSError, SyntaxError, ...)
        raise ImageError(f"corrupt or truncated image: {type(exc).__name__}: {_without_addresses(exc)}") from exc
    if fmt not in SUFFIXES:
        raise ImageError(f"unsupported image format {fmt}: use one of {', '.join(sorted(set(SUFFIXES)))}")
    if width <= 0 or height <= 0:
        raise ImageError(f"image has zero size ({width}x{height})")
    if copy_to is not None:
        try:
            os.link(path, copy_to)
        except OSError:  # another file system (EXDEV), or one without hard links
            copy_to.write_bytes(data)
    return ImageInfo(hashlib.sha256(data).hexdigest(), fmt, width, height)


def _without_addresses(exc: Exception) -> str:
    """Pillow's message without object reprs (``cannot identify image file <_io.BytesIO object at 0x7f...>``): a
    memory address would make the report differ from run to run."""
    return re.sub(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>", "", str(exc))
