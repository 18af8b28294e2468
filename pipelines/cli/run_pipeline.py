"""``run-pipeline``: upsert the pipeline and start an execution (SageMaker Projects seed-compatible).

``--no-start`` only upserts: the model-build buildspec makes starting an execution opt-in.
"""

from __future__ import annotations

import argparse
import json
import sys

from pipelines import aws
from pipelines.aws import pipeline_service
from pipelines.cli.common import EXIT_CHECK_FAILED, EXIT_OK, UsageError, cli_errors
from pipelines.cli.get_pipeline_definition import get_pipeline_from_module, parse_kwargs


def parse_tags(text: str | None) -> dict[str, str]:
    """Tags as the seed code passes them: ``[{"Key": .., "Value": ..}]`` (or a plain JSON object)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--tags is not valid JSON ({exc.msg})") from None
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(t, dict) and {"Key", "Value"} <= t.keys() for t in value):
        return {t["Key"]: t["Value"] for t in value}
    raise UsageError('--tags must be [{"Key": "k", "Value": "v"}, ...] or {"k": "v"}')


@cli_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run-pipeline", description=__doc__)
    parser.add_argument("-n", "--module-name", required=True, help="module with get_pipeline(**kwargs)")
    parser.add_argument("-role-arn", "--role-arn", required=True, help="role the pipeline runs as")
    parser.add_argument("-tags", "--tags", help='JSON: [{"Key": "k", "Value": "v"}, ...]')
    parser.add_argument("-kwargs", "--kwargs", help="JSON object of keyword arguments for get_pipeline")
    parser.add_argument("-description", "--description", help="pipeline description")
    parser.add_argument("--wait", action="store_true", help="wait for the execution to end (exit 1 unless it succeeds)")
    parser.add_argument("--no-start", action="store_true", help="only upsert the pipeline; start no execution")
    args = parser.parse_args(argv)
    kwargs = parse_kwargs(args.kwargs)
    kwargs.setdefault("role", args.role_arn)
    pipeline = get_pipeline_from_module(args.module_name, kwargs)
    client = aws.client("sagemaker")
    arn, created = pipeline_service.upsert(client, name=pipeline.name, definition=pipeline.definition(),
                                           role_arn=args.role_arn, description=args.description,
                                           tags=parse_tags(args.tags))
    print(f"{'Created' if created else 'Updated'} pipeline {arn}", file=sys.stderr)
    if args.no_start:
        print(arn)
        return EXIT_OK
    execution = pipeline_service.start(client, name=pipeline.name, parameters={})
    print(execution)
    if args.wait:
        status = pipeline_service.wait(client, execution)
        print(f"Execution {status}", file=sys.stderr)
        return EXIT_OK if status == "Succeeded" else EXIT_CHECK_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
