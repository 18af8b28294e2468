"""Local endpoints: the inference image's server started on a free loopback port, outliving the run that made it.

The server is the image's own entrypoint (``python -m containers.inference.serve serve``, read from its Dockerfile)
with the model in its /opt/ml/model, as SageMaker hosting runs it. Each endpoint has a record
(``<state>/endpoints/<name>/endpoint.json``) with its URL and process id, so a later command can list or stop it.
Starting an endpoint again with the same model and settings keeps the running server (nothing to update).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.local.errors import LocalModeError
from pipelines.local.imagespec import image_spec
from pipelines.local.process import pid_alive
from pipelines.local.records import now_iso
from pipelines.local.state import StateDir
from pipelines.local.store import LocalStore

__all__ = ["EndpointRecord", "get_endpoint", "list_endpoints", "start_endpoint", "stop_endpoint"]

RECORD_FILE = "endpoint.json"
HOST = "127.0.0.1"
SERVER_MODULE = "containers.inference.serve"


@dataclass
class EndpointRecord:
    name: str
    url: str
    port: int
    pid: int
    model_source: str
    model_fingerprint: str
    started_at: str
    log_path: str
    environment: dict[str, str] = field(default_factory=dict)
    execution_id: str | None = None
    config_name: str | None = None

    @property
    def invocations_url(self) -> str:
        return f"{self.url}/invocations"

    @property
    def status(self) -> str:
        """``InService`` while the server process runs, else ``OutOfService``."""
        return "InService" if _ours(self.pid) else "OutOfService"


def _directory(state: StateDir, name: str) -> Path:
    return state.endpoints / name


def get_endpoint(state_dir: str | os.PathLike[str] | StateDir | None, name: str) -> EndpointRecord | None:
    path = _directory(StateDir.at(state_dir), name) / RECORD_FILE
    return EndpointRecord(**json.loads(path.read_text())) if path.is_file() else None


def list_endpoints(state_dir: str | os.PathLike[str] | StateDir | None = None) -> list[EndpointRecord]:
    """Every local endpoint with a record, running or not, by name."""
    root = StateDir.at(state_dir).endpoints
    paths = sorted(root.glob(f"*/{RECORD_FILE}")) if root.is_dir() else []
    return [EndpointRecord(**json.loads(path.read_text())) for path in paths]


def start_endpoint(state_dir: str | os.PathLike[str] | StateDir | None, name: str, model: str | os.PathLike[str], *,
                   port: int | None = None, environment: dict[str, str] | None = None, image: str = "inference",
                   execution_id: str | None = None, config_name: str | None = None,
                   timeout_s: float = 120.0) -> EndpointRecord:
    """Serve ``model`` (a model.tar.gz or a model folder, as a path or an ``s3://`` URI of the local store) as
    endpoint ``name`` and wait until ``/ping`` answers 200.

    An endpoint of that name already serving the same model with the same settings is kept; otherwise it is
    stopped and replaced (SageMaker's update, without the blue/green).

    Raises:
        LocalModeError: the model is missing, or the server exits or stays unhealthy for ``timeout_s``; the message
            has the end of its log.
    """
    state = StateDir.at(state_dir)
    store = LocalStore(state.store)
    try:
        source = store.existing(str(model))
    except LocalModeError as exc:
        raise LocalModeError(f"endpoint {name}: the model {exc}") from None
    fingerprint = store.fingerprint(str(source)) or ""
    settings = {"MODEL_SERVER_WORKERS": "1", **(environment or {})}
    current = get_endpoint(state, name)
    if current and current.status == "InService" and (port is None or port == current.port) \
            and current.model_fingerprint == fingerprint and current.environment == settings and _healthy(current.url):
        current.execution_id, current.config_name = execution_id, config_name
        _save(state, current)
        return current
    if current:
        stop_endpoint(state, name)

    folder = _directory(state, name)
    opt_ml = folder / "opt_ml"
    shutil.rmtree(opt_ml, ignore_errors=True)
    (opt_ml / "model").mkdir(parents=True)
    if source.is_dir():
        shutil.copytree(source, opt_ml / "model", dirs_exist_ok=True)
    else:
        shutil.copy2(source, opt_ml / "model" / source.name)
    port = port or _free_port()
    spec = image_spec(image)
    log_path = folder / "server.log"
    env = {**os.environ, **spec.environment(state.image_root(spec.name)), **settings, "OPT_ML_ROOT": str(opt_ml),
           "SAGEMAKER_BIND_TO_PORT": str(port), "MODEL_SERVER_HOST": HOST, "PYTHONUNBUFFERED": "1"}
    with log_path.open("a") as log:
        log.write(f"--- {now_iso()} starting endpoint {name} on port {port} with {source}\n")
        log.flush()
        process = subprocess.Popen(spec.command(arguments=["serve"]), cwd=spec.workdir, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    record = EndpointRecord(name=name, url=f"http://{HOST}:{port}", port=port, pid=process.pid,
                            model_source=str(source), model_fingerprint=fingerprint, started_at=now_iso(),
                            log_path=str(log_path), environment=settings, execution_id=execution_id,
                            config_name=config_name)
    _save(state, record)
    deadline = time.monotonic() + timeout_s
    while not _healthy(record.url):
        code = process.poll()
        if code is not None or time.monotonic() > deadline:
            stop_endpoint(state, name)
            what = f"exited with code {code}" if code is not None else f"did not answer /ping within {timeout_s:g} s"
            raise LocalModeError(f"endpoint {name}: the inference server {what}; end of {log_path}:\n"
                                 + _tail(log_path))
        time.sleep(0.2)
    return record


def stop_endpoint(state_dir: str | os.PathLike[str] | StateDir | None, name: str, grace_s: float = 10.0) -> bool:
    """Stop endpoint ``name`` (its server and workers) and forget it; True when a server was running."""
    state = StateDir.at(state_dir)
    record = get_endpoint(state, name)
    if record is None:
        return False
    running = _ours(record.pid)
    if running:
        _signal_group(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while _ours(record.pid) and time.monotonic() < deadline:
            _reap(record.pid)
            time.sleep(0.1)
        if _ours(record.pid):
            _signal_group(record.pid, signal.SIGKILL)
        _reap(record.pid)
    folder = _directory(state, name)
    (folder / RECORD_FILE).unlink(missing_ok=True)
    shutil.rmtree(folder / "opt_ml", ignore_errors=True)
    return running


def _ours(pid: int) -> bool:
    """Whether ``pid`` is still an inference server of ours (not a process that got the number since)."""
    if not pid_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return SERVER_MODULE in cmdline.read_bytes().decode(errors="replace")
    except OSError:
        return True  # no /proc (macOS): trust the record


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # the server leads its own session: this reaches its workers too
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    """Collect the exit status when the server is a child of this process (else it would linger as a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _save(state: StateDir, record: EndpointRecord) -> None:
    folder = _directory(state, record.name)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{RECORD_FILE}.tmp"
    partial.write_text(json.dumps(asdict(record), indent=2))
    partial.replace(folder / RECORD_FILE)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
