"""Per-request detection options (confidence, IoU, max detections) and where a caller may set them.

Sources, later ones winning: the ``X-Amzn-SageMaker-Custom-Attributes`` header (``conf=0.3,iou=0.5,max_det=50``;
the header is shared with other tooling, so keys other than ours are ignored there), the query string, then the
JSON body's top-level fields. Unknown keys in the query string or the JSON body are errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

MAX_DETECTIONS_LIMIT = 1000


class OptionsError(ValueError):
    """A detection option with a bad name or value; the message says which and what is allowed."""


@dataclass(frozen=True)
class DetectionOptions:
    """Ultralytics' predict defaults."""

    conf: float = 0.25
    iou: float = 0.7
    max_det: int = 300

    def updated(self, values: Mapping[str, object], source: str) -> DetectionOptions:
        """A copy with ``values`` applied, each validated.

        Raises:
            OptionsError: an unknown key, or a value that is not a number in range; ``source`` names where it came from.
        """
        conf, iou, max_det = self.conf, self.iou, self.max_det
        for key, value in values.items():
            if key == "conf":
                conf = _fraction(key, value, source)
            elif key == "iou":
                iou = _fraction(key, value, source)
            elif key == "max_det":
                max_det = _max_det(value, source)
            else:
                raise OptionsError(f"unknown option {key!r} in {source}: allowed are conf, iou, max_det")
        return DetectionOptions(conf, iou, max_det)


def parse_custom_attributes(header: str) -> dict[str, str]:
    """Our keys from a ``key=value`` list separated by ``,`` or ``;``; other keys and bare words are ignored."""
    found: dict[str, str] = {}
    for item in header.replace(";", ",").split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if key in DetectionOptions.__dataclass_fields__:
            if not sep:
                raise OptionsError(f"option {key!r} in X-Amzn-SageMaker-Custom-Attributes has no value: "
                                   f"use {key}=VALUE")
            found[key] = value.strip()
    return found


def _fraction(key: str, value: object, source: str) -> float:
    number = _number(key, value, source)
    if not 0.0 <= number <= 1.0:
        raise OptionsError(f"option {key!r} in {source} must be between 0 and 1, got {value!r}")
    return number


def _max_det(value: object, source: str) -> int:
    number = _number("max_det", value, source)
    if not number.is_integer() or not 1 <= number <= MAX_DETECTIONS_LIMIT:
        raise OptionsError(f"option 'max_det' in {source} must be an integer from 1 to {MAX_DETECTIONS_LIMIT}, "
                           f"got {value!r}")
    return int(number)


def _number(key: str, value: object, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise OptionsError(f"option {key!r} in {source} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise OptionsError(f"option {key!r} in {source} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise OptionsError(f"option {key!r} in {source} must be a finite number, got {value!r}")
    return number
