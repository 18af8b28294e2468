"""Request parsing in-process: detection options from their three sources, and request bodies to images."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from PIL import Image

from containers.inference import payload
from containers.inference.options import DetectionOptions, OptionsError, parse_custom_attributes
from containers.inference.payload import PayloadError, decode_image, parse


def encoded(image: Image.Image, fmt: str = "PNG", **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def test_defaults_are_ultralytics_predict_defaults():
    assert DetectionOptions() == DetectionOptions(conf=0.25, iou=0.7, max_det=300)


def test_options_accept_numbers_and_numeric_strings():
    options = DetectionOptions().updated({"conf": "0.3", "iou": 0.5, "max_det": "50"}, "test")
    assert options == DetectionOptions(conf=0.3, iou=0.5, max_det=50)
    assert DetectionOptions().updated({"max_det": 7.0}, "test").max_det == 7
    assert DetectionOptions().updated({"conf": 0, "iou": 1}, "test") == DetectionOptions(conf=0.0, iou=1.0)


@pytest.mark.parametrize(("values", "words"), [
    ({"conf": True}, "option 'conf' in src must be a number, got True"),
    ({"conf": None}, "option 'conf' in src must be a number, got None"),
    ({"iou": [0.5]}, "option 'iou' in src must be a number"),
    ({"iou": "inf"}, "option 'iou' in src must be a finite number"),
    ({"conf": "-0.01"}, "option 'conf' in src must be between 0 and 1, got '-0.01'"),
    ({"max_det": 1001}, "option 'max_det' in src must be an integer from 1 to 1000, got 1001"),
    ({"max_det": "3.5"}, "option 'max_det' in src must be an integer from 1 to 1000, got '3.5'"),
    ({"classes": "1"}, "unknown option 'classes' in src: allowed are conf, iou, max_det"),
])
def test_bad_options_name_the_option_its_source_and_the_rule(values, words):
    with pytest.raises(OptionsError, match="^" + re.escape(words)):
        DetectionOptions().updated(values, "src")


def test_custom_attributes_take_our_keys_and_ignore_the_rest():
    header = "trace-id=abc-123; conf = 0.4 ,max_det=9,flag,iou=0.6"
    assert parse_custom_attributes(header) == {"conf": "0.4", "max_det": "9", "iou": "0.6"}
    assert parse_custom_attributes("") == {}


def test_a_custom_attribute_of_ours_without_a_value_is_an_error():
    with pytest.raises(OptionsError, match="option 'iou' in X-Amzn-SageMaker-Custom-Attributes has no value"):
        parse_custom_attributes("iou, conf=0.2")


def test_raw_image_types_decode_to_rgb():
    for mode, fmt in (("L", "PNG"), ("RGBA", "PNG"), ("P", "PNG"), ("CMYK", "JPEG")):
        found = parse(f"image/{fmt.lower()}", encoded(Image.new(mode, (30, 20)), fmt))
        assert not found.batch and found.options == {}
        assert [(i.mode, i.size) for i in found.images] == [("RGB", (30, 20))]


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees
    data = encoded(Image.new("RGB", (40, 10), (200, 0, 0)), "JPEG", exif=exif)
    assert decode_image(data, "it").size == (10, 40)


def test_json_carries_options_and_instances():
    b64 = base64.b64encode(encoded(Image.new("RGB", (8, 8)))).decode()
    found = parse("application/json", json.dumps({"instances": [{"image": b64}] * 3, "iou": 0.4}).encode())
    assert found.batch and len(found.images) == 3 and found.options == {"iou": 0.4}


def test_a_huge_image_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(payload, "MAX_IMAGE_PIXELS", 100 * 100)
    with pytest.raises(PayloadError, match="the request body is 101x100 pixels, more than the 10000 allowed"):
        parse("image/png", encoded(Image.new("L", (101, 100))))
    assert parse("image/png", encoded(Image.new("L", (100, 100)))).images[0].size == (100, 100)


@pytest.mark.parametrize(("content_type", "body", "status", "words"), [
    ("text/plain", b"x", 415, "unsupported content type 'text/plain'"),
    ("", b"x", 415, "unsupported content type '(none)'"),
    ("image/png", b"", 400, "empty request body"),
    ("application/json", b"\xff\xfe", 400, "request body is not valid JSON"),
    ("application/json", b'"just a string"', 400, "JSON body must be an object"),
    ("application/json", b'{"image": 5}', 400, "field 'image' must be a base64 string, got int"),
    ("application/json", b'{"image": ""}', 400, "field 'image' is empty: expected image bytes"),
    ("application/json", b'{"instances": {"image": "x"}}', 400, "'instances' must be a non-empty list"),
    ("application/json", b'{"instances": ["x"]}', 400, "instances[0] must be an object with only an 'image' field"),
    ("application/json", b'{"instances": [{"image": "@@"}]}', 400, r"instances[0].image is not valid base64"),
])
def test_bad_bodies_get_a_status_and_a_reason(content_type, body, status, words):
    with pytest.raises(PayloadError) as caught:
        parse(content_type, body)
    assert caught.value.status == status and words in str(caught.value)
