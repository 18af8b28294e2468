"""Reading a compiled pipeline definition (JSON): its parameters and steps, with no SageMaker SDK import.

Shared by the CLI (parameter validation before ``start``, ``graph``, ``diff``) and the local executor.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any, cast

from pydantic import ValidationError

from pipelines.config import ParameterDefaults

_BOOLEANS = {"true": True, "false": False}
# InputDataUri may name a local folder in local mode, and the model inputs a local file (the local registry's copy
# of the approved model); the config's s3:// rule applies to the config only.
_UNBOUNDED = {"input_data_uri", "pretrained_weights_uri", "baseline_model_uri"}


class ParameterError(ValueError):
    """A ``--param`` names no parameter of the pipeline or has a value of the wrong type."""


def load(definition: str | dict[str, Any]) -> dict[str, Any]:
    return json.loads(definition) if isinstance(definition, str) else definition


def parameter_types(definition: str | dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """``{name: (type, default)}`` for every parameter the definition declares."""
    return {p["Name"]: (p["Type"], p.get("DefaultValue")) for p in load(definition).get("Parameters", [])}


def _coerce(name: str, kind: str, raw: str) -> Any:
    try:
        if kind == "Integer":
            return int(raw)
        if kind == "Float":
            return float(raw)
        if kind == "Boolean":
            return _BOOLEANS[raw.strip().lower()]
        return raw
    except (ValueError, KeyError):
        allowed = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false"}[kind]
        raise ParameterError(f"parameter {name} is {kind}: {raw!r} is not {allowed}") from None


def parse_parameters(definition: str | dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """``["Epochs=5", ...]`` -> ``{"Epochs": 5}``, typed as the definition declares.

    Raises:
        ParameterError: malformed assignment, unknown name (the message lists the known ones), wrong type, or a
            value outside the bounds the configuration sets for that parameter.
    """
    declared = parameter_types(definition)
    values: dict[str, Any] = {}
    for item in assignments:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"--param {item!r}: expected NAME=VALUE, e.g. Epochs=50")
        values[name] = _bounded(name, _coerce(name, _declared_kind(declared, name), raw))
    return values


def _field_name(parameter: str) -> str:
    """``MapThreshold`` -> ``map_threshold``: the ParameterDefaults field that holds the parameter's default."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", parameter).lower()


def _bounded(name: str, value: Any) -> Any:
    """``value`` when it is within the bounds the configuration sets for the parameter's default
    (``pipelines.config.ParameterDefaults``); a parameter the configuration does not know is only type-checked.

    Raises:
        ParameterError: out of bounds, or a float that is not finite; the message names the parameter.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(f"parameter {name}: {value!r} is not allowed: must be a finite number")
    field = _field_name(name)
    if field not in ParameterDefaults.model_fields or field in _UNBOUNDED:
        return value
    try:
        ParameterDefaults.model_validate({field: value}, strict=True)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ParameterError(f"parameter {name}: {value!r} is not allowed: {message}") from None
    return value


def _declared_kind(declared: dict[str, tuple[str, Any]], name: str) -> str:
    if name not in declared:
        raise ParameterError(f"unknown parameter {name!r}; the pipeline's parameters are: {', '.join(declared)}")
    return declared[name][0]


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {"String": (str,), "Integer": (int,), "Float": (int, float),
                                              "Boolean": (bool,)}


def resolve_parameters(definition: str | dict[str, Any], values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every parameter's value for one execution: the definition's defaults, overridden by ``values`` (typed
    values, or strings as ``--param`` gives them).

    Raises:
        ParameterError: an unknown name, a value of the wrong type or out of bounds, or a parameter with neither
            default nor value.
    """
    declared = parameter_types(definition)
    given = {name: _bounded(name, _typed(name, _declared_kind(declared, name), value))
             for name, value in (values or {}).items()}
    resolved: dict[str, Any] = {}
    for name, (_kind, default) in declared.items():
        if name not in given and default is None:
            raise ParameterError(f"parameter {name} has no default value: give one, e.g. --param {name}=...")
        resolved[name] = given.get(name, default)
    return resolved


def _typed(name: str, kind: str, value: Any) -> Any:
    if isinstance(value, str) and kind != "String":
        return _coerce(name, kind, value)
    allowed = _PYTHON_TYPES[kind]
    if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
        raise ParameterError(f"parameter {name} is {kind}: {value!r} ({type(value).__name__}) is not allowed")
    if kind == "Float":
        return float(cast(float, value))  # an int or a float, checked above
    return value


def iter_steps(steps: list[dict[str, Any]], parent: str | None = None,
               branch: str | None = None) -> Iterator[tuple[dict[str, Any], str | None, str | None]]:
    """Every step, condition branches included: ``(step, parent condition name, "if"|"else")``."""
    for step in steps:
        yield step, parent, branch
        if step["Type"] == "Condition":
            yield from iter_steps(step["Arguments"].get("IfSteps", []), step["Name"], "if")
            yield from iter_steps(step["Arguments"].get("ElseSteps", []), step["Name"], "else")


def references(value: Any) -> set[str]:
    """Names of the steps whose properties ``value`` reads (``{"Get": "Steps.<name>..."}`` anywhere inside)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Get" and isinstance(inner, str) and inner.startswith("Steps."):
                found.add(inner.split(".", 2)[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def upstream(step: dict[str, Any]) -> set[str]:
    """The steps this one waits for: explicit DependsOn plus property references (condition branches excluded)."""
    arguments = {k: v for k, v in step.get("Arguments", {}).items() if k not in ("IfSteps", "ElseSteps")}
    return set(step.get("DependsOn", [])) | references(arguments) | references(step.get("PropertyFiles"))
