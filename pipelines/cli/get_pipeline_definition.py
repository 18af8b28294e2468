"""``get-pipeline-definition``: print or write a pipeline definition (SageMaker Projects seed-compatible)."""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys

from pipelines.cli.common import EXIT_OK, UsageError, cli_errors, require_valid


def parse_kwargs(text: str | None) -> dict:
    """A JSON object, or a Python dict literal as the SageMaker Projects seed code reads it (``ast.literal_eval``)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise UsageError(f"--kwargs is neither a JSON object ({exc.msg}) nor a Python dict literal; "
                             "pass an object like '{\"region\": \"us-east-1\"}'") from None
    if not isinstance(value, dict):
        raise UsageError("--kwargs must be a JSON object")
    return value


def get_pipeline_from_module(module_name: str, kwargs: dict):
    """Import ``module_name`` and call its ``get_pipeline(**kwargs)``, as the seed code does.

    When the module is this package's factory, the definition is checked against SageMaker's rules first, so a
    definition that cannot run (no ECR registry, the placeholder role, ...) is refused before anything is sent.

    Raises:
        DefinitionRejected: SageMaker would refuse the definition or run it wrongly.
    """
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UsageError(f"cannot import module {module_name!r}: {exc}") from None
    if not hasattr(module, "get_pipeline"):
        raise UsageError(f"module {module_name!r} has no get_pipeline(**kwargs)")
    pipeline = module.get_pipeline(**kwargs)
    if hasattr(module, "seed_config"):
        require_valid(pipeline.definition(), module.seed_config(**kwargs))
    return pipeline


@cli_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="get-pipeline-definition", description=__doc__)
    parser.add_argument("-n", "--module-name", default="pipelines.factory",
                        help="module with get_pipeline(**kwargs) (default: pipelines.factory)")
    parser.add_argument("-f", "--file-name", help="write the definition here instead of stdout")
    parser.add_argument("-kwargs", "--kwargs", help="JSON object of keyword arguments for get_pipeline")
    args = parser.parse_args(argv)
    definition = get_pipeline_from_module(args.module_name, parse_kwargs(args.kwargs)).definition()
    if args.file_name:
        with open(args.file_name, "w", encoding="utf-8") as handle:
            handle.write(definition)
    else:
        sys.stdout.write(definition + "\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
