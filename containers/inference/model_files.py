"""Finding the model a TrainYOLO job produced and reading its ``model.json``.

SageMaker extracts ``model.tar.gz`` into ``/opt/ml/model`` (``contract.model_dir()``); local mode and people may
instead leave the archive itself there. Either way the server needs ``model.json`` (class names, image size) and
``best.onnx`` and/or ``best.pt``.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

MODEL_FILES = ("best.onnx", "best.pt", "model.json")
ARCHIVE = "model.tar.gz"


class ModelError(Exception):
    """The model directory or its files cannot be served; the message says what is missing or wrong."""


@dataclass(frozen=True)
class ModelSpec:
    """A servable model: its directory, class names (index = class id) and input size (height, width)."""

    directory: Path
    names: tuple[str, ...]
    imgsz: tuple[int, int]
    variant: str | None = None

    @property
    def onnx_path(self) -> Path:
        return self.directory / "best.onnx"

    @property
    def torch_path(self) -> Path:
        return self.directory / "best.pt"


def resolve(model_dir: Path) -> ModelSpec:
    """The model in ``model_dir``, extracting a ``model.tar.gz`` found there into a fresh temporary directory.

    Raises:
        ModelError: no model.json (directly or in the archive), no weights beside it, or a malformed model.json.
    """
    model_dir = Path(model_dir)
    if not (model_dir / "model.json").is_file() and (model_dir / ARCHIVE).is_file():
        model_dir = extract(model_dir / ARCHIVE, Path(tempfile.mkdtemp(prefix="model-")))
    if not (model_dir / "model.json").is_file():
        raise ModelError(f"no model in {model_dir}: expected model.json with best.onnx and/or best.pt "
                         f"(a TrainYOLO output), or a {ARCHIVE} holding them")
    spec = read_spec(model_dir)
    if not (spec.onnx_path.is_file() or spec.torch_path.is_file()):
        raise ModelError(f"{model_dir} has model.json but neither best.onnx nor best.pt")
    return spec


def extract(archive: Path, target: Path) -> Path:
    """Copy the model files (by base name, wherever they sit in the archive) out of ``archive`` into ``target``.

    Only regular files named in ``MODEL_FILES`` are written, so no archive path can escape ``target``.

    Raises:
        ModelError: the archive cannot be read or holds one of the files twice.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            seen: set[str] = set()
            for member in tar.getmembers():
                name = Path(member.name).name
                if not member.isfile() or name not in MODEL_FILES:
                    continue
                if name in seen:
                    raise ModelError(f"{archive} holds {name} more than once")
                seen.add(name)
                source = tar.extractfile(member)
                assert source is not None  # always set for a regular file
                with source, open(target / name, "wb") as out:
                    shutil.copyfileobj(source, out)
    except (tarfile.TarError, OSError) as exc:
        raise ModelError(f"cannot read {archive}: {exc}") from None
    return target


def read_spec(model_dir: Path) -> ModelSpec:
    """Parse ``model.json``: ``class_names`` (or ``names``) as a list or an ``{"0": name}`` mapping, ``imgsz`` as an
    int or [height, width].

    Raises:
        ModelError: the file is not JSON, or the class names or ``imgsz`` are missing or malformed.
    """
    path = model_dir / "model.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{path} must hold a JSON object")
    names = meta.get("class_names", meta.get("names"))  # TrainYOLO writes class_names; Ultralytics' own key is names
    return ModelSpec(model_dir, _names(names, path), _imgsz(meta.get("imgsz"), path),
                     meta.get("variant") if isinstance(meta.get("variant"), str) else None)


def _names(raw: object, path: Path) -> tuple[str, ...]:
    if isinstance(raw, dict):
        try:
            by_id = {int(key): str(value) for key, value in raw.items()}
        except (TypeError, ValueError):
            raise ModelError(f"{path}: class name keys must be class ids (0, 1, ...), got {sorted(raw)}") from None
        if sorted(by_id) != list(range(len(by_id))):
            raise ModelError(f"{path}: class names must cover class ids 0..{len(by_id) - 1}, got {sorted(by_id)}")
        raw = [by_id[index] for index in range(len(by_id))]
    if not isinstance(raw, list) or not raw:
        raise ModelError(f"{path}: 'class_names' (or 'names') must be a non-empty list of class names "
                         "or an id -> name mapping")
    return tuple(str(name) for name in raw)


def _imgsz(raw: object, path: Path) -> tuple[int, int]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = [raw, raw]
    if (not isinstance(raw, list) or len(raw) != 2
            or not all(isinstance(side, int) and not isinstance(side, bool) and side > 0 for side in raw)):
        raise ModelError(f"{path}: 'imgsz' must be a positive integer or [height, width], got {raw!r}")
    return raw[0], raw[1]
