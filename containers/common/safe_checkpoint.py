"""Loading ``.pt`` checkpoints from outside the job without running code from them.

A ``.pt`` is a pickle, and Ultralytics loads it with ``torch.load(weights_only=False)`` by default: a hostile file
(a ``best.pt`` in a model.tar.gz, the ``weights`` channel, a ``last.pt`` restored from the shared checkpoint prefix)
runs whatever callable it names. Here every load is ``torch.load(weights_only=True)`` against Ultralytics' own
allowlist of its model classes (its ``ULTRALYTICS_SAFE_LOAD`` mode, ultralytics 8.4.190 as pinned): a file that names
anything else (``os.system``, ``builtins.eval``) is refused before any of it runs.

Two layers, both needed: ``enable()`` switches every load Ultralytics makes (resume, final validation, DDP workers,
which inherit the environment) to that mode; ``load`` and ``load_yolo`` check a file first, which gives a clear
message and holds even where ultralytics was imported before ``enable()`` (in a test process).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from containers.common.contract import JobFailure

__all__ = ["SAFE_LOAD_ENV", "CheckpointError", "enable", "load", "load_yolo"]

SAFE_LOAD_ENV = "ULTRALYTICS_SAFE_LOAD"  # read once, when ultralytics is imported


class CheckpointError(JobFailure):
    """A ``.pt`` refused (it names code outside the allowlist) or unreadable; nothing from it ran."""


def enable() -> None:
    """Make Ultralytics load every checkpoint weights-only in this process and its children.

    Call before ultralytics is imported (it reads the switch then); the entrypoints do, next to
    ``configure_offline``.
    """
    os.environ[SAFE_LOAD_ENV] = "1"


def load(path: Path) -> dict[str, Any]:
    """The checkpoint's dict, unpickled with ``weights_only=True`` against the allowlist.

    Raises:
        CheckpointError: the file names a global outside the allowlist, or is not a readable checkpoint.
    """
    from ultralytics.nn.tasks import torch_safe_load

    try:
        checkpoint, _ = torch_safe_load(str(path), safe_only=True)
    except Exception as exc:  # noqa: BLE001  (torch and Ultralytics raise many types for a bad file)
        raise CheckpointError(_reason(Path(path), exc)) from None
    return checkpoint


def load_yolo(path: Path, task: str | None = None):
    """An Ultralytics ``YOLO`` model from an untrusted ``.pt``: checked by ``load`` first, then opened by Ultralytics.

    Raises:
        CheckpointError: as ``load``, or Ultralytics cannot build a model from the checkpoint.
    """
    load(path)
    from ultralytics import YOLO

    try:
        return YOLO(str(path), task=task)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(_reason(Path(path), exc)) from None


def _reason(path: Path, exc: Exception) -> str:
    refused = _refused_globals(path)
    if refused:
        return (f"refused to load {path}: unpickling it would call {', '.join(refused)}, which no Ultralytics "
                "checkpoint needs (nothing from the file was run); use a .pt saved by Ultralytics (YOLO.save or "
                "training)")
    detail = " ".join(str(exc).split()).replace("ERROR ❌️ ", "")
    return f"cannot load {path} as an Ultralytics checkpoint: {type(exc).__name__}: {detail[:300]}"


def _refused_globals(path: Path) -> list[str]:
    """The globals the file's pickle names that are neither torch's defaults nor on the registered allowlist."""
    import torch

    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # noqa: BLE001  (not a torch zip archive: the caller reports the load error instead)
        return []
    allowed = {entry[1] if isinstance(entry, tuple) else f"{entry.__module__}.{entry.__qualname__}"
               for entry in torch.serialization.get_safe_globals()}
    return [name for name in needed if name not in allowed]
