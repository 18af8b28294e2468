"""Evaluating the expressions of a pipeline definition: ``Get``, ``Std:Join``, ``Std:JsonGet`` and conditions.

The JSON shapes are the ones the SageMaker SDK emits (``sagemaker.core.workflow``): ``{"Get": "Parameters.X"}``,
``{"Get": "Execution.PipelineExecutionId"}``, ``{"Get": "Steps.<name>.<property path>"}`` where the path indexes lists
by a member's name (``Outputs['train']``) or position (``[0]``), ``{"Std:Join": {"On", "Values"}}``,
``{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.<name>.PropertyFiles.<file>"} | "S3Uri": ..., "Path"}}`` and the
condition types of ``ConditionTypeEnum``. ``problems`` finds what local mode cannot evaluate before anything runs;
``evaluate`` and ``condition_holds`` do the work at run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.local.errors import ExpressionError

__all__ = [
    "CONDITION_TYPES",
    "EXECUTION_VARIABLES",
    "FUNCTIONS",
    "Scope",
    "condition_holds",
    "condition_problems",
    "evaluate",
    "is_expression",
    "json_path",
    "problems",
    "property_path",
    "render",
]

FUNCTIONS = ("Get", "Std:Join", "Std:JsonGet")
EXECUTION_VARIABLES = ("PipelineExecutionId", "PipelineExecutionArn", "PipelineName", "PipelineArn",
                       "StartDateTime", "CurrentDateTime", "TrainingJobName", "ProcessingJobName")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}
CONDITION_TYPES = (*COMPARISONS, "In", "Not", "Or")

# One step of a property path: .Name | [3] | ['name'] | ["name"]
_TOKEN = re.compile(r"""\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]""")


@dataclass
class Scope:
    """What expressions can read while one execution runs.

    ``properties`` maps each finished step to its properties (the shape of its Describe* response);
    ``property_files`` maps a step to its declared PropertyFiles (``{name: {"OutputName", "FilePath"}}``);
    ``read_json`` loads a JSON document from an ``s3://`` URI of the local store or a local path.
    """

    parameters: Mapping[str, Any]
    execution: dict[str, Any]
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    property_files: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    read_json: Callable[[str], Any] | None = None


def is_expression(value: Any) -> bool:
    """A one-key mapping whose key is ``Get`` or a ``Std:`` function: an expression, not a plain argument map."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key == "Get" or (isinstance(key, str) and key.startswith("Std:"))


def evaluate(value: Any, scope: Scope) -> Any:
    """``value`` with every expression inside it replaced by its value (plain values are returned as they are).

    Raises:
        ExpressionError: a reference that cannot be resolved now (unknown parameter, a step that has not run, a
            property or JSON path that does not exist, an unreadable property file).
    """
    if isinstance(value, dict):
        if is_expression(value):
            (name, argument), = value.items()
            if name == "Get":
                return _get(argument, scope)
            if name == "Std:Join":
                return _join(argument, scope)
            if name == "Std:JsonGet":
                return _json_get(argument, scope)
            raise ExpressionError(f"unsupported expression {name!r}")
        return {key: evaluate(inner, scope) for key, inner in value.items()}
    if isinstance(value, list):
        return [evaluate(inner, scope) for inner in value]
    return value


def render(value: Any) -> str:
    """How ``Std:Join`` writes a value: booleans as true/false, structures as JSON, None as empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _get(reference: Any, scope: Scope) -> Any:
    if not isinstance(reference, str):
        raise ExpressionError(f"Get takes a string reference, not {reference!r}")
    namespace, _, rest = reference.partition(".")
    if namespace == "Parameters":
        if rest not in scope.parameters:
            raise ExpressionError(f"Get {reference}: the pipeline has no parameter {rest!r}")
        return scope.parameters[rest]
    if namespace == "Execution":
        if rest not in scope.execution:
            raise ExpressionError(f"Get {reference}: no execution variable {rest!r} here "
                                  f"(known: {', '.join(sorted(scope.execution))})")
        return scope.execution[rest]
    if namespace == "Steps":
        step, _, path = rest.partition(".")
        if path.startswith("PropertyFiles."):
            raise ExpressionError(f"Get {reference}: a property file is read with Std:JsonGet, not on its own")
        if step not in scope.properties:
            raise ExpressionError(f"Get {reference}: step {step!r} has not run in this execution")
        return property_path(scope.properties[step], path, f"Steps.{step}")
    raise ExpressionError(f"Get {reference}: unknown namespace {namespace!r} (Parameters, Execution or Steps)")


def property_path(properties: Mapping[str, Any], path: str, where: str = "") -> Any:
    """Walk ``ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri`` through a step's properties.

    A string index into a list picks the member whose ``...Name`` field equals it (``OutputName``, ``ChannelName``,
    ``MetricName``, ``VariantName``...), as SageMaker's property references do.

    Raises:
        ExpressionError: the path is malformed or names something the properties do not have.
    """
    node: Any = properties
    trail = where
    for token in _tokens(path, where):
        if isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                raise ExpressionError(f"{trail}[{token}] does not exist")
            node, trail = node[token], f"{trail}[{token}]"
        elif isinstance(node, list):
            matches = [item for item in node if isinstance(item, dict)
                       and any(k.endswith("Name") and v == token for k, v in item.items())]
            if not matches:
                raise ExpressionError(f"{trail}[{token!r}] does not exist")
            node, trail = matches[0], f"{trail}[{token!r}]"
        elif isinstance(node, dict) and token in node:
            node, trail = node[token], f"{trail}.{token}" if trail else token
        else:
            raise ExpressionError(f"{trail + '.' if trail else ''}{token} does not exist")
    return node


def _tokens(path: str, where: str) -> Iterator[int | str]:
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if not match or match.end() == position:
            raise ExpressionError(f"{where}: cannot parse property path {path!r} at {path[position:]!r}")
        name, index, single, double = match.groups()
        yield int(index) if index is not None else next(t for t in (name, single, double) if t is not None)
        position = match.end()


def _join(spec: Any, scope: Scope) -> str:
    if not isinstance(spec, dict) or "Values" not in spec:
        raise ExpressionError(f"Std:Join needs {{'On', 'Values'}}, got {spec!r}")
    separator = render(evaluate(spec.get("On", ""), scope))
    return separator.join(render(evaluate(item, scope)) for item in spec["Values"])


def _json_get(spec: Any, scope: Scope) -> Any:
    if not isinstance(spec, dict) or "Path" not in spec:
        raise ExpressionError(f"Std:JsonGet needs a Path and a PropertyFile or S3Uri, got {spec!r}")
    if scope.read_json is None:
        raise ExpressionError("Std:JsonGet cannot read files in this scope")
    if "PropertyFile" in spec:
        uri = _property_file_uri(spec["PropertyFile"], scope)
    elif "S3Uri" in spec:
        uri = render(evaluate(spec["S3Uri"], scope))
    else:
        raise ExpressionError(f"Std:JsonGet needs a PropertyFile or an S3Uri, got {sorted(spec)}")
    document = scope.read_json(uri)
    return json_path(document, spec["Path"], uri)


def _property_file_uri(reference: Any, scope: Scope) -> str:
    """Where a PropertyFile lives: the S3 URI of the step output it names, joined with its FilePath."""
    target = reference.get("Get") if isinstance(reference, dict) else None
    match = re.fullmatch(r"Steps\.([^.]+)\.PropertyFiles\.(.+)", target or "")
    if not match:
        raise ExpressionError(f"Std:JsonGet PropertyFile must be Get Steps.<step>.PropertyFiles.<name>, "
                              f"got {reference!r}")
    step, name = match.groups()
    declared = scope.property_files.get(step, {}).get(name)
    if declared is None:
        raise ExpressionError(f"step {step!r} declares no property file {name!r}")
    if step not in scope.properties:
        raise ExpressionError(f"property file {step}.{name}: step {step!r} has not run in this execution")
    output = property_path(scope.properties[step],
                           f"ProcessingOutputConfig.Outputs['{declared['OutputName']}'].S3Output.S3Uri",
                           f"Steps.{step}")
    return f"{str(output).rstrip('/')}/{declared['FilePath'].lstrip('/')}"


def json_path(document: Any, path: str, where: str = "") -> Any:
    """``object_detection_metrics.mAP50_95.value`` (or ``$.a.b[0]``, ``a['b c']``) inside a JSON document.

    Raises:
        ExpressionError: a key or index on the path is missing.
    """
    node = document
    trail = "$"
    for token in _tokens(path.removeprefix("$").lstrip("."), where or path):
        if isinstance(token, int) and isinstance(node, list) and token < len(node):
            node = node[token]
        elif isinstance(token, str) and isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise ExpressionError(f"JSON path {path!r} in {where or 'the document'}: {trail} has no {token!r}")
        trail = f"{trail}.{token}"
    return node


def condition_holds(condition: Mapping[str, Any], scope: Scope) -> bool:
    """Evaluate one condition of a ConditionStep (all of a step's conditions must hold for its ``if`` branch).

    Raises:
        ExpressionError: an operand cannot be evaluated, or an ordering compares values that are not both numbers
            or both strings, or the condition type is unknown (``condition_problems`` reports that before a run).
    """
    kind = condition.get("Type")
    if kind == "Not":
        return not condition_holds(condition["Condition"], scope)
    if kind == "Or":
        return any(condition_holds(inner, scope) for inner in condition["Conditions"])
    if kind == "In":
        value = evaluate(condition["QueryValue"], scope)
        return any(_equal(value, evaluate(item, scope)) for item in condition["Values"])
    if kind in COMPARISONS:
        left, right = evaluate(condition["LeftValue"], scope), evaluate(condition["RightValue"], scope)
        if kind == "Equals":
            return _equal(left, right)
        if not (_number(left) and _number(right)) and not (isinstance(left, str) and isinstance(right, str)):
            raise ExpressionError(f"condition {kind} compares {left!r} with {right!r}: both must be numbers")
        return COMPARISONS[kind](left, right)
    raise ExpressionError(f"unsupported condition type {kind!r}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if _number(left) and _number(right):
        return float(left) == float(right)
    return type(left) is type(right) and left == right


def problems(value: Any, parameters: set[str], steps: set[str], where: str) -> list[str]:
    """What local mode cannot evaluate in ``value``: unknown functions, namespaces, parameters, execution variables
    and step names, each as ``"<where>: <construct>"``. Empty when everything inside is supported."""
    found: list[str] = []
    if isinstance(value, dict):
        if is_expression(value):
            (name, argument), = value.items()
            if name not in FUNCTIONS:
                return [f"{where}: unsupported expression {name!r} (local mode evaluates {', '.join(FUNCTIONS)})"]
            if name == "Get":
                return _reference_problems(argument, parameters, steps, where)
            if name == "Std:JsonGet" and isinstance(argument, dict) and isinstance(argument.get("PropertyFile"), dict):
                target = argument["PropertyFile"].get("Get", "")
                if not re.fullmatch(r"Steps\.[^.]+\.PropertyFiles\.[^.]+", str(target)):
                    found.append(f"{where}: Std:JsonGet PropertyFile {target!r} is not "
                                 "Steps.<step>.PropertyFiles.<name>")
                else:
                    found += _reference_problems(target, parameters, steps, where)
                argument = {k: v for k, v in argument.items() if k != "PropertyFile"}
            return found + problems(argument, parameters, steps, where)
        for key, inner in value.items():
            found += problems(inner, parameters, steps, f"{where}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += problems(inner, parameters, steps, f"{where}[{index}]")
    return found


def _reference_problems(reference: Any, parameters: set[str], steps: set[str], where: str) -> list[str]:
    if not isinstance(reference, str):
        return [f"{where}: Get takes a string reference, not {reference!r}"]
    namespace, _, rest = reference.partition(".")
    if namespace == "Parameters" and rest not in parameters:
        return [f"{where}: Get {reference} names no parameter of the pipeline"]
    if namespace == "Execution" and rest not in EXECUTION_VARIABLES:
        return [f"{where}: unsupported execution variable {reference!r} "
                f"(local mode knows {', '.join(EXECUTION_VARIABLES)})"]
    if namespace == "Steps" and rest.partition(".")[0] not in steps:
        return [f"{where}: Get {reference} names no step of the pipeline"]
    if namespace not in ("Parameters", "Execution", "Steps"):
        return [f"{where}: unsupported reference {reference!r} (Parameters.*, Execution.* or Steps.*)"]
    return []


def condition_problems(condition: Any, parameters: set[str], steps: set[str], where: str) -> list[str]:
    """``problems`` for one condition, its type and nested conditions included."""
    kind = condition.get("Type") if isinstance(condition, dict) else None
    if kind not in CONDITION_TYPES:
        return [f"{where}: unsupported condition type {kind!r} (local mode knows {', '.join(CONDITION_TYPES)})"]
    if kind == "Not":
        return condition_problems(condition.get("Condition"), parameters, steps, f"{where}.Condition")
    if kind == "Or":
        return [problem for index, inner in enumerate(condition.get("Conditions", []))
                for problem in condition_problems(inner, parameters, steps, f"{where}.Conditions[{index}]")]
    operands = {k: v for k, v in condition.items() if k != "Type"}
    return problems(operands, parameters, steps, where)
