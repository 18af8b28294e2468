"""A worker's model loading as its app sees it: /ping says "not yet", invocations wait, failures stay visible."""

from __future__ import annotations

import io
import threading

import numpy as np
from PIL import Image

from containers.inference.app import create_app
from containers.inference.detections import Detections
from containers.inference.loader import ModelHolder
from containers.inference.model_files import ModelError
from containers.inference.options import DetectionOptions


class OneBox:
    """A predictor that finds one box in the middle of any image."""

    backend = "stub"

    def predict(self, image: Image.Image, options: DetectionOptions) -> Detections:
        w, h = image.size
        return Detections(np.array([[w / 4, h / 4, 3 * w / 4, 3 * h / 4]]), np.array([0.9]), np.array([1]), w, h)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_ping_is_503_while_loading_and_an_invocation_waits_for_the_model():
    release = threading.Event()
    holder = ModelHolder(lambda: (release.wait(10), OneBox())[1]).start()
    client = create_app(holder, ("a", "b"), 2**20, load_wait=10).test_client()
    assert (client.get("/ping").status_code, client.get("/ping").json) == (503, {"error": "model is loading"})

    answers = []
    caller = threading.Thread(target=lambda: answers.append(client.post("/invocations", data=png(),
                                                                        content_type="image/png")))
    caller.start()
    caller.join(0.3)
    assert caller.is_alive() and not answers  # waiting for the model, not refused
    release.set()
    caller.join(10)
    assert answers[0].status_code == 200
    assert answers[0].json == {"predictions": [{
        "class_id": 1, "class_name": "b", "confidence": 0.9, "box": {"x1": 10.0, "y1": 5.0, "x2": 30.0, "y2": 15.0},
        "box_normalized": {"x1": 0.25, "y1": 0.25, "x2": 0.75, "y2": 0.75}}]}
    assert client.get("/ping").json == {"status": "ok", "backend": "stub"}


def test_an_invocation_gives_up_after_load_wait():
    release = threading.Event()
    holder = ModelHolder(lambda: (release.wait(10), OneBox())[1]).start()
    reply = create_app(holder, ("a", "b"), 2**20, load_wait=0.1).test_client().post(
        "/invocations", data=png(), content_type="image/png")
    release.set()
    assert reply.status_code == 503
    assert reply.json == {"error": "model is loading: retry when GET /ping answers 200"}


def test_a_failed_load_keeps_its_reason():
    def broken():
        raise ModelError("best.onnx predicts 4 classes but model.json names 3")

    holder = ModelHolder(broken).start()
    assert holder.wait(5)
    client = create_app(holder, ("a", "b", "c"), 2**20, load_wait=1).test_client()
    expected = {"error": "model failed to load: best.onnx predicts 4 classes but model.json names 3"}
    assert (client.get("/ping").status_code, client.get("/ping").json) == (503, expected)
    reply = client.post("/invocations", data=png(), content_type="image/png")
    assert (reply.status_code, reply.json) == (503, expected)


def test_an_unexpected_load_error_is_named_with_its_type():
    holder = ModelHolder(lambda: 1 / 0).start()
    assert holder.wait(5) and holder.error == "ZeroDivisionError: division by zero"
