"""The CI/CD commands: ``publish-images`` (model build), ``seed-code render`` and the local ``deploy`` rehearsal."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pipelines import aws
from pipelines.cli.common import EXIT_CHECK_FAILED, EXIT_OK, UsageError, load, print_json

# The one build entry point of the step images (pipelines/images/build.py); {name} {tag} {registry} are filled in.
BUILD_COMMAND = "yolo-pipeline images build --image {name} --tag {tag} --registry {registry} --push"


def _builder(template: str, registry: str) -> Callable[[str, str], None]:
    """``build(name, tag)`` running ``template`` as a command (no shell: each word is formatted on its own)."""
    words = shlex.split(template)

    def build(name: str, tag: str) -> None:
        command = [word.format(name=name, tag=tag, registry=registry) for word in words]
        print(f"building and pushing {name}:{tag}: {shlex.join(command)}", file=sys.stderr)
        completed = subprocess.run(command, check=False)
        if completed.returncode != 0:
            raise UsageError(f"building image {name}:{tag} failed (exit {completed.returncode}): {shlex.join(command)}")

    return build


def cmd_publish_images(args: argparse.Namespace) -> int:
    from pipelines.aws.ecr import publish
    from pipelines.images import IMAGE_NAMES, image_uri, repository

    config = load(args.config, args.sets)
    if not config.images.registry:
        raise UsageError("publish-images needs the ECR registry: set images.registry (or IMAGE_REGISTRY), "
                         "e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com")
    images = {name: (repository(config, name), image_uri(config, name).rsplit(":", 1)[1])
              for name in (args.images or IMAGE_NAMES)}
    done = publish(aws.client("ecr"), images, _builder(args.build_command, config.images.registry),
                   kms_key=args.kms_key or config.kms_key_id)
    for image in done:
        print(f"{image.action:<8} {config.images.registry}/{image.repository}:{image.tag}", file=sys.stderr)
    print_json([image.__dict__ for image in done])
    return EXIT_OK


def cmd_seed_code(args: argparse.Namespace) -> int:
    from pipelines.seed_code import RenderError, render

    try:
        written = render(args.project_name, Path(args.out), project_id=args.project_id,
                         seed_bucket=args.seed_bucket, seed_prefix=args.seed_prefix)
    except RenderError as exc:
        raise UsageError(str(exc)) from None
    for kind, path in written.items():
        print(f"{kind:<17} {path}")
    return EXIT_OK


def _local_smoke_test(stage: str):
    """The seed code's own smoke test (test/smoke_test.py, the stage config's budget) against a local endpoint."""
    from pipelines.seed_code import load_script, repository_root

    deploy_code = repository_root() / "seed_code" / "modeldeploy"
    smoke = load_script(deploy_code / "test" / "smoke_test.py")
    build = load_script(deploy_code / "build.py")
    settings = smoke.stage_settings(json.loads((deploy_code / f"{stage}-config.json").read_text()))

    def run(invocations_url: str, model: Path) -> tuple[bool, str]:
        names = smoke.class_names(build.model_json_from_archive(model.read_bytes(), str(model)))
        result = smoke.run(smoke.http_invoke(invocations_url), names, requests=int(settings["requests"]),
                           p95_latency_ms=float(settings["p95_latency_ms"]),
                           min_detections=int(settings["min_detections"]))
        return result.passed, result.summary()

    return run


def _project(args: argparse.Namespace) -> tuple[str, str]:
    """The model package group and the project name: endpoints are ``<project>-<stage>`` as in the CloudFormation
    template. Without a configured SageMaker project, the base job prefix stands in (not the pipeline name:
    ``<pipeline>-staging`` is the pipeline's own DeployStaging endpoint)."""
    config = load(args.config, args.sets)
    return config.model_package_group_name, config.project.name or config.base_job_prefix


def cmd_deploy(args: argparse.Namespace) -> int:
    if not args.local:
        raise UsageError("on AWS an approval in the Model Registry starts the model deploy pipeline "
                         "(seed_code/modeldeploy); `deploy` rehearses it locally: add --local")
    from pipelines.local import LocalModeError
    from pipelines.local.stages import deploy

    group, project = _project(args)
    try:
        done = deploy(args.state_dir, group=group, project=project, stage=args.stage,
                      smoke_test=_local_smoke_test(args.stage), approve=args.approve)
    except LocalModeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(f"{done.endpoint}: version {done.version} of {done.group} at {done.url}", file=sys.stderr)
    print(f"smoke test passed: {done.smoke_test}", file=sys.stderr)
    print(done.url)
    return EXIT_OK


def after_local_rejection(args: argparse.Namespace, group: str, version: int) -> None:
    """``registry reject --local``: what the model package rule does on AWS (redeploy the previous approved)."""
    from pipelines.local.stages import after_rejection

    _, project = _project(args)
    for line in after_rejection(args.state_dir, group=group, version=version, project=project,
                                smoke_test=_local_smoke_test("staging")):
        print(line, file=sys.stderr)


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the CI/CD subcommands through ``build_parser``'s ``command`` helper."""
    sub = command("publish-images", cmd_publish_images,
                  "build and push each step image whose content-hash tag is not in ECR yet (model build)")
    sub.add_argument("--image", dest="images", action="append", choices=["processing", "training", "inference"],
                     help="only this image (repeatable; default: all)")
    sub.add_argument("--kms-key", help="KMS key for repositories created here (default: the config's kms_key_id, "
                                       "else the AWS managed ECR key)")
    sub.add_argument("--build-command", default=BUILD_COMMAND,
                     help="command that builds and pushes one image ({name} {tag} {registry}); default: %(default)s")

    sub = command("seed-code", cmd_seed_code, "render the SageMaker Projects seed code for one project and zip "
                  "each repository", config=False)
    sub.add_argument("action", choices=["render"])
    sub.add_argument("--project-name", required=True, help="the SageMaker project name")
    sub.add_argument("--project-id", default="p-local", help="default of the template's SageMakerProjectId")
    sub.add_argument("--out", required=True, help="output directory")
    sub.add_argument("--seed-bucket", default="seed-code-bucket",
                     help="bucket the zips are uploaded to (default of the template's SeedCodeBucket)")
    sub.add_argument("--seed-prefix", default="", help="key prefix of the zips in that bucket, e.g. yolo/v1/")

    sub = command("deploy", cmd_deploy, "deploy the newest approved version to a stage and smoke-test it (the model "
                  "deploy pipeline, rehearsed locally)")
    sub.add_argument("--stage", choices=["staging", "prod"], required=True)
    sub.add_argument("--approve", action="store_true", help="the manual approval prod waits for")
    sub.add_argument("--local", action="store_true", help="local mode (required: on AWS the deploy pipeline does this)")
    sub.add_argument("--state-dir", help="local state directory (default ./.yolo-pipeline or $YOLO_PIPELINE_HOME)")
