"""Request checks against the SageMaker service model that ships with botocore, offline.

botocore's own ``ParamValidator`` checks required members and types only; the patterns (in Java's ``\\p{L}`` syntax,
hence the ``regex`` package), enums, lengths and ranges sit in the shape metadata. This walks a request against its
operation's input shape and reports every member that SageMaker would refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import regex

__all__ = ["ShapeProblem", "check_request"]

# One pattern in the model writes the supplementary planes as a UTF-16 surrogate range, which no Python regex engine
# takes; it means every code point above the BMP.
_SURROGATE_RANGE = "\\uD800\\uDC00-\\uDBFF\\uDFFF"
_SUPPLEMENTARY = "\\U00010000-\\U0010FFFF"


@dataclass(frozen=True)
class ShapeProblem:
    path: str  # e.g. "ResourceConfig.VolumeKmsKeyId"
    value: Any
    rule: str  # e.g. "must match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


@cache
def _service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


@cache
def _pattern(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern.replace(_SURROGATE_RANGE, _SUPPLEMENTARY))


def check_request(operation: str, request: dict[str, Any]) -> list[ShapeProblem]:
    """Every way ``request`` breaks the input shape of SageMaker's ``operation`` (e.g. ``CreateTrainingJob``)."""
    shape = _service_model().operation_model(operation).input_shape
    return list(_walk(shape, request, ""))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _walk(shape: Any, value: Any, path: str) -> Iterator[ShapeProblem]:
    kind = shape.type_name
    if kind == "structure":
        yield from _structure(shape, value, path)
    elif kind == "list":
        if not isinstance(value, list):
            yield ShapeProblem(path, value, "must be a list")
            return
        yield from _size(shape, len(value), value, path, "items")
        for index, item in enumerate(value):
            yield from _walk(shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            yield ShapeProblem(path, value, "must be a map")
            return
        yield from _size(shape, len(value), value, path, "entries")
        for key, item in value.items():
            yield from _walk(shape.key, key, f"{path} key")
            yield from _walk(shape.value, item, f"{path}.{key}")
    elif kind == "string":
        yield from _string(shape, value, path)
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            yield ShapeProblem(path, value, f"must be an integer, not {type(value).__name__}")
            return
        yield from _range(shape, value, path)
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            yield ShapeProblem(path, value, f"must be a number, not {type(value).__name__}")
            return
        yield from _range(shape, value, path)
    elif kind == "boolean" and not isinstance(value, bool):
        yield ShapeProblem(path, value, f"must be a boolean, not {type(value).__name__}")


def _structure(shape: Any, value: Any, path: str) -> Iterator[ShapeProblem]:
    if not isinstance(value, dict):
        yield ShapeProblem(path, value, "must be a structure")
        return
    for name in shape.required_members:
        if name not in value:
            yield ShapeProblem(_join(path, name), None, "is required")
    for name, item in value.items():
        member = shape.members.get(name)
        if member is None:
            yield ShapeProblem(_join(path, name), item, f"is not a member of {shape.name}")
        else:
            yield from _walk(member, item, _join(path, name))


def _string(shape: Any, value: Any, path: str) -> Iterator[ShapeProblem]:
    if not isinstance(value, str):
        yield ShapeProblem(path, value, f"must be a string, not {type(value).__name__}")
        return
    yield from _size(shape, len(value), value, path, "characters")
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        shown = ", ".join(enum[:6]) + (f", ... ({len(enum)} values of {shape.name})" if len(enum) > 6 else "")
        yield ShapeProblem(path, value, f"must be one of {shown}")
    pattern = shape.metadata.get("pattern")
    if pattern and not _pattern(pattern).fullmatch(value):
        yield ShapeProblem(path, value, f"must match the pattern {pattern}")


def _size(shape: Any, size: int, value: Any, path: str, unit: str) -> Iterator[ShapeProblem]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        yield ShapeProblem(path, value, f"must have at least {low} {unit} (has {size})")
    if high is not None and size > high:
        yield ShapeProblem(path, value, f"must have at most {high} {unit} (has {size})")


def _range(shape: Any, value: float, path: str) -> Iterator[ShapeProblem]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        yield ShapeProblem(path, value, f"must be at least {low}")
    if high is not None and value > high:
        yield ShapeProblem(path, value, f"must be at most {high}")
