"""Smoke test of a deployed stage: invoke the endpoint with a sample image, validate every response against the
inference contract and check the p95 latency against the stage's budget. "InService" is not enough.

The contract (containers/README.md, the inference image): ``{"predictions": [{"class_id", "class_name",
"confidence", "box": {x1, y1, x2, y2} pixels, "box_normalized": {x1..y2} 0-1}, ...]}``; boxes lie inside the image,
class names are those of the model's model.json. The endpoint is injected as ``invoke(body, content_type) -> bytes``:
CodeBuild passes SageMaker Runtime's InvokeEndpoint, local mode and the tests an HTTP POST to /invocations.
Standard library only (boto3 is imported by ``main`` for CodeBuild), so the same file runs everywhere.

    python test/smoke_test.py --endpoint-name NAME --stage-config staging-config.json --model-json model.json
    python test/smoke_test.py --url http://127.0.0.1:PORT/invocations --stage-config ... --model-json ...
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Invoke = Callable[[bytes, str], bytes]
SAMPLE_IMAGE = Path(__file__).with_name("sample.png")
DEFAULTS = {"requests": 20, "p95_latency_ms": 2000.0, "min_detections": 0}
_EPSILON = 0.5  # pixels of rounding slack on box coordinates


@dataclass
class SmokeResult:
    requests: int
    p95_latency_ms: float
    budget_ms: float
    detections: int
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = (f"{self.requests} requests, p95 {self.p95_latency_ms:.1f} ms (budget {self.budget_ms:g} ms), "
                f"{self.detections} detections in the last response")
        return head if self.passed else head + "\n" + "\n".join(f"- {p}" for p in self.problems)


def png_size(image: bytes) -> tuple[int, int]:
    """(width, height) from a PNG header."""
    if image[:8] != b"\x89PNG\r\n\x1a\n" or image[12:16] != b"IHDR":
        raise ValueError("the sample image must be a PNG")
    width, height = struct.unpack(">II", image[16:24])
    return width, height


def class_names(model_json: dict) -> list[str]:
    """The class names by id from model.json (``class_names`` or ``names``, a list or an id -> name mapping)."""
    names = model_json.get("class_names", model_json.get("names"))
    if isinstance(names, dict):
        names = [names[key] for key in sorted(names, key=int)]
    if not isinstance(names, list) or not names:
        raise ValueError("model.json has no class names ('class_names' or 'names')")
    return [str(name) for name in names]


def contract_problems(body: bytes, width: int, height: int, names: Sequence[str]) -> list[str]:
    """Everything in one response that breaks the inference contract (empty when it holds)."""
    try:
        answer = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"the response is not JSON ({exc}): {body[:120]!r}"]
    if not isinstance(answer, dict) or not isinstance(answer.get("predictions"), list):
        return [f"the response has no 'predictions' list: {str(answer)[:120]}"]
    problems = []
    for index, item in enumerate(answer["predictions"]):
        where = f"prediction {index}"
        if not isinstance(item, dict):
            problems.append(f"{where} is not an object: {item!r}")
            continue
        class_id = item.get("class_id")
        if not isinstance(class_id, int) or not 0 <= class_id < len(names):
            problems.append(f"{where}: class_id {class_id!r} is not a class of model.json (0..{len(names) - 1})")
        elif item.get("class_name") != names[class_id]:
            problems.append(f"{where}: class_name {item.get('class_name')!r} is not {names[class_id]!r} "
                            f"(model.json's name of class {class_id})")
        confidence = item.get("confidence")
        if not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
            problems.append(f"{where}: confidence {confidence!r} is not in [0, 1]")
        problems += _box_problems(where, "box", item.get("box"), width, height)
        problems += _box_problems(where, "box_normalized", item.get("box_normalized"), 1, 1)
    return problems


def _box_problems(where: str, key: str, box: object, width: float, height: float) -> list[str]:
    corners = ("x1", "y1", "x2", "y2")
    if not isinstance(box, dict) or not all(isinstance(box.get(c), (int, float)) for c in corners):
        return [f"{where}: {key} is not {{x1, y1, x2, y2}} numbers: {box!r}"]
    slack = _EPSILON if width > 1 else 1e-3
    x1, y1, x2, y2 = (box[c] for c in corners)
    inside = -slack <= x1 <= x2 <= width + slack and -slack <= y1 <= y2 <= height + slack
    return [] if inside else [f"{where}: {key} {box} is not inside the {width:g}x{height:g} image"]


def p95(values: Sequence[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def run(invoke: Invoke, names: Sequence[str], *, image: bytes | None = None, requests: int = 20,
        p95_latency_ms: float = 2000.0, min_detections: int = 0) -> SmokeResult:
    """Send ``image`` ``requests`` times; every response must hold to the contract (with at least
    ``min_detections`` boxes, for a sample image whose objects the model must find) and the p95 to the budget."""
    image = image if image is not None else SAMPLE_IMAGE.read_bytes()
    width, height = png_size(image)
    latencies, problems, detections = [], [], 0
    for attempt in range(requests):
        started = time.perf_counter()
        try:
            body = invoke(image, "image/png")
        except Exception as exc:  # noqa: BLE001 - any failure to get an answer is the finding
            problems.append(f"request {attempt + 1} failed: {exc}")
            break
        latencies.append((time.perf_counter() - started) * 1000)
        found = contract_problems(body, width, height, names)
        if found:
            problems += [f"request {attempt + 1}: {p}" for p in found]
            break
        detections = len(json.loads(body)["predictions"])
        if detections < min_detections:
            problems.append(f"request {attempt + 1}: {detections} detections, the stage expects at least "
                            f"{min_detections} in the sample image")
            break
    latency = p95(latencies) if latencies else float("nan")
    if latencies and latency > p95_latency_ms:
        problems.append(f"p95 latency {latency:.1f} ms is over the stage budget of {p95_latency_ms:g} ms")
    return SmokeResult(len(latencies), latency, p95_latency_ms, detections, problems)


def stage_settings(stage_config: dict) -> dict:
    """The ``SmokeTest`` section of a stage config, with defaults."""
    return {**DEFAULTS, **stage_config.get("SmokeTest", {})}


def http_invoke(invocations_url: str, timeout_s: float = 60.0) -> Invoke:
    """POST to an endpoint's /invocations URL (a local endpoint, the inference server itself)."""
    import urllib.request

    def invoke(body: bytes, content_type: str) -> bytes:
        request = urllib.request.Request(invocations_url, data=body, method="POST",
                                         headers={"Content-Type": content_type, "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.read()

    return invoke


def sagemaker_invoke(endpoint_name: str, region: str | None = None) -> Invoke:
    import boto3

    runtime = boto3.client("sagemaker-runtime", region_name=region)

    def invoke(body: bytes, content_type: str) -> bytes:
        return runtime.invoke_endpoint(EndpointName=endpoint_name, ContentType=content_type,
                                       Accept="application/json", Body=body)["Body"].read()

    return invoke


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--endpoint-name", help="a SageMaker endpoint (InvokeEndpoint)")
    target.add_argument("--url", help="an /invocations URL instead (a local endpoint)")
    parser.add_argument("--stage-config", required=True, help="staging-config.json (its SmokeTest section)")
    parser.add_argument("--model-json", required=True, help="the deployed model's model.json (written by build.py)")
    parser.add_argument("--image", help="a PNG (default: test/sample.png)")
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    settings = stage_settings(json.loads(Path(args.stage_config).read_text()))
    names = class_names(json.loads(Path(args.model_json).read_text()))
    image = Path(args.image).read_bytes() if args.image else None
    invoke = http_invoke(args.url) if args.url else sagemaker_invoke(args.endpoint_name, args.region)
    result = run(invoke, names, image=image, requests=int(settings["requests"]),
                 p95_latency_ms=float(settings["p95_latency_ms"]), min_detections=int(settings["min_detections"]))
    verdict = "passed" if result.passed else "FAILED"
    print(f"smoke test of {args.url or args.endpoint_name}: {verdict}: {result.summary()}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
