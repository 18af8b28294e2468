"""Loading the model in the background of a server worker, so ``/ping`` can say "not yet" instead of hanging.

Loading can take seconds (torch, CUDA); doing it on a thread keeps the worker answering (503 until ready) and its
heartbeat going, so gunicorn does not kill a worker that is still loading a large model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from containers.inference.backends import Predictor
from containers.inference.model_files import ModelError

log = logging.getLogger(__name__)


class ModelHolder:
    """The worker's predictor once loaded; ``error`` says why loading failed (the worker then stays unhealthy)."""

    def __init__(self, load: Callable[[], Predictor]):
        self._load = load
        self._ready = threading.Event()
        self.predictor: Predictor | None = None
        self.error: str | None = None

    def start(self) -> ModelHolder:
        threading.Thread(target=self._run, name="model-loader", daemon=True).start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until loading finished (either way); false on timeout."""
        return self._ready.wait(timeout)

    def _run(self) -> None:
        try:
            self.predictor = self._load()
            log.info("model loaded (%s backend)", self.predictor.backend)
        except Exception as exc:  # noqa: BLE001  (any failure must surface through /ping, not end the thread unseen)
            self.error = str(exc) if isinstance(exc, ModelError) else f"{type(exc).__name__}: {exc}"
            log.error("model failed to load: %s", self.error)
        finally:
            self._ready.set()
