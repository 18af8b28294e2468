"""Running the real inference server as a process on a free loopback port, and calling it over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.containers.conftest import REPO

SERVE = [sys.executable, "-m", "containers.inference.serve", "serve"]


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 30) -> Reply:
    """One HTTP request; any status comes back as a Reply (JSON bodies decoded, others as text)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, reply_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, reply_headers = exc.code, exc.read(), dict(exc.headers)
    try:
        decoded: Any = json.loads(raw)
    except ValueError:
        decoded = raw.decode(errors="replace")
    return Reply(status, decoded, reply_headers)


class Server:
    """``python -m containers.inference.serve serve`` with ``OPT_ML_ROOT=opt_ml``; stderr goes to ``log``."""

    def __init__(self, opt_ml: Path, log: Path, env: dict[str, str] | None = None, workers: int = 2):
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        full_env = {**os.environ, "OPT_ML_ROOT": str(opt_ml), "PYTHONPATH": str(REPO), "MODEL_SERVER_HOST": "127.0.0.1",
                    "SAGEMAKER_BIND_TO_PORT": str(self.port), "MODEL_SERVER_WORKERS": str(workers),
                    "INFERENCE_BACKEND": "onnx", **(env or {})}
        with log.open("wb") as sink:
            self.process = subprocess.Popen(SERVE, cwd=REPO, env=full_env, stdout=sink, stderr=subprocess.STDOUT)

    def wait_until(self, status: int = 200, timeout: float = 90, says: str = "") -> Reply:
        """Poll /ping until it answers ``status`` with ``says`` in its body; fail with the log on exit or timeout."""
        deadline = time.monotonic() + timeout
        reply = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.output()}")
            try:
                reply = self.get("/ping", timeout=5)
                if reply.status == status and says in str(reply.body):
                    return reply
            except OSError:  # not listening yet
                pass
            time.sleep(0.2)
        raise AssertionError(f"/ping did not answer {status} {says!r} in {timeout} s (last: {reply}):\n{self.output()}")

    def wait_ready(self, timeout: float = 90) -> Reply:
        """Wait until every worker has logged its model as loaded (each answers /ping 200 from then on)."""
        deadline = time.monotonic() + timeout
        while self.output().count("INFO model loaded (") < self.workers:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"not all {self.workers} workers loaded their model:\n{self.output()}")
            time.sleep(0.2)
        return self.wait_until(200, timeout=max(1.0, deadline - time.monotonic()))

    def get(self, path: str, **kwargs) -> Reply:
        return call(self.url + path, **kwargs)

    def post(self, path: str, body: bytes, content_type: str | None, headers: dict[str, str] | None = None,
             **kwargs) -> Reply:
        all_headers = {**({"Content-Type": content_type} if content_type else {}), **(headers or {})}
        return call(self.url + path, "POST", body, all_headers, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM (what docker stop and SageMaker send), then the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
