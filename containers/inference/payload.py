"""Turning an ``/invocations`` request body into images (and any detection options it carries).

Accepted: raw image bytes as ``image/jpeg``, ``image/png`` or ``application/x-image`` (any format Pillow reads), or
``application/json`` with ``{"image": <base64>}`` (one image) or ``{"instances": [{"image": <base64>}, ...]}``
(a batch). JSON bodies may also carry ``conf``, ``iou`` and ``max_det`` at the top level.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "application/x-image"})
JSON_TYPE = "application/json"
MAX_IMAGE_PIXELS = 50_000_000  # ~150 MB decoded; a few-MB PNG can otherwise decode to gigabytes
OPTION_KEYS = frozenset({"conf", "iou", "max_det"})


class PayloadError(ValueError):
    """A request body the server cannot use; ``status`` is the HTTP answer (400 or 415)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Payload:
    """The decoded images; ``batch`` is true for ``instances`` (one prediction list per image in the answer)."""

    images: list[Image.Image]
    batch: bool = False
    options: dict[str, Any] = field(default_factory=dict)


def parse(content_type: str, body: bytes) -> Payload:
    """Decode a request body according to its (lower-case, parameter-free) content type.

    Raises:
        PayloadError: 415 for an unsupported content type, 400 for an empty body, bad JSON or an undecodable image.
    """
    if content_type not in IMAGE_TYPES and content_type != JSON_TYPE:
        allowed = ", ".join(sorted(IMAGE_TYPES | {JSON_TYPE}))
        raise PayloadError(f"unsupported content type {content_type or '(none)'!r}: use one of {allowed}", 415)
    if not body:
        raise PayloadError("empty request body: send the image bytes, or JSON with a base64 'image'")
    if content_type in IMAGE_TYPES:
        return Payload([decode_image(body, "the request body")])
    return _parse_json(body)


def decode_image(data: bytes, what: str) -> Image.Image:
    """A fully decoded RGB image, upright per its EXIF orientation.

    Raises:
        PayloadError: the bytes are not an image Pillow can decode, or it has more than ``MAX_IMAGE_PIXELS`` pixels.
    """
    if not data:
        raise PayloadError(f"{what} is empty: expected image bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise PayloadError(f"{what} is {width}x{height} pixels, more than the {MAX_IMAGE_PIXELS} allowed: "
                                   "downscale it before sending")
            image.load()
            return (ImageOps.exif_transpose(image) or image).convert("RGB")
    except PayloadError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise PayloadError(f"could not decode {what} as an image ({type(exc).__name__}: {exc})") from None


def _parse_json(body: bytes) -> Payload:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PayloadError("JSON body must be an object with 'image' or 'instances'")
    options = {key: document[key] for key in OPTION_KEYS & document.keys()}
    unknown = sorted(document.keys() - OPTION_KEYS - {"image", "instances"})
    if unknown:
        raise PayloadError(f"unknown JSON field(s) {', '.join(map(repr, unknown))}: "
                           "allowed are image or instances, conf, iou, max_det")
    if ("image" in document) == ("instances" in document):
        raise PayloadError("JSON body must have exactly one of 'image' (base64) or 'instances' (a list)")
    if "image" in document:
        return Payload([_b64_image(document["image"], "field 'image'")], options=options)
    instances = document["instances"]
    if not isinstance(instances, list) or not instances:
        raise PayloadError("'instances' must be a non-empty list of {\"image\": <base64>} objects")
    images = []
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict) or set(instance) != {"image"}:
            raise PayloadError(f"instances[{index}] must be an object with only an 'image' field (base64)")
        images.append(_b64_image(instance["image"], f"instances[{index}].image"))
    return Payload(images, batch=True, options=options)


def _b64_image(value: object, what: str) -> Image.Image:
    if not isinstance(value, str):
        raise PayloadError(f"{what} must be a base64 string, got {type(value).__name__}")
    if value.startswith("data:") and "," in value:  # a data URL: data:image/png;base64,....
        value = value.split(",", 1)[1]
    try:
        data = base64.b64decode("".join(value.split()), validate=True)  # line-wrapped base64 (the CLI's) is fine
    except (binascii.Error, ValueError) as exc:
        raise PayloadError(f"{what} is not valid base64 ({exc})") from None
    return decode_image(data, what)
