"""The server workers' malloc settings (allocator.py): accepted by glibc, a no-op elsewhere."""

import platform
import subprocess
import sys

from containers.inference import worker


def test_glibc_accepts_both_settings_in_a_fresh_process():
    """mallopt answers 0 for a setting it refuses (older glibc: an mmap threshold over 32 MiB)."""
    code = "from containers.inference.allocator import keep_freed_blocks; print(keep_freed_blocks())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(platform.libc_ver()[0] == "glibc")


def test_each_worker_applies_them_before_serving(monkeypatch):
    calls = []
    monkeypatch.setattr(worker, "keep_freed_blocks", lambda: calls.append("malloc") or True)
    monkeypatch.setattr(worker.ThreadWorker, "init_process", lambda self: calls.append("serve"))
    fake = worker.ReadTimeoutWorker.__new__(worker.ReadTimeoutWorker)
    fake.log = type("Log", (), {"error_log": type("ErrorLog", (), {"addFilter": lambda self, f: None})()})()
    fake.init_process()
    assert calls == ["malloc", "serve"]

