"""What does the inference server cost on top of the model? The real server against the same work in-process.

Both sides do the same work per request: decode the JPEG, letterbox, ONNX Runtime, decode + NMS, detections as JSON
dicts. Pre- and post-processing are INCLUDED on both sides, so the difference is the server's own cost (loopback
HTTP, gunicorn, Flask, request parsing, JSON):
  server  python -m containers.inference.serve serve (ONNX backend, --workers gthread workers) on 127.0.0.1, called
          by urllib client threads (one connection per request)
  raw     OnnxPredictor in this process, with the intra-op threads of one server worker and its malloc settings
          (allocator.py), called by the same threads
Concurrency 1 and 8, --requests each after a warm-up, cycling over the same images (Ultralytics' bus.jpg and
zidane.jpg, 810x1080 and 1280x720). Printed: p50/p95 latency and throughput per side and concurrency, server p50 / raw
p50 (target <= 1.10 at concurrency 1), the server's p50/p95 at concurrency 1 while --slow-clients connections hold
half a request each (they must not delay it), and the torch backend's in-process p50 over the ONNX backend's.

The default model is YOLO11n built from its YAML (untrained: the same compute, no download) and exported at --imgsz;
--model-dir serves a TrainYOLO output (model.json, best.onnx, best.pt) instead.

    python benchmarks/inference.py [--model-dir DIR] [--imgsz 640] [--requests 100] [--workers 2] [--slow-clients 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from containers.common.ultralytics_env import configure_offline  # noqa: E402
from containers.inference.allocator import keep_freed_blocks  # noqa: E402
from containers.inference.model_files import ModelSpec, resolve  # noqa: E402
from containers.inference.onnx_backend import OnnxPredictor  # noqa: E402
from containers.inference.options import DetectionOptions  # noqa: E402
from containers.inference.payload import decode_image  # noqa: E402
from containers.inference.settings import ServerSettings, usable_cores  # noqa: E402


def fresh_model(work: Path, imgsz: int) -> Path:
    """YOLO11n from its YAML, saved as best.pt and exported to best.onnx, with a model.json: a TrainYOLO-like dir."""
    from ultralytics import YOLO

    model_dir = work / "model"
    model_dir.mkdir()
    model = YOLO("yolo11n.yaml")
    model.save(model_dir / "best.pt")
    onnx = YOLO(model_dir / "best.pt").export(format="onnx", imgsz=imgsz, opset=18, dynamic=True, simplify=True,
                                              device="cpu")
    shutil.move(onnx, model_dir / "best.onnx")
    (model_dir / "model.json").write_text(json.dumps({"names": list(model.names.values()), "imgsz": imgsz,
                                                      "variant": "yolo11n"}))
    return model_dir


def sample_images() -> list[bytes]:
    import ultralytics

    assets = Path(ultralytics.__file__).parent / "assets"
    return [(assets / name).read_bytes() for name in ("bus.jpg", "zidane.jpg")]


def measure(calls: dict[str, Callable[[bytes], list]], images: list[bytes], requests: int, concurrency: int,
            rounds: int = 5) -> dict[str, dict[str, float]]:
    """p50/p95 latency and throughput of each side: ``requests`` calls (images in turn) from ``concurrency`` threads.

    The sides take turns in ``rounds`` slices (the order alternating), so that load from elsewhere on a shared machine
    falls on both alike. Each side is warmed up first (sessions, caches, connections).
    """
    latencies: dict[str, list[float]] = {side: [] for side in calls}
    walls = dict.fromkeys(calls, 0.0)

    def timed(call: Callable[[bytes], list], index: int) -> float:
        start = time.perf_counter()
        call(images[index % len(images)])
        return time.perf_counter() - start

    with ThreadPoolExecutor(concurrency) as pool:
        for call in calls.values():
            list(pool.map(lambda i, call=call: timed(call, i), range(2 * concurrency)))
        for turn in range(rounds):
            order = list(calls) if turn % 2 == 0 else list(reversed(calls))
            for side in order:
                start = time.perf_counter()
                latencies[side] += pool.map(lambda i, call=calls[side]: timed(call, i), range(requests // rounds))
                walls[side] += time.perf_counter() - start
    return {side: {**percentiles(values), "per_s": len(values) / walls[side]} for side, values in latencies.items()}


def percentiles(seconds: list[float]) -> dict[str, float]:
    values = sorted(seconds)
    return {"p50_ms": 1000 * statistics.median(values),
            "p95_ms": 1000 * values[min(len(values) - 1, round(0.95 * len(values)))]}


class LiveServer:
    """The real server on a free loopback port."""

    def __init__(self, opt_ml: Path, workers: int, log: Path):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {**os.environ, "OPT_ML_ROOT": str(opt_ml), "PYTHONPATH": str(REPO), "MODEL_SERVER_HOST": "127.0.0.1",
               "SAGEMAKER_BIND_TO_PORT": str(self.port), "MODEL_SERVER_WORKERS": str(workers),
               "INFERENCE_BACKEND": "onnx"}
        self.log, self.workers = log, workers
        with log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "containers.inference.serve", "serve"], cwd=REPO,
                                            env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while log.read_text().count("INFO model loaded (") < workers:
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the server did not start; see {log}")
            time.sleep(0.2)

    def invoke(self, jpeg: bytes) -> list:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/invocations", data=jpeg, method="POST",
                                         headers={"Content-Type": "image/jpeg"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())["predictions"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def half_requests(port: int, count: int) -> list:
    """``count`` connections that send half a request (headers and a little of a 100 kB body), then stall."""
    import socket

    conns = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port))
        conn.sendall(b"POST /invocations HTTP/1.1\r\nHost: slow\r\nContent-Type: image/jpeg\r\n"
                     b"Content-Length: 100000\r\n\r\n\xff\xd8")
        conns.append(conn)
    return conns


def slow_client_effect(server: LiveServer, images: list[bytes], requests: int, slow_clients: int,
                       rounds: int = 5) -> tuple[dict[str, float], dict[str, float]]:
    """p50/p95 of one request at a time without, then with, ``slow_clients`` stalled connections, in alternating
    slices (each well under the server's 10 s read timeout) so that other load on the machine falls on both alike."""
    latencies: dict[bool, list[float]] = {False: [], True: []}
    for turn in range(rounds):
        for with_slow in (False, True) if turn % 2 == 0 else (True, False):
            conns = half_requests(server.port, slow_clients) if with_slow else []
            try:
                for index in range(requests // rounds):
                    start = time.perf_counter()
                    server.invoke(images[index % len(images)])
                    latencies[with_slow].append(time.perf_counter() - start)
            finally:
                for conn in conns:
                    conn.close()
    return percentiles(latencies[False]), percentiles(latencies[True])


def in_process(predictor, spec: ModelSpec):
    """The server's per-request work, minus the server: bytes -> image -> detections -> JSON-ready dicts."""
    options = DetectionOptions()

    def run(jpeg: bytes) -> list:
        image = decode_image(jpeg, "the image")
        return predictor.predict(image, options).to_json(spec.names)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, help="a TrainYOLO output; default: a fresh YOLO11n")
    parser.add_argument("--imgsz", type=int, default=640, help="export size of the fresh model (default 640)")
    parser.add_argument("--requests", type=int, default=100, help="requests per side and concurrency (default 100)")
    parser.add_argument("--workers", type=int, default=usable_cores(), help="server workers (default: cores)")
    parser.add_argument("--slow-clients", type=int, default=8, help="stalled connections held open (default 8)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="inference-bench-") as tmp:
        work = Path(tmp)
        configure_offline(work / "yolo")
        model_dir = args.model_dir or fresh_model(work, args.imgsz)
        spec = resolve(model_dir)
        opt_ml = work / "opt_ml"
        opt_ml.mkdir()
        (opt_ml / "model").symlink_to(spec.directory.resolve())
        threads = ServerSettings(workers=args.workers).threads_per_worker
        images = sample_images()
        print(f"model {spec.variant or '?'} imgsz {list(spec.imgsz)}, {len(spec.names)} classes; {usable_cores()} "
              f"cores, server {args.workers} worker(s) x {threads} thread(s), raw session {threads} thread(s); "
              f"{args.requests} requests per row; pre/post-processing included on both sides", flush=True)

        keep_freed_blocks()  # as each server worker does (worker.py), so the allocator is no difference
        raw = in_process(OnnxPredictor(spec, threads), spec)
        server = LiveServer(opt_ml, args.workers, work / "server.log")
        try:
            assert server.invoke(images[0]) == raw(images[0]), "the server and the raw session disagree"
            print(f"{'concurrency':>11} {'side':>6} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7}")
            ratios = {}
            for concurrency in (1, 8):
                rows = measure({"raw": raw, "server": server.invoke}, images, args.requests, concurrency)
                for side, row in rows.items():
                    print(f"{concurrency:>11} {side:>6} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['per_s']:7.1f}",
                          flush=True)
                ratios[concurrency] = rows["server"]["p50_ms"] / rows["raw"]["p50_ms"]
            quiet, slow = slow_client_effect(server, images, args.requests, args.slow_clients)
            print(f"server at concurrency 1: p50 {quiet['p50_ms']:.1f} ms, p95 {quiet['p95_ms']:.1f} ms; with "
                  f"{args.slow_clients} slow clients held open: p50 {slow['p50_ms']:.1f} ms, p95 {slow['p95_ms']:.1f} "
                  "ms", flush=True)
        finally:
            server.stop()
        for concurrency, ratio in ratios.items():
            target = " (target <= 1.10)" if concurrency == 1 else ""
            print(f"server p50 / raw p50 at concurrency {concurrency}: {ratio:.3f}{target}")

        if not spec.torch_path.is_file():
            print("no best.pt: torch backend not measured")
            return
        from containers.inference.torch_backend import TorchPredictor

        cores = usable_cores()
        torch_predictor = TorchPredictor(spec, cores)
        rows = measure({"onnx": in_process(OnnxPredictor(spec, cores), spec),
                        "torch": in_process(torch_predictor, spec)}, images, args.requests // 2, 1)
        onnx_row, torch_row = rows["onnx"], rows["torch"]
        print(f"in-process p50 with {cores} thread(s): onnx {onnx_row['p50_ms']:.1f} ms, torch "
              f"({torch_predictor.device}) {torch_row['p50_ms']:.1f} ms; onnx / torch = "
              f"{onnx_row['p50_ms'] / torch_row['p50_ms']:.3f}")


if __name__ == "__main__":
    main()
