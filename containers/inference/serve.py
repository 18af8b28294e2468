"""Entrypoint of the inference image: ``python3 -m containers.inference.serve serve`` (SageMaker's hosting call).

gunicorn (``MODEL_SERVER_WORKERS`` processes, default one per core, each a pool of connection threads: see
``worker.py``) runs the Flask app of ``app.py``. The master
resolves the model once (a model.tar.gz in ``/opt/ml/model`` is extracted into a temporary directory, removed at
exit) and picks the backend, so a missing model or a bad setting stops the container at once with exit code 2.
Code (Flask, numpy, Pillow) is imported once in the master; each worker opens its own model after the fork (ONNX
Runtime sessions and CUDA contexts are not fork-safe) and answers ``/ping`` with 503 until it has; an invocation
that reaches it meanwhile waits for the model. Settings: see ``settings.py``.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

from gunicorn.app.base import BaseApplication

from containers.common import contract
from containers.inference.app import create_app
from containers.inference.backends import choose_backend, load_predictor
from containers.inference.loader import ModelHolder
from containers.inference.model_files import ModelError, ModelSpec, resolve
from containers.inference.settings import ServerSettings, SettingsError
from containers.inference.worker import CONNECTION_THREADS, ReadTimeoutWorker

USAGE = "usage: python3 -m containers.inference.serve serve"

log = logging.getLogger("containers.inference")


class ModelServer(BaseApplication):
    """gunicorn configured in code: one Flask app per worker, each loading its own predictor."""

    def __init__(self, settings: ServerSettings, spec: ModelSpec, backend: str):
        self.settings, self.spec, self.backend = settings, spec, backend
        super().__init__()

    def load_config(self) -> None:
        settings = self.settings
        values = {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.workers,
            "worker_class": ReadTimeoutWorker,
            "threads": CONNECTION_THREADS,
            "timeout": settings.timeout,
            "graceful_timeout": 10,
            "preload_app": False,  # the app (and its model) is made in each worker, after the fork
            "control_socket_disable": True,  # one control socket per $HOME would clash between servers
            "loglevel": "info",
            "errorlog": "-",
        }
        ReadTimeoutWorker.read_timeout = settings.read_timeout  # the workers inherit it through the fork
        if self.spec.directory != contract.model_dir():  # extracted from model.tar.gz: the master cleans up
            values["on_exit"] = lambda _arbiter: shutil.rmtree(self.spec.directory, ignore_errors=True)
        if Path("/dev/shm").is_dir():
            values["worker_tmp_dir"] = "/dev/shm"  # heartbeat files off the container's overlay disk
        for key, value in values.items():
            self.cfg.set(key, value)

    def load(self):
        holder = ModelHolder(lambda: load_predictor(self.backend, self.spec, self.settings.threads_per_worker))
        # An invocation may wait for the model for half the request timeout, so the worker is not killed meanwhile.
        return create_app(holder.start(), self.spec.names, self.settings.max_payload_bytes, self.settings.timeout / 2)


def main(argv: list[str] | None = None) -> int:
    """Validate the settings and the model, then run gunicorn until it is stopped; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["serve"]:
        print(USAGE, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s [%(process)d] %(levelname)s %(message)s")
    try:
        settings = ServerSettings.from_env()
        spec = resolve(contract.model_dir())
        backend = choose_backend(settings.backend, spec)
    except (SettingsError, ModelError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    log.info("serving %s (%d classes, imgsz %s) with the %s backend on %s:%d, %d worker(s) x %d thread(s)",
             spec.directory, len(spec.names), list(spec.imgsz), backend, settings.host, settings.port,
             settings.workers, settings.threads_per_worker)
    ModelServer(settings, spec, backend).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
