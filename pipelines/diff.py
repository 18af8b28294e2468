"""A readable, step-level difference between two pipeline definitions (local vs deployed)."""

from __future__ import annotations

import json
from typing import Any

from pipelines.definition import iter_steps, load


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value and not ({"Get"} >= value.keys()):
        out: dict[str, Any] = {}
        for key in sorted(value):
            if key not in ("IfSteps", "ElseSteps"):
                out |= _flatten(value[key], f"{path}.{key}" if path else key)
        return out
    return {path: value}


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _compare(label: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    for name in sorted(old.keys() - new.keys()):
        lines.append(f"- {label} {name}")
    for name in sorted(new.keys() - old.keys()):
        lines.append(f"+ {label} {name}")
    for name in sorted(old.keys() & new.keys()):
        before, after = _flatten(old[name]), _flatten(new[name])
        changes = [f"    {key}: {_show(before.get(key))} -> {_show(after.get(key))}"
                   for key in sorted(before.keys() | after.keys()) if before.get(key) != after.get(key)]
        if changes:
            lines.append(f"~ {label} {name}")
            lines.extend(changes)
    return lines


def diff_definitions(deployed: str | dict[str, Any], local: str | dict[str, Any]) -> list[str]:
    """Lines describing how ``local`` differs from ``deployed`` (empty when they are the same pipeline)."""
    old, new = load(deployed), load(local)
    lines = _compare("parameter", {p["Name"]: p for p in old.get("Parameters", [])},
                     {p["Name"]: p for p in new.get("Parameters", [])})
    lines += _compare("step", {s["Name"]: s for s, _, _ in iter_steps(old.get("Steps", []))},
                      {s["Name"]: s for s, _, _ in iter_steps(new.get("Steps", []))})
    rest = {k for k in old.keys() | new.keys() if k not in ("Parameters", "Steps")}
    lines += _compare("setting", {k: {"value": old[k]} for k in rest if k in old},
                      {k: {"value": new[k]} for k in rest if k in new})
    return lines
