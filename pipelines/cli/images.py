"""``yolo-pipeline images build|lock``: the one way to build (and push) the step images, used by the tests and the
CodeBuild buildspec alike; stdout carries one image URI per line."""

from __future__ import annotations

import argparse
import sys

from pipelines.cli.common import EXIT_CHECK_FAILED, EXIT_OK, UsageError, load
from pipelines.images import IMAGE_NAMES, docker, repository


def add_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("action", choices=["build", "lock"],
                     help="build: build (and with --push push) the images; lock: regenerate requirements.lock")
    sub.add_argument("--image", dest="images", action="append", choices=IMAGE_NAMES,
                     help="one image (repeatable; default: all three)")
    sub.add_argument("--tag", help="image tag (default: the config's images.tag, else the image's content hash)")
    sub.add_argument("--registry", help="registry to tag (and push) for (default: the config's images.registry)")
    sub.add_argument("--base", help="BASE_IMAGE build argument instead of the Dockerfile's public default")
    sub.add_argument("--push", action="store_true", help="push to the registry after the build (ECR login)")


def cmd_images(args: argparse.Namespace) -> int:
    from pipelines.images import content_hash
    from pipelines.images.build import ContextTooLarge, build

    config = load(args.config, args.sets)
    registry = args.registry or config.images.registry
    if args.push and not registry:
        raise UsageError("--push needs a registry: pass --registry <account>.dkr.ecr.<region>.amazonaws.com "
                         "or set images.registry")
    try:
        for name in args.images or IMAGE_NAMES:
            if args.action == "lock":
                from pipelines.images.lock import lock

                print(lock(name, args.base))
                continue
            repo = repository(config, name)
            uri = build(name, tag=args.tag or config.images.tag or content_hash(name),
                        repository=f"{registry}/{repo}" if registry else repo, base=args.base)
            if args.push:
                from pipelines import aws
                from pipelines.aws import ecr

                ecr.push(aws.client("ecr"), uri)
            print(uri, flush=True)
    except ContextTooLarge as exc:
        raise UsageError(str(exc)) from None
    except docker.DockerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return EXIT_OK
