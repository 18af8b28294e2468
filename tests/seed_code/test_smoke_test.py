"""The seed code's smoke test over real HTTP: it passes against a local endpoint (the real inference server with a
model whose detections are fixed) and fails, saying why, against servers that break the contract or the budget."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.local import start_endpoint, stop_endpoint
from tests.seed_code.conftest import CLASS_NAMES, tiny_model

GOOD = {"class_id": 0, "class_name": "circle", "confidence": 0.9,
        "box": {"x1": 10.0, "y1": 10.0, "x2": 30.0, "y2": 30.0},
        "box_normalized": {"x1": 0.0625, "y1": 0.0625, "x2": 0.1875, "y2": 0.1875}}


@pytest.fixture
def serving(tmp_path):
    """A stand-in endpoint on a loopback port answering every POST with ``serving.body``."""

    class Handler(BaseHTTPRequestHandler):
        body = b""

        def do_POST(self):  # noqa: N802 - the http.server API
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(Handler.body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Handler, f"http://127.0.0.1:{server.server_port}/invocations"
    server.shutdown()
    server.server_close()


def test_passes_against_a_local_endpoint(smoke_test, tmp_path):
    model = tiny_model(tmp_path / "model")
    endpoint = start_endpoint(tmp_path / "state", "demo-staging", model, timeout_s=120)
    try:
        result = smoke_test.run(smoke_test.http_invoke(endpoint.invocations_url), CLASS_NAMES, requests=5,
                                p95_latency_ms=60_000, min_detections=2)
    finally:
        stop_endpoint(tmp_path / "state", "demo-staging")
    assert result.passed, result.summary()
    assert result.requests == 5 and result.detections == 2


@pytest.mark.parametrize(("predictions", "reason"), [
    ([{**GOOD, "box": {"x1": 10.0, "y1": 10.0, "x2": 500.0, "y2": 30.0}}],
     "prediction 0: box {'x1': 10.0, 'y1': 10.0, 'x2': 500.0, 'y2': 30.0} is not inside the 160x160 image"),
    ([{**GOOD, "class_name": "triangle"}], "prediction 0: class_name 'triangle' is not 'circle'"),
    ([{**GOOD, "class_id": 7}], "prediction 0: class_id 7 is not a class of model.json (0..1)"),
    ([{k: v for k, v in GOOD.items() if k != "box_normalized"}], "prediction 0: box_normalized is not"),
    ({"boxes": []}, "the response has no 'predictions' list"),
])
def test_fails_with_the_reason_against_malformed_predictions(smoke_test, serving, predictions, reason):
    handler, url = serving
    handler.body = json.dumps({"predictions": predictions} if isinstance(predictions, list) else predictions).encode()
    result = smoke_test.run(smoke_test.http_invoke(url), CLASS_NAMES, requests=3, p95_latency_ms=60_000)
    assert not result.passed
    assert reason in result.summary()


def test_the_command_line_fails_with_the_reason(smoke_test, serving, rendered, tmp_path, capsys):
    handler, url = serving
    handler.body = b"<html>oops</html>"
    (tmp_path / "model.json").write_text(json.dumps({"class_names": CLASS_NAMES}))
    code = smoke_test.main(["--url", url, "--stage-config", str(rendered["modeldeploy"] / "staging-config.json"),
                            "--model-json", str(tmp_path / "model.json")])
    assert code == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "request 1: the response is not JSON" in out


def test_a_p95_over_the_stage_budget_fails(smoke_test, serving):
    handler, url = serving
    handler.body = json.dumps({"predictions": [GOOD]}).encode()
    assert smoke_test.run(smoke_test.http_invoke(url), CLASS_NAMES, requests=4, p95_latency_ms=60_000).passed
    slow = smoke_test.run(smoke_test.http_invoke(url), CLASS_NAMES, requests=4, p95_latency_ms=0.000001)
    assert "is over the stage budget of 1e-06 ms" in slow.summary()


def test_fewer_detections_than_the_stage_expects_fail(smoke_test, serving):
    handler, url = serving
    handler.body = json.dumps({"predictions": [GOOD]}).encode()
    result = smoke_test.run(smoke_test.http_invoke(url), CLASS_NAMES, requests=2, min_detections=2)
    assert "request 1: 1 detections, the stage expects at least 2 in the sample image" in result.summary()
