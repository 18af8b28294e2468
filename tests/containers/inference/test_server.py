"""The inference server as SageMaker runs it: a real gunicorn process on loopback, called over real HTTP.

The tiny test model is still unsure of itself after a few CPU epochs (its true detections score ~0.05-0.3), so the
detection tests ask for ``conf=0.05`` through the SageMaker custom-attributes header, as a client would.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.containers.inference.conftest import matched_objects
from tests.containers.inference.server import Server

LOW_CONF = {"X-Amzn-SageMaker-Custom-Attributes": "conf=0.05"}
NAMES = ["vehicle", "person", "building"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def predict(server, body: bytes, content_type: str = "image/jpeg", headers=None, path="/invocations"):
    reply = server.post(path, body, content_type, {**LOW_CONF, **(headers or {})})
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"] == "application/json"
    return reply.body["predictions"]


def assert_well_formed(prediction: dict, width: int, height: int) -> None:
    assert list(prediction) == ["class_id", "class_name", "confidence", "box", "box_normalized"]
    assert prediction["class_name"] == NAMES[prediction["class_id"]]
    assert 0.05 < prediction["confidence"] <= 1
    box, norm = prediction["box"], prediction["box_normalized"]
    assert 0 <= box["x1"] < box["x2"] <= width and 0 <= box["y1"] < box["y2"] <= height
    for key, size in (("x1", width), ("x2", width), ("y1", height), ("y2", height)):
        assert norm[key] == pytest.approx(box[key] / size, abs=1e-4)


@pytest.fixture(scope="module")
def server(served_opt_ml, tmp_path_factory):
    """One live server (ONNX backend, 2 workers) for the module; MAX_PAYLOAD_MB=1 so that the 413 case sends little."""
    with Server(served_opt_ml, tmp_path_factory.mktemp("server") / "server.log", {"MAX_PAYLOAD_MB": "1"}) as live:
        live.wait_ready()
        yield live


def test_ping_is_200_once_the_model_is_loaded(server):
    reply = server.get("/ping")
    assert (reply.status, reply.body) == (200, {"status": "ok", "backend": "onnx"})


def test_jpeg_finds_the_labelled_objects_with_their_class(server, test_images):
    hits = 0
    for image in test_images:
        predictions = predict(server, image.jpeg)
        for prediction in predictions:
            assert_well_formed(prediction, image.width, image.height)
        hits += matched_objects(image, predictions) > 0
    assert hits >= len(test_images) / 2, f"only {hits} of {len(test_images)} test images had a correct detection"


@pytest.mark.parametrize("form", ["image/png", "application/x-image", "application/json", "data-url"])
def test_every_content_type_gives_the_jpeg_answer(server, test_images, form):
    for image in test_images:
        expected = predict(server, image.jpeg)
        if form == "image/png":  # lossless: the server decodes exactly the JPEG's pixels
            found = predict(server, image.as_format("PNG"), "image/png")
        elif form == "application/x-image":
            found = predict(server, image.jpeg, "application/x-image")
        else:
            encoded = b64(image.jpeg) if form == "application/json" else f"data:image/jpeg;base64,{b64(image.jpeg)}"
            found = predict(server, json.dumps({"image": encoded}).encode(), "application/json")
        assert found == expected


def test_instances_get_one_prediction_list_each_in_order(server, test_images):
    body = json.dumps({"instances": [{"image": b64(image.jpeg)} for image in test_images]}).encode()
    found = predict(server, body, "application/json")
    assert found == [predict(server, image.jpeg) for image in test_images]


def test_line_wrapped_base64_is_accepted(server, test_images):
    wrapped = base64.encodebytes(test_images[0].jpeg).decode()  # 76-column lines, as the base64 CLI writes
    assert "\n" in wrapped
    found = predict(server, json.dumps({"image": wrapped}).encode(), "application/json")
    assert found == predict(server, test_images[0].jpeg)


def faint(server, image) -> list[dict]:
    """Everything the model sees in ``image`` above conf=0.001: plenty of boxes to cap and filter."""
    found = predict(server, image.jpeg, headers={"X-Amzn-SageMaker-Custom-Attributes": "conf=0.001"})
    assert len(found) >= 3, found
    return found


def test_max_det_from_the_query_string_keeps_the_best(server, test_images):
    everything = faint(server, test_images[0])
    found = predict(server, test_images[0].jpeg, path="/invocations?conf=0.001&max_det=2")
    assert found == everything[:2]


def test_options_override_in_order_header_query_json(server, test_images):
    image = test_images[0]
    everything = faint(server, image)
    strict = {"X-Amzn-SageMaker-Custom-Attributes": "trace=abc, conf=0.99;max_det=3"}  # other keys are ignored
    assert predict(server, image.jpeg, headers=strict) == []
    assert predict(server, image.jpeg, headers=strict, path="/invocations?conf=0.001") == everything[:3]
    body = json.dumps({"image": b64(image.jpeg), "conf": 0.01, "max_det": 2}).encode()
    assert predict(server, body, "application/json", headers=strict, path="/invocations?conf=0.9") == everything[:2]


def test_a_higher_conf_keeps_only_the_surer_boxes(server, test_images):
    everything = faint(server, test_images[0])
    middle = len(everything) // 2
    cut = (everything[middle - 1]["confidence"] + everything[middle]["confidence"]) / 2  # between two rounded scores
    found = predict(server, test_images[0].jpeg, path=f"/invocations?conf={cut}")
    assert found == [p for p in everything if p["confidence"] > cut]


BAD_REQUESTS = [
    # (id, path, content type, body, extra headers, status, words of the error)
    ("unsupported type", "/invocations", "text/csv", b"1,2,3", {}, 415, "unsupported content type 'text/csv'"),
    ("form content type (curl's default)", "/invocations", "application/x-www-form-urlencoded", b"\xff\xd8", {}, 415,
     "unsupported content type 'application/x-www-form-urlencoded'"),
    ("empty body", "/invocations", "image/jpeg", b"", {}, 400, "empty request body"),
    ("not an image", "/invocations", "image/png", b"this is not a png", {}, 400,
     "could not decode the request body as an image"),
    ("truncated jpeg", "/invocations", "image/jpeg", "TRUNCATED", {}, 400,
     "could not decode the request body as an image"),
    ("bad json", "/invocations", "application/json", b'{"image": ', {}, 400, "request body is not valid JSON"),
    ("json list", "/invocations", "application/json", b"[1]", {}, 400, "JSON body must be an object"),
    ("bad base64", "/invocations", "application/json", b'{"image": "not base64!"}', {}, 400,
     "field 'image' is not valid base64"),
    ("base64 of text", "/invocations", "application/json", b'{"image": "aGVsbG8="}', {}, 400,
     "could not decode field 'image' as an image"),
    ("image and instances", "/invocations", "application/json", b'{"image": "", "instances": []}', {}, 400,
     "exactly one of 'image'"),
    ("unknown field", "/invocations", "application/json", b'{"img": "x"}', {}, 400, "unknown JSON field(s) 'img'"),
    ("empty instances", "/invocations", "application/json", b'{"instances": []}', {}, 400,
     "'instances' must be a non-empty list"),
    ("bad instance", "/invocations", "application/json", b'{"instances": [{"image": "x", "k": 1}]}', {}, 400,
     "instances[0] must be an object with only an 'image' field"),
    ("conf not a number", "/invocations?conf=high", "image/jpeg", "VALID", {}, 400,
     "option 'conf' in the query string must be a number, got 'high'"),
    ("conf over 1", "/invocations", "image/jpeg", "VALID", {"X-Amzn-SageMaker-Custom-Attributes": "conf=1.5"}, 400,
     "option 'conf' in X-Amzn-SageMaker-Custom-Attributes must be between 0 and 1, got '1.5'"),
    ("conf without value", "/invocations", "image/jpeg", "VALID", {"X-Amzn-SageMaker-Custom-Attributes": "conf"},
     400, "option 'conf' in X-Amzn-SageMaker-Custom-Attributes has no value"),
    ("iou negative", "/invocations?iou=-0.1", "image/jpeg", "VALID", {}, 400, "option 'iou' in the query string"),
    ("max_det zero", "/invocations?max_det=0", "image/jpeg", "VALID", {}, 400,
     "option 'max_det' in the query string must be an integer from 1 to 1000, got '0'"),
    ("max_det fraction", "/invocations", "application/json", "JSON max_det=2.5", {}, 400,
     "option 'max_det' in the JSON body must be an integer"),
    ("conf is nan", "/invocations?conf=nan", "image/jpeg", "VALID", {}, 400, "must be a finite number"),
    ("unknown option", "/invocations?confidence=0.5", "image/jpeg", "VALID", {}, 400,
     "unknown option 'confidence' in the query string"),
    ("accept csv", "/invocations", "image/jpeg", "VALID", {"Accept": "text/csv"}, 406,
     "cannot answer with Accept 'text/csv'"),
    ("too large", "/invocations", "image/jpeg", "8 MB", {}, 413, "request body is larger than MAX_PAYLOAD_MB (1 MB)"),
    ("unknown path", "/predict", "image/jpeg", "VALID", {}, 404, "not found"),
]


def body_for(marker: bytes | str, image) -> bytes:
    """Request bodies that need the sample image are named by a marker string."""
    if isinstance(marker, bytes):
        return marker
    return {
        "VALID": image.jpeg,
        "TRUNCATED": image.jpeg[: len(image.jpeg) // 2],
        "JSON max_det=2.5": json.dumps({"image": b64(image.jpeg), "max_det": 2.5}).encode(),
        "8 MB": image.jpeg + bytes(8 * 2**20),  # more than loopback buffers: the server must read it to answer
    }[marker]


@pytest.mark.parametrize(("path", "content_type", "marker", "headers", "status", "words"),
                         [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS])
def test_bad_requests_get_their_4xx_and_a_json_error(server, test_images, path, content_type, marker, headers, status,
                                                     words):
    reply = server.post(path, body_for(marker, test_images[0]), content_type, headers)
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"] == "application/json"
    assert list(reply.body) == ["error"] and words in reply.body["error"], reply.body


def test_get_on_invocations_is_405_json(server):
    reply = server.get("/invocations")
    assert reply.status == 405 and "error" in reply.body


def test_the_server_keeps_answering_after_bad_requests(server, test_images):
    for _id, path, content_type, marker, headers, status, _words in BAD_REQUESTS:
        assert server.post(path, body_for(marker, test_images[0]), content_type, headers).status == status
    assert server.get("/ping").status == 200
    assert predict(server, test_images[0].jpeg) == predict(server, test_images[0].jpeg)
    log = server.output()
    assert server.process.poll() is None
    assert log.count("Booting worker") == 2, log  # no worker died and was replaced
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log, log
