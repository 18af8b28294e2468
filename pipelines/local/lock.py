"""One local run at a time per state directory: runs share output URIs, the cache, the registry and the endpoints.

The lock is an ``flock`` on ``<state>/run.lock``, so it goes away with the process that held it, however that process
ended. The CLI takes it before it compiles or seeds anything (``preparing=True``); the one ``run_local`` it then
calls finds it already held by its own process. Any other second run, in this process or another, is refused.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.local.errors import LocalModeError
from pipelines.local.state import HOME_ENV, StateDir

__all__ = ["exclusive_run"]

_HELD: dict[str, list[tuple[str, bool]]] = {}  # state root -> (holder, preparing) held by this process


@contextmanager
def exclusive_run(state: StateDir, holder: str, *, preparing: bool = False) -> Iterator[None]:
    """Hold the state directory's run lock; ``holder`` says who, for the message the next run gets. A holder that is
    ``preparing`` a run lets that run take the lock inside it.

    Raises:
        LocalModeError: another run holds it (the message names it).
    """
    key = str(state.root)
    if key in _HELD:
        other, open_to_run = _HELD[key][-1]
        if not open_to_run:
            raise LocalModeError(f"{state.root} is in use by another local run ({other}, pid {os.getpid()}); wait "
                                 f"for it to finish or use another state directory (--state-dir or {HOME_ENV})")
        _HELD[key].append((holder, preparing))
        try:
            yield
        finally:
            _HELD[key].pop()
        return
    state.ensure()
    with (state.root / "run.lock").open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            other = lock.read().strip() or "another process"
            raise LocalModeError(f"{state.root} is in use by another local run ({other}); wait for it to finish "
                                 f"or use another state directory (--state-dir or {HOME_ENV})") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{holder}, pid {os.getpid()}")
        lock.flush()
        _HELD[key] = [(holder, preparing)]
        try:
            yield
        finally:
            del _HELD[key]
            fcntl.flock(lock, fcntl.LOCK_UN)

