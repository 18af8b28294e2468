"""The WSGI app: SageMaker's ``GET /ping`` and ``POST /invocations``, with every error as a JSON body.

Answers for ``POST /invocations``:

- one image (raw bytes, or JSON ``{"image": ...}``): ``{"predictions": [<detection>, ...]}``;
- a batch (JSON ``{"instances": [...]}``): ``{"predictions": [[<detection>, ...], ...]}``, one list per instance,
  in order;
- where ``<detection>`` is ``{"class_id", "class_name", "confidence", "box": {"x1", "y1", "x2", "y2"},
  "box_normalized": {...}}`` (pixels of the image as sent, after its EXIF rotation; normalised by its size).

Errors: 400 bad body or option, 406 ``Accept`` without JSON, 408 a body that stopped arriving
(``MODEL_SERVER_READ_TIMEOUT``), 413 body over ``MAX_PAYLOAD_MB``, 415 content type, 503 model not loaded (failed, or
still loading after a wait); each as ``{"error": "..."}``. A bad request never takes a worker down.
"""

from __future__ import annotations

import logging
import threading
from typing import BinaryIO

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import ClientDisconnected, HTTPException

from containers.inference.loader import ModelHolder
from containers.inference.options import DetectionOptions, OptionsError, parse_custom_attributes
from containers.inference.payload import JSON_TYPE, PayloadError, parse

CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
DRAIN_LIMIT = 100 * 2**20  # SageMaker batch transform's largest payload; beyond it the connection is just closed

log = logging.getLogger(__name__)


def error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def drain(body: BinaryIO, limit: int = DRAIN_LIMIT) -> None:
    """Read and drop an unread request body (up to ``limit`` bytes).

    Most clients (urllib, requests, boto3) send the whole body before reading the answer; closing the socket on unread
    data resets the connection and they see a broken pipe instead of the 413.
    """
    left = limit
    while left > 0 and (chunk := body.read(min(left, 1 << 20))):
        left -= len(chunk)


def create_app(holder: ModelHolder, names: tuple[str, ...], max_payload_bytes: int, load_wait: float) -> Flask:
    """The app of one worker; ``holder`` loads its predictor, ``names`` are the class names by id.

    ``/ping`` tells this worker's state at once (SageMaker polls it), but an invocation that reaches a worker still
    loading waits up to ``load_wait`` seconds for it: another worker may already have answered the ping with 200.
    """
    app = Flask(__name__)
    # One inference at a time per worker: the model already uses this worker's share of the cores, and an
    # Ultralytics predictor is not thread-safe. Reading, decoding and /ping run beside it on other threads.
    predicting = threading.Lock()
    app.config["MAX_CONTENT_LENGTH"] = max_payload_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documented field order

    @app.get("/ping")
    def ping():
        if holder.predictor is not None:
            return jsonify(status="ok", backend=holder.predictor.backend)
        if holder.error is not None:
            return error(503, f"model failed to load: {holder.error}")
        return error(503, "model is loading")

    @app.post("/invocations")
    def invocations():
        holder.wait(load_wait)
        predictor = holder.predictor
        if predictor is None:
            return error(503, f"model failed to load: {holder.error}" if holder.error else
                         "model is loading: retry when GET /ping answers 200")
        accept = request.accept_mimetypes
        if accept.provided and accept.quality(JSON_TYPE) <= 0:
            return error(406, f"cannot answer with Accept {request.headers.get('Accept')!r}: "
                              f"responses are {JSON_TYPE}")
        try:
            body = request.get_data(cache=False)
        except ClientDisconnected:  # the body ended early, or the socket's read timeout fired (worker.py)
            return error(408, "the request body stopped arriving before it was complete: send it in one go")
        try:
            payload = parse(request.mimetype, body)
            options = (DetectionOptions()
                       .updated(parse_custom_attributes(request.headers.get(CUSTOM_ATTRIBUTES, "")), CUSTOM_ATTRIBUTES)
                       .updated(request.args.to_dict(), "the query string")
                       .updated(payload.options, "the JSON body"))
        except PayloadError as exc:
            return error(exc.status, str(exc))
        except OptionsError as exc:
            return error(400, str(exc))
        with predicting:
            found = [predictor.predict(image, options).to_json(names) for image in payload.images]
        return jsonify(predictions=found if payload.batch else found[0])

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 413:
            drain(request.environ["wsgi.input"])
            return error(413, f"request body is larger than MAX_PAYLOAD_MB ({max_payload_bytes / 2**20:g} MB)")
        return error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error(500, f"internal error: {type(exc).__name__}: {exc}")

    return app
