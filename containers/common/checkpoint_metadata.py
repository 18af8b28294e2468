"""What an Ultralytics checkpoint (.pt) says about itself, read without torch and without running its pickle.

A ``.pt`` file is a zip holding ``<name>/data.pkl``, a pickle that names classes (``ultralytics.nn.tasks.
DetectionModel``...) and torch rebuild functions. Unpickling it for real would import and call whatever it names, so
a weights file from outside the job would be code from outside the job. This reader resolves every global to an inert
placeholder that only records its name and stores the arguments and state it is given: nothing is imported, called or
executed. What comes out is enough to tell whether the file is an Ultralytics detection checkpoint and of which
variant (the model's ``yaml`` dict), before anything loads it. Pure standard library, so the orchestration side
(``yolo-pipeline weights stage``, which never imports torch) and the training image share it.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CheckpointError", "CheckpointMetadata", "read_metadata"]

MAX_PICKLE_BYTES = 64 * 1024 * 1024  # data.pkl holds structure only (tensors are separate zip members)
MODEL_CLASSES = {"ultralytics.nn.tasks.DetectionModel"}


class CheckpointError(ValueError):
    """The file is not an Ultralytics detection checkpoint (the message says what it is instead)."""


@dataclass(frozen=True)
class CheckpointMetadata:
    """The identity of a checkpoint's model."""

    variant: str  # e.g. 'yolo11n': the stem of the YAML the model was built from
    model_class: str
    class_names: tuple[str, ...]  # empty when the checkpoint names none
    ultralytics_version: str | None


class _Placeholder:
    """Stands for any object the pickle builds: records the global's name, the arguments and the state."""

    qualname = "?"
    state: Any = None  # class defaults: NEWOBJ makes instances without calling __init__

    def __init__(self, *args: Any, **kwargs: Any):
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__.setdefault("items", {})[key] = value

    def append(self, value: Any) -> None:
        items = self.__dict__.setdefault("items", {})
        items[len(items)] = value

    def extend(self, values: Any) -> None:
        for value in values:
            self.append(value)


class _Recorder(pickle.Unpickler):
    """An unpickler whose globals are placeholders (nothing imported) and whose tensor storages are None."""

    def find_class(self, module: str, name: str) -> type:
        return type(name, (_Placeholder,), {"qualname": f"{module}.{name}"})

    def persistent_load(self, pid: Any) -> None:
        return None


def read_metadata(path: Path) -> CheckpointMetadata:
    """Read the model identity of an Ultralytics checkpoint without executing any of it.

    Raises:
        CheckpointError: the file is missing, not a torch zip checkpoint, holds no Ultralytics detection model, or
            its model names no YAML variant.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    checkpoint = _unpickle(path)
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path.name} is not an Ultralytics checkpoint: its pickle holds a "
                              f"{_name(checkpoint)}, not a dict with a 'model'")
    model = checkpoint.get("model") or checkpoint.get("ema")  # best.pt/last.pt keep the EMA weights in 'model'
    if not isinstance(model, _Placeholder) or model.qualname not in MODEL_CLASSES:
        raise CheckpointError(f"{path.name} is not an Ultralytics detection checkpoint: its 'model' is "
                              f"{_name(model)}, expected one of {', '.join(sorted(MODEL_CLASSES))}")
    state = model.state if isinstance(model.state, dict) else {}
    spec = state["yaml"] if isinstance(state.get("yaml"), dict) else {}
    yaml_file = spec.get("yaml_file")
    if not isinstance(yaml_file, str) or not yaml_file:
        raise CheckpointError(f"{path.name} holds an Ultralytics model without a 'yaml_file': its variant is unknown")
    names = state.get("names")
    version = checkpoint.get("version")
    return CheckpointMetadata(
        variant=Path(yaml_file).stem,
        model_class=_name(model),
        class_names=tuple(str(names[key]) for key in sorted(names)) if isinstance(names, dict) else (),
        ultralytics_version=version if isinstance(version, str) else None,
    )


def _unpickle(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [info for info in archive.infolist() if info.filename.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise CheckpointError(f"{path.name} is not a torch checkpoint: expected one */data.pkl in the zip, "
                                      f"found {len(pickles)}")
            if pickles[0].file_size > MAX_PICKLE_BYTES:
                raise CheckpointError(f"{path.name}: {pickles[0].filename} is {pickles[0].file_size} bytes, more "
                                      f"than a checkpoint's structure takes ({MAX_PICKLE_BYTES})")
            data = archive.read(pickles[0])
    except zipfile.BadZipFile:
        raise CheckpointError(f"{path.name} is not a torch checkpoint (not a zip file: a legacy or foreign "
                              "format); save it again with a current torch/ultralytics") from None
    try:
        return _Recorder(io.BytesIO(data)).load()
    except Exception as exc:  # any malformed pickle: the file is not what it claims
        raise CheckpointError(f"{path.name} is not a readable checkpoint: {type(exc).__name__}: {exc}") from None


def _name(value: Any) -> str:
    return value.qualname if isinstance(value, _Placeholder) else type(value).__name__
