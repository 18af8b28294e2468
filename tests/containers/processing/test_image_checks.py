"""inspect_image decodes JPEGs at 1/8 scale: the same bad data must fail, and the size must be the full one."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw, UnidentifiedImageError

from containers.processing import images
from containers.processing.images import ImageError, inspect_image


def jpeg_bytes() -> bytes:
    rng = random.Random(0)
    image = Image.new("RGB", (640, 480), (90, 120, 60))
    draw = ImageDraw.Draw(image)
    for _ in range(2000):
        draw.point((rng.randrange(640), rng.randrange(480)), fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_a_good_jpeg_keeps_its_full_size(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg_bytes())
    info = inspect_image(path)
    assert (info.format, info.width, info.height) == ("JPEG", 640, 480)


def corrupt_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(0xFF if i % 7 else 0 for i in range(200)) + data[middle + 200:]


@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],
    lambda data: data[:-100],
    lambda data: data[:-3],
    corrupt_middle,
], ids=["half", "tail", "end marker", "corrupt scan data"])
def test_truncated_or_corrupt_scan_data_is_rejected(tmp_path, damage):
    path = tmp_path / "bad.jpg"
    path.write_bytes(damage(jpeg_bytes()))
    with pytest.raises(ImageError, match="corrupt or truncated image: OSError"):
        inspect_image(path)


def test_the_reason_for_bytes_that_are_no_image_is_the_same_every_run(tmp_path, monkeypatch):
    """Pillow names the BytesIO it was given, memory address included; the report must not differ by run. (Pillow's
    error is raised here by hand: ultralytics, once imported in a process, wraps Image.open and turns this error into
    a pi-heif install attempt.)"""
    def unidentified(*_args, **_kwargs):
        raise UnidentifiedImageError("cannot identify image file <_io.BytesIO object at 0x7f3b29fa4630>")

    monkeypatch.setattr(images.Image, "open", unidentified)
    path = tmp_path / "a.jpg"
    path.write_bytes(b"not an image")
    with pytest.raises(images.ImageError) as raised:
        images.inspect_image(path)
    assert str(raised.value) == "corrupt or truncated image: UnidentifiedImageError: cannot identify image file"
