"""Running one job's process: its output streamed to a log file and to a line callback, with a time limit.

The process gets its own session, so a timeout or a Ctrl-C ends it and every process it started (gunicorn workers,
DataLoader workers) and nothing else.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessResult", "pid_alive", "run_logged", "stop_group", "stop_orphan"]

_TAIL_LINES = 20


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    timed_out: bool
    tail: tuple[str, ...]

    @property
    def last_line(self) -> str:
        return next((line for line in reversed(self.tail) if line.strip()), "")


def run_logged(argv: list[str], *, env: Mapping[str, str], cwd: Path | None, log_path: Path,
               on_line: Callable[[str], None] | None = None, timeout_s: float | None = None,
               on_start: Callable[[int], None] | None = None) -> ProcessResult:
    """Run ``argv`` to the end, appending stdout and stderr (merged) to ``log_path`` line by line; ``on_start`` gets
    the process id (also its process group's) as soon as it runs."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    timed_out = threading.Event()
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(argv)}\n")
        log.flush()
        process = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1,
                                   start_new_session=True)

        if on_start:
            try:
                on_start(process.pid)
            except BaseException:
                stop_group(process)
                raise

        def expire() -> None:
            timed_out.set()
            stop_group(process)

        timer = threading.Timer(timeout_s, expire) if timeout_s else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.rstrip("\n")
                log.write(raw)
                log.flush()
                tail.append(line)
                if on_line:
                    on_line(line)
            returncode = process.wait()
        except BaseException:
            stop_group(process)
            raise
        finally:
            if timer:
                timer.cancel()
    return ProcessResult(returncode, timed_out.is_set(), tuple(tail))


def stop_group(process: subprocess.Popen, grace_s: float = 5.0) -> None:
    """SIGTERM the process's session (which we started), then SIGKILL what is left after ``grace_s``."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, grace_s)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (a zombie, finished but not yet reaped, does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): the signal test is all there is


def stop_orphan(pid: int, opt_ml_root: str) -> bool:
    """Stop the process group of a job whose local run died (SIGKILL does not reach a job's own session), when the
    process with that id is still that job: its environment has ``OPT_ML_ROOT=<opt_ml_root>``. Where /proc cannot
    tell (macOS), nothing is stopped.

    Returns:
        Whether a job was found and stopped.
    """
    try:
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    if f"OPT_ML_ROOT={opt_ml_root}".encode() not in environment:
        return False  # the id went to another process since
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        for _ in range(50):
            if not pid_alive(pid):
                return True
            time.sleep(0.1)
    return True
