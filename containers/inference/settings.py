"""The server's settings, read once from the environment the endpoint (or local mode) sets.

``SAGEMAKER_BIND_TO_PORT`` (default 8080), ``MODEL_SERVER_HOST`` (default 0.0.0.0), ``MODEL_SERVER_WORKERS``
(default: the usable CPU cores), ``MODEL_SERVER_TIMEOUT`` (seconds, default 60, SageMaker's invocation limit: an
invocation waits up to half of it for the model to load; a worker whose event loop is stuck that long is restarted),
``MODEL_SERVER_READ_TIMEOUT`` (seconds a client may stall while sending a request, default 10),
``INFERENCE_BACKEND`` (auto|onnx|torch), ``MAX_PAYLOAD_MB`` (default 6, SageMaker's real-time limit).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class SettingsError(ValueError):
    """An environment variable with a bad value; the message names it."""


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the whole machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity mask
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ServerSettings:
    host: str = "0.0.0.0"
    port: int = 8080
    workers: int = 1
    timeout: int = 60
    backend: str = "auto"
    max_payload_mb: float = 6.0
    read_timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        """Raises: SettingsError: a variable is not a number in its allowed range."""
        env = os.environ if env is None else env
        return cls(
            host=env.get("MODEL_SERVER_HOST", "0.0.0.0"),
            port=int(_number(env, "SAGEMAKER_BIND_TO_PORT", 8080, 1, 65535, integer=True)),
            workers=int(_number(env, "MODEL_SERVER_WORKERS", usable_cores(), 1, 512, integer=True)),
            timeout=int(_number(env, "MODEL_SERVER_TIMEOUT", 60, 1, 3600, integer=True)),
            read_timeout=_number(env, "MODEL_SERVER_READ_TIMEOUT", 10.0, 0.1, 3600),
            backend=env.get("INFERENCE_BACKEND", "auto").strip().lower() or "auto",
            max_payload_mb=_number(env, "MAX_PAYLOAD_MB", 6.0, 0.001, 1024),
        )

    @property
    def threads_per_worker(self) -> int:
        """Compute threads for each worker's model, so that all workers together use the cores once."""
        return max(1, usable_cores() // self.workers)

    @property
    def max_payload_bytes(self) -> int:
        return int(self.max_payload_mb * 2**20)


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float,
            integer: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise SettingsError(f"{name}={raw!r} must be {kind} from {low:g} to {high:g}")
    return value
