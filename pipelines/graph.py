"""The DAG of a definition as a Mermaid flowchart: steps, their dependencies and condition branches."""

from __future__ import annotations

from typing import Any

from pipelines.definition import iter_steps, load, upstream

_SHAPES = {"Condition": ("{", "}"), "Fail": ("[[", "]]")}


def mermaid(definition: str | dict[str, Any]) -> str:
    """A ``flowchart TD`` with one node per step (conditions as rhombi) and labelled if/else edges."""
    lines = ["flowchart TD"]
    edges: list[str] = []
    for step, parent, branch in iter_steps(load(definition)["Steps"]):
        opening, closing = _SHAPES.get(step["Type"], ("[", "]"))
        lines.append(f'    {step["Name"]}{opening}"{step["Name"]}<br/>{step["Type"]}"{closing}')
        for source in sorted(upstream(step)):
            edges.append(f"    {source} --> {step['Name']}")
        if parent and not (upstream(step) & _siblings(definition, parent, branch)):
            edges.append(f"    {parent} -->|{'yes' if branch == 'if' else 'no'}| {step['Name']}")
    return "\n".join(lines + edges) + "\n"


def _siblings(definition: str | dict[str, Any], parent: str, branch: str | None) -> set[str]:
    """Names of the steps in the same branch of the same condition."""
    return {s["Name"] for s, p, b in iter_steps(load(definition)["Steps"]) if p == parent and b == branch}
