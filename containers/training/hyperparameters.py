"""TrainYOLO's hyperparameters: SageMaker hands them over as strings; they are parsed and checked before any work.

A typo or an out-of-range value must fail in seconds with a message that names the key, the value and what is
allowed, not after an hour of training (or silently, as an ignored key would).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from containers.common.contract import JobFailure

__all__ = ["OPTIMIZERS", "VARIANTS", "Hyperparameters", "parse"]

VARIANTS = ("yolo11n", "yolo11s", "yolo11m", "yolo11l", "yolo11x")
# ultralytics' spelling of each optimizer, looked up case-insensitively (so "RMSProp" and "adamw" work too).
OPTIMIZERS = ("auto", "SGD", "MuSGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSprop")


@dataclass(frozen=True)
class Hyperparameters:
    """One training job's settings; the defaults are the pipeline's parameter defaults."""

    model_variant: str = "yolo11n"
    epochs: int = 100
    imgsz: int = 640
    batch: int = 16
    patience: int = 50
    optimizer: str = "auto"
    lr0: float = 0.01
    warmup_epochs: float = 3.0
    workers: int = 8
    seed: int = 0
    nbs: int | None = None  # nominal batch size for gradient accumulation; None: the same as batch
    device: str | None = None  # None: every visible GPU, else the CPU
    plots: bool = True  # ultralytics' plots (training curves, confusion matrix, PR/F1 curves, val batches)
    weights_uri: str | None = None  # where the weights channel comes from (provenance only; None: no weights)
    model_variant_given: bool = False  # whether model_variant was set (a weights channel must then agree with it)

    @property
    def nominal_batch(self) -> int:
        return self.batch if self.nbs is None else self.nbs


def _integer(minimum: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise ValueError
        return value

    convert.__doc__ = f"an integer >= {minimum}"
    return convert


def _number(minimum: float, inclusive: bool) -> Callable[[str], float]:
    def convert(text: str) -> float:
        value = float(text)
        if not (value >= minimum if inclusive else value > minimum) or value != value or value == float("inf"):
            raise ValueError
        return value

    convert.__doc__ = f"a number {'>=' if inclusive else '>'} {minimum:g}"
    return convert


def _image_size(text: str) -> int:
    value = int(text)
    if value < 32 or value % 32:
        raise ValueError
    return value


_image_size.__doc__ = "an integer >= 32, a multiple of 32 (the model's largest stride)"


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    by_lower = {choice.lower(): choice for choice in choices}

    def convert(text: str) -> str:
        return by_lower[text.strip().lower()]

    convert.__doc__ = f"one of {', '.join(choices)}"
    return convert


def _device(text: str) -> str:
    value = text.strip().lower().replace(" ", "")
    if not re.fullmatch(r"cpu|cuda|cuda:\d+|\d+(,\d+)*", value):
        raise ValueError
    return value


_device.__doc__ = "cpu, cuda, cuda:N, or GPU indices such as 0 or 0,1"


def _boolean(text: str) -> bool:
    return {"true": True, "false": False}[text.strip().lower()]


_boolean.__doc__ = "true or false"


def _optional_uri(text: str) -> str | None:
    value = text.strip()
    if any(character.isspace() for character in value):
        raise ValueError
    return value or None


_optional_uri.__doc__ = "a URI without spaces, or empty (no weights)"

_CONVERTERS: dict[str, Callable[[str], object]] = {
    "model_variant": _one_of(VARIANTS),
    "epochs": _integer(1),
    "imgsz": _image_size,
    "batch": _integer(1),
    "patience": _integer(0),
    "optimizer": _one_of(OPTIMIZERS),
    "lr0": _number(0.0, inclusive=False),
    "warmup_epochs": _number(0.0, inclusive=True),
    "workers": _integer(0),
    "seed": _integer(0),
    "nbs": _integer(1),
    "device": _device,
    "plots": _boolean,
    "weights_uri": _optional_uri,
}


def parse(raw: Mapping[str, str]) -> Hyperparameters:
    """Parse hyperparameters.json's strings; keys starting with ``sagemaker_`` (set by the service) are ignored.

    Raises:
        JobFailure: an unknown key, or a value that does not convert or is out of range.
    """
    values: dict[str, object] = {}
    for key, text in raw.items():
        if key.startswith("sagemaker_"):
            continue
        if key not in _CONVERTERS:
            close = difflib.get_close_matches(key, _CONVERTERS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise JobFailure(f"unknown hyperparameter {key!r}={text!r}{hint}; "
                             f"allowed: {', '.join(sorted(_CONVERTERS))}")
        convert = _CONVERTERS[key]
        try:
            values[key] = convert(str(text))
        except (ValueError, KeyError):
            raise JobFailure(f"hyperparameter {key}={text!r} is invalid: expected {convert.__doc__}") from None
    return Hyperparameters(**values, model_variant_given="model_variant" in values)  # type: ignore[arg-type]
