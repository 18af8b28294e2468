"""``yolo-pipeline serve``: it listens on loopback unless told otherwise, says where, and no server outlives it.

Real processes and real signals: the CLI is started as a process, stopped with SIGTERM, SIGHUP or SIGINT, and the
server's processes (gunicorn's master and workers) and its listening socket must be gone afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.containers.conftest import REPO
from tests.containers.inference.server import call, free_port

CLI = [sys.executable, "-m", "pipelines.cli.main"]


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket in LISTEN state on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(_address(address))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:  # IPv4, little-endian
        return ".".join(str(int(hex_address[i:i + 2], 16)) for i in (6, 4, 2, 0))
    return "::" if set(hex_address) == {"0"} else hex_address


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc children lists)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


class ServeCommand:
    """``yolo-pipeline serve --model <dir> --port P [args]`` as a process; its stderr goes to ``log``."""

    def __init__(self, model: Path, log: Path, *args: str):
        self.port = free_port()
        self.log = log
        env = {**os.environ, "PYTHONPATH": str(REPO), "MODEL_SERVER_WORKERS": "2", "INFERENCE_BACKEND": "onnx"}
        with log.open("wb") as sink:
            self.process = subprocess.Popen([*CLI, "serve", "--model", str(model), "--port", str(self.port), *args],
                                            cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
        self.server: list[int] = []

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if call(f"http://127.0.0.1:{self.port}/ping", timeout=5).status == 200:
                    self.server = descendants(self.process.pid)
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the server did not answer /ping in {timeout} s:\n{self.log.read_text()}")

    def stop(self, sig: int) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)

    def leftovers(self, timeout: float = 30) -> list[int]:
        """The server processes still running ``timeout`` seconds from now (or as soon as none is)."""
        deadline = time.monotonic() + timeout
        while any(alive(pid) for pid in self.server) and time.monotonic() < deadline:
            time.sleep(0.2)
        return [pid for pid in self.server if alive(pid)]

    def __enter__(self) -> ServeCommand:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Whatever a failed test left behind is ended here, by pid."""
        for pid in [self.process.pid, *self.server]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()


def test_serve_listens_on_loopback_by_default_and_says_so(trained_model, tmp_path):
    with ServeCommand(trained_model, tmp_path / "serve.log") as command:
        command.wait_ready()
        assert listening_addresses(command.port) == {"127.0.0.1"}
        assert f"serving {trained_model} on http://127.0.0.1:{command.port} (Ctrl-C to stop)" in command.log.read_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_to_serve_leaves_no_server(trained_model, tmp_path, sig):
    with ServeCommand(trained_model, tmp_path / "serve.log") as command:
        command.wait_ready()
        assert len(command.server) == 3, command.server  # gunicorn's master and two workers
        assert command.stop(sig) == 128 + sig
        assert command.leftovers() == []
        assert listening_addresses(command.port) == set()


def test_host_opens_every_interface_and_says_so(trained_model, tmp_path):
    with ServeCommand(trained_model, tmp_path / "serve.log", "--host", "0.0.0.0") as command:
        command.wait_ready()
        assert listening_addresses(command.port) == {"0.0.0.0"}
        assert (f"serving {trained_model} on http://0.0.0.0:{command.port} (every interface: reachable from the "
                "network)") in command.log.read_text()
        assert command.stop(signal.SIGINT) == 130
        assert command.leftovers() == []
