"""``yolo-pipeline``: build, diff, upsert, start and watch the pipeline; run it locally; manage the registry.

Exit codes: 0 ok, 1 a check failed (``diff`` found differences, an execution failed, AWS refused), 2 usage or
validation error. Logs go to stderr; stdout carries only the requested output (JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines import aws, remote
from pipelines.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    UsageError,
    cli_errors,
    definition_json,
    load,
    print_json,
)


def _config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config file (default: the packaged default_config.yaml)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set parameters.epochs=50 (repeatable)")


def cmd_definition(args: argparse.Namespace) -> int:
    definition = definition_json(load(args.config, args.sets))
    if args.output:
        Path(args.output).write_text(definition + "\n", encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(definition + "\n")
    return EXIT_OK


def cmd_upsert(args: argparse.Namespace) -> int:
    config = load(args.config, args.sets, {"role_arn": args.role_arn} if args.role_arn else None)
    if not config.role_arn:
        raise UsageError("upsert needs the pipeline's role: pass --role-arn or set role_arn in the config")
    if not config.images.registry:
        raise UsageError("upsert needs the ECR registry of the step images: set images.registry "
                         "(or IMAGE_REGISTRY), e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com")
    from pipelines.factory import project_tags

    arn, created = remote.upsert(aws.client("sagemaker"), name=config.pipeline_name,
                                 definition=definition_json(config), role_arn=config.role_arn,
                                 description=args.description, tags={**config.tags, **project_tags(config)})
    print(f"{'Created' if created else 'Updated'} pipeline {config.pipeline_name}", file=sys.stderr)
    print(arn)
    return EXIT_OK


def cmd_start(args: argparse.Namespace) -> int:
    from pipelines.definition import parse_parameters

    config = load(args.config, args.sets)
    parameters = parse_parameters(definition_json(config), args.params)
    client = aws.client("sagemaker")
    execution = remote.start(client, name=config.pipeline_name, parameters=parameters, display_name=args.display_name)
    print(execution)
    if args.wait:
        status = remote.wait(client, execution, poll_seconds=args.poll)
        print(f"Execution {status}", file=sys.stderr)
        return EXIT_OK if status == "Succeeded" else EXIT_CHECK_FAILED
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from pipelines.diff import diff_definitions

    config = load(args.config, args.sets)
    deployed = remote.describe_pipeline(aws.client("sagemaker"), config.pipeline_name)["PipelineDefinition"]
    lines = diff_definitions(deployed, definition_json(config))
    if not lines:
        print(f"pipeline {config.pipeline_name} is up to date", file=sys.stderr)
        return EXIT_OK
    print(f"--- deployed {config.pipeline_name}\n+++ local definition")
    print("\n".join(lines))
    return EXIT_CHECK_FAILED


def cmd_executions(args: argparse.Namespace) -> int:
    config = load(args.config, args.sets)
    rows = remote.executions(aws.client("sagemaker"), config.pipeline_name, limit=args.limit)
    if args.json:
        print_json(rows)
        return EXIT_OK
    for row in rows:
        print(f"{row['PipelineExecutionStatus']:<10} {row['StartTime']!s:<32} {row['PipelineExecutionArn']}")
    if not rows:
        print(f"no executions of {config.pipeline_name} yet", file=sys.stderr)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    config = load(args.config, args.sets)
    described = remote.execution_status(aws.client("sagemaker"), config.pipeline_name, args.execution)
    if args.json:
        print_json({k: v for k, v in described.items() if k != "ResponseMetadata"})
        return EXIT_OK
    print(f"execution  {described['PipelineExecutionArn']}")
    print(f"status     {described['PipelineExecutionStatus']}")
    if described.get("FailureReason"):
        print(f"reason     {described['FailureReason']}")
    for parameter in described["Parameters"]:
        print(f"parameter  {parameter['Name']}={parameter['Value']}")
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    from pipelines.graph import mermaid

    sys.stdout.write(mermaid(definition_json(load(args.config, args.sets))))
    return EXIT_OK


def cmd_sample_data(args: argparse.Namespace) -> int:
    from pipelines.sample_data import generate

    path = generate(Path(args.out), fmt=args.format)
    print(path)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yolo-pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler, help_text: str, config: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if config:
            _config_options(sub)
        sub.set_defaults(handler=handler)
        return sub

    sub = command("definition", cmd_definition, "print the pipeline definition JSON (no AWS call)")
    sub.add_argument("-o", "--output", help="write to this file instead of stdout")

    sub = command("upsert", cmd_upsert, "create or update the pipeline in SageMaker")
    sub.add_argument("--role-arn", help="role the pipeline runs as (default: config role_arn)")
    sub.add_argument("--description", help="pipeline description")

    sub = command("start", cmd_start, "start an execution of the deployed pipeline")
    sub.add_argument("--param", dest="params", action="append", default=[], metavar="NAME=VALUE",
                     help="pipeline parameter, e.g. --param Epochs=50 (repeatable; checked before any call)")
    sub.add_argument("--display-name", help="execution display name")
    sub.add_argument("--wait", action="store_true", help="wait for the end (exit 1 unless it succeeds)")
    sub.add_argument("--poll", type=float, default=30.0, help=argparse.SUPPRESS)

    command("diff", cmd_diff, "compare the local definition with the deployed one (exit 1 when they differ)")

    sub = command("executions", cmd_executions, "list the pipeline's executions, newest first")
    sub.add_argument("--limit", type=int, default=20)
    sub.add_argument("--json", action="store_true")

    sub = command("status", cmd_status, "show one execution (default: the newest)")
    sub.add_argument("execution", nargs="?", help="execution ARN")
    sub.add_argument("--json", action="store_true")

    sub = command("graph", cmd_graph, "print the pipeline's DAG")
    sub.add_argument("--format", choices=["mermaid"], default="mermaid")

    sub = command("sample-data", cmd_sample_data, "write the synthetic sample dataset", config=False)
    sub.add_argument("--out", required=True, help="output directory")
    sub.add_argument("--format", choices=["yolo", "ground-truth", "coco"], default="yolo")
    return parser


@cli_errors
def main(argv: list[str] | None = None) -> int:
    aws.prepare_sdk_environment()
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
