"""The order the steps of a definition run in: dependencies first, definition order among equals.

A step waits for its explicit ``DependsOn``, for every step whose properties it reads, and, inside a condition
branch, for its ConditionStep (which decides whether it runs at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.definition import iter_steps, upstream
from pipelines.local.errors import UnsupportedConstruct

__all__ = ["PlannedStep", "plan"]


@dataclass(frozen=True)
class PlannedStep:
    step: dict[str, Any]
    parent: str | None  # the ConditionStep whose branch holds this step
    branch: str | None  # "if" | "else"
    after: frozenset[str]

    @property
    def name(self) -> str:
        return self.step["Name"]

    @property
    def type(self) -> str:
        return self.step["Type"]


def plan(definition: dict[str, Any]) -> list[PlannedStep]:
    """Every step, condition branches included, in an order that respects the dependencies.

    Raises:
        UnsupportedConstruct: duplicate step names, a dependency on a step that does not exist, or a cycle.
    """
    entries = list(iter_steps(definition.get("Steps", [])))
    names = [step["Name"] for step, _, _ in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UnsupportedConstruct(f"step names must be unique: {', '.join(duplicates)} appear more than once")
    planned = [PlannedStep(step, parent, branch, frozenset(upstream(step) | ({parent} if parent else set())))
               for step, parent, branch in entries]
    for item in planned:
        missing = sorted(item.after - set(names))
        if missing:
            raise UnsupportedConstruct(f"step {item.name} depends on {', '.join(missing)}, which the definition "
                                       "does not have")
    ordered: list[PlannedStep] = []
    done: set[str] = set()
    pending = list(planned)
    while pending:
        ready = next((item for item in pending if item.after <= done), None)
        if ready is None:
            raise UnsupportedConstruct(f"the steps {', '.join(i.name for i in pending)} depend on each other in a "
                                       "cycle")
        ordered.append(ready)
        done.add(ready.name)
        pending.remove(ready)
    return ordered
