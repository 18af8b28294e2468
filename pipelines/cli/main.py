"""``yolo-pipeline``: build, diff, upsert, start and watch the pipeline; run it locally; manage the registry.

Exit codes: 0 ok, 1 a check failed (``diff`` found differences, an execution failed, AWS refused), 2 usage or
validation error. Logs go to stderr; stdout carries only the requested output (JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines import aws
from pipelines.aws import pipeline_service
from pipelines.cli import cicd, images, local_mode, model_inputs
from pipelines.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    UsageError,
    cli_errors,
    definition_json,
    definition_problems,
    load,
    print_json,
    require_valid,
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

    definition = definition_json(config)
    require_valid(definition, config)
    arn, created = pipeline_service.upsert(aws.client("sagemaker"), name=config.pipeline_name,
                                 definition=definition, role_arn=config.role_arn,
                                 description=args.description, tags={**config.tags, **project_tags(config)})
    print(f"{'Created' if created else 'Updated'} pipeline {config.pipeline_name}", file=sys.stderr)
    print(arn)
    return EXIT_OK


def cmd_start(args: argparse.Namespace) -> int:
    from pipelines.definition import parse_parameters

    config = load(args.config, args.sets)
    definition = definition_json(config)
    parameters = parse_parameters(definition, args.params)
    # What these values would break (a volume KMS key on an NVMe instance type, ...); the role and images were
    # checked when the pipeline was upserted.
    require_valid(definition, config, parameters, deployable=False)
    parameters = model_inputs.settle_on_aws(definition, parameters, kms_key_id=config.kms_key_id,
                                            warm_start=args.warm_start or config.training.warm_start)
    client = aws.client("sagemaker")
    execution = pipeline_service.start(client, name=config.pipeline_name, parameters=parameters,
                                       display_name=args.display_name)
    print(execution)
    if args.wait:
        status = pipeline_service.wait(client, execution, poll_seconds=args.poll)
        print(f"Execution {status}", file=sys.stderr)
        return EXIT_OK if status == "Succeeded" else EXIT_CHECK_FAILED
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from pipelines.definition import parse_parameters

    config = load(args.config, args.sets)
    definition = definition_json(config)
    parameters = parse_parameters(definition, args.params)
    problems = definition_problems(definition, config, parameters, deployable=not args.local)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s): SageMaker would refuse this definition or run it wrongly", file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(f"pipeline {config.pipeline_name}: every step passes the SageMaker service model and the documented rules",
          file=sys.stderr)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from pipelines.diff import diff_definitions

    config = load(args.config, args.sets)
    deployed = pipeline_service.describe_pipeline(aws.client("sagemaker"), config.pipeline_name)["PipelineDefinition"]
    lines = diff_definitions(deployed, definition_json(config))
    if not lines:
        print(f"pipeline {config.pipeline_name} is up to date", file=sys.stderr)
        return EXIT_OK
    print(f"--- deployed {config.pipeline_name}\n+++ local definition")
    print("\n".join(lines))
    return EXIT_CHECK_FAILED


def cmd_executions(args: argparse.Namespace) -> int:
    if args.local:
        return local_mode.cmd_executions_local(args)
    config = load(args.config, args.sets)
    rows = pipeline_service.executions(aws.client("sagemaker"), config.pipeline_name, limit=args.limit)
    if args.json:
        print_json(rows)
        return EXIT_OK
    for row in rows:
        print(f"{row['PipelineExecutionStatus']:<10} {row['StartTime']!s:<32} {row['PipelineExecutionArn']}")
    if not rows:
        print(f"no executions of {config.pipeline_name} yet", file=sys.stderr)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    if args.local:
        return local_mode.cmd_status_local(args)
    config = load(args.config, args.sets)
    described = pipeline_service.execution_status(aws.client("sagemaker"), config.pipeline_name, args.execution)
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


def _registry(args: argparse.Namespace):
    if args.local:
        from pipelines.local.registry import LocalModelRegistry

        return LocalModelRegistry(args.state_dir)
    from pipelines.aws.model_registry import SageMakerRegistry

    return SageMakerRegistry(aws.client("sagemaker"), aws.client("s3"))


def _version_row(v) -> str:
    metrics = " ".join(f"{k}={v:.3f}" for k, v in v.metrics.items())
    return f"{v.version:>4}  {v.approval_status:<22} {v.created_at[:19]:<20} {metrics}"


def cmd_registry(args: argparse.Namespace) -> int:
    from pipelines.registry import RegistryError, compare

    config = load(args.config, args.sets)
    group = args.group or config.model_package_group_name
    registry = _registry(args)
    try:
        if args.action == "list":
            versions = registry.list_versions(group)
            if args.json:
                print_json([v.__dict__ for v in versions])
            else:
                print("\n".join(_version_row(v) for v in versions) or f"no versions in {group}")
        elif args.action == "show":
            print_json(registry.get(group, _version(args.versions, 1)).__dict__)
        elif args.action in ("approve", "reject"):
            status = "Approved" if args.action == "approve" else "Rejected"
            version = registry.set_approval(group, _version(args.versions, 1), status, args.note)
            print(f"{group} version {version.version}: {version.approval_status}", file=sys.stderr)
            if args.local and status == "Rejected":
                cicd.after_local_rejection(args, group, version.version)
        else:
            a, b = _version(args.versions, 2)
            rows = compare(registry, group, a, b)
            print(f"{'metric':<12} {'v' + str(a):>10} {'v' + str(b):>10} {'change':>10}")
            for name, first, second in rows:
                change = f"{second - first:+.3f}" if first is not None and second is not None else "n/a"
                print(f"{name:<12} {_fmt(first):>10} {_fmt(second):>10} {change:>10}")
            for number in (a, b):
                print(_baseline_line(registry.get(group, number)))
    except RegistryError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


def _baseline_line(version) -> str:
    """What the version's evaluation recorded about the approved baseline it was scored against."""
    if "baseline" not in version.details:
        return f"v{version.version}: no evaluation.json recorded"
    baseline = version.details["baseline"]
    if baseline is None:
        return f"v{version.version}: evaluated without a baseline (no approved version then)"
    source = (baseline.get("model") or {}).get("training_job_name") or "the approved version"
    values = ", ".join(f"{name} {item['value']:.3f} ({item['delta']:+.3f})" for name, item in baseline.items()
                       if name != "model")
    return f"v{version.version}: evaluated against the baseline {source}: {values}"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _version(values: list[str], count: int):
    if len(values) != count:
        raise UsageError(f"expected {count} version number(s), got {len(values)}")
    try:
        numbers = [int(v) for v in values]
    except ValueError:
        raise UsageError(f"version numbers are integers, got {' '.join(values)}") from None
    return numbers[0] if count == 1 else numbers


def cmd_graph(args: argparse.Namespace) -> int:
    from pipelines.graph import mermaid

    sys.stdout.write(mermaid(definition_json(load(args.config, args.sets))))
    return EXIT_OK


def cmd_sample_data(args: argparse.Namespace) -> int:
    from pipelines.sample_data import generate

    path = generate(Path(args.out), fmt=args.format)
    print(path)
    return EXIT_OK


def _local_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--local", action="store_true", help="local mode (this machine) instead of AWS")
    parser.add_argument("--state-dir", help="local state directory (default ./.yolo-pipeline or $YOLO_PIPELINE_HOME)")


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
    model_inputs.warm_start_option(sub)

    command("diff", cmd_diff, "compare the local definition with the deployed one (exit 1 when they differ)")

    sub = command("validate", cmd_validate,
                  "check every step against the SageMaker service model and documented rules (exit 1 on a problem)")
    sub.add_argument("--param", dest="params", action="append", default=[], metavar="NAME=VALUE",
                     help="check with this parameter value instead of the default (repeatable)")
    sub.add_argument("--local", action="store_true",
                     help="as local mode runs it: skip the AWS-only checks (ECR image URIs, a real role)")

    sub = command("executions", cmd_executions, "list the pipeline's executions, newest first")
    sub.add_argument("--limit", type=int, default=20)
    sub.add_argument("--json", action="store_true")
    _local_options(sub)

    sub = command("status", cmd_status, "show one execution (default: the newest)")
    sub.add_argument("execution", nargs="?", help="execution ARN (local: execution id)")
    sub.add_argument("--json", action="store_true")
    _local_options(sub)

    sub = command("run", local_mode.cmd_run, "run the pipeline definition end to end on this machine")
    _local_options(sub)
    sub.add_argument("--param", dest="params", action="append", default=[], metavar="NAME=VALUE",
                     help="pipeline parameter over the config's local.parameters (repeatable)")
    sub.add_argument("--no-cache", action="store_true", help="run every job even when the cache could serve it")
    sub.add_argument("--verbose", action="store_true", help="also print every line the jobs print")
    sub.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    model_inputs.warm_start_option(sub)

    sub = command("registry", cmd_registry, "list, show, compare, approve or reject model versions")
    sub.add_argument("action", choices=["list", "show", "approve", "reject", "compare"])
    sub.add_argument("versions", nargs="*", help="version number(s): one for show/approve/reject, two for compare")
    sub.add_argument("--group", help="model package group (default: the config's model_package_group_name)")
    sub.add_argument("--note", help="approval description")
    sub.add_argument("--json", action="store_true")
    _local_options(sub)

    sub = command("serve", local_mode.cmd_serve, "serve a model folder or model.tar.gz on this machine",
                  config=False)
    sub.add_argument("--model", required=True, help="model folder or model.tar.gz (best.onnx, model.json)")
    sub.add_argument("--port", type=int, default=8080)
    sub.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for every interface)")

    sub = command("endpoints", local_mode.cmd_endpoints_local, "list (or stop) the local endpoints", config=False)
    _local_options(sub)
    sub.add_argument("--stop", metavar="NAME", help="stop this local endpoint")

    sub = command("invoke", local_mode.cmd_invoke, "send an image to an endpoint (local name or URL)", config=False)
    sub.add_argument("endpoint", help="local endpoint name or http://host:port")
    sub.add_argument("image", help="a .jpg or .png file")
    sub.add_argument("--state-dir", help="local state directory (default ./.yolo-pipeline or $YOLO_PIPELINE_HOME)")

    model_inputs.add_parser(command)

    sub = command("graph", cmd_graph, "print the pipeline's DAG")
    sub.add_argument("--format", choices=["mermaid"], default="mermaid")

    sub = command("sample-data", cmd_sample_data, "write the synthetic sample dataset", config=False)
    sub.add_argument("--out", required=True, help="output directory")
    sub.add_argument("--format", choices=["yolo", "ground-truth", "coco"], default="yolo")
    cicd.register(command)
    images.add_arguments(command("images", images.cmd_images, "build (and push) the step images, or lock their "
                                 "Python packages"))
    return parser


@cli_errors
def main(argv: list[str] | None = None) -> int:
    aws.prepare_sdk_environment()
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
