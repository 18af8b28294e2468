"""The model inputs from the command line: ``weights stage``, and settling them when an execution starts.

``weights stage`` checks a .pt and puts it where TrainYOLO's weights channel can read it: ``pipelines.weights``'
content-addressed location under the artifact bucket's prefix, or with ``--local`` the same ``s3://`` URI in the
local object store, so the printed URI is the parameter value in both modes. ``settle_on_aws`` (``start``,
``run-pipeline``) and ``settle_locally`` (``run --local``) fill in the baseline (and a warm start) from the registry of
their mode and put the no-model placeholder where an execution still needs it (``pipelines.model_inputs``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipelines import aws
from pipelines.cli.common import EXIT_OK, UsageError, load
from pipelines.model_inputs import WEIGHTS, WarmStartError, ensure_placeholders, resolve
from pipelines.weights import MANIFEST, StagedWeights, WeightsError, inspect


def cmd_weights(args: argparse.Namespace) -> int:
    config = load(args.config, args.sets)
    source = Path(args.source)
    try:
        weights = inspect(source, args.variant)
    except WeightsError as exc:
        raise UsageError(str(exc)) from None
    if args.local:
        uri = _stage_locally(weights, source, config.s3_root, args.state_dir or config.local.state_dir)
    else:
        from pipelines.aws.weights import upload

        uri = upload(aws.client("s3"), weights, source, config.s3_root, config.kms_key_id)
    print(f"staged {source} ({weights.variant}, sha256 {weights.sha256[:16]}...) at {uri}; train from it with "
          f"--param {WEIGHTS}={uri}", file=sys.stderr)
    print(uri)
    return EXIT_OK


def settle_on_aws(definition: str, parameters: dict[str, Any], *, warm_start: bool,
                  kms_key_id: str | None = None) -> dict[str, Any]:
    """``parameters`` with the baseline (and a warm start) from the SageMaker Model Registry; the no-model
    placeholder written to S3 where the execution reads it.

    Raises:
        UsageError: a warm start without an approved version, or with weights given too.
    """
    from pipelines.aws.model_registry import SageMakerRegistry
    from pipelines.aws.weights import put_text

    s3 = aws.client("s3")
    try:
        resolved, used = resolve(parameters, definition=definition, warm_start=warm_start,
                                 registry=SageMakerRegistry(aws.client("sagemaker"), s3))
    except WarmStartError as exc:
        raise UsageError(str(exc)) from None

    def put(uri: str, text: str) -> None:
        try:
            put_text(s3, uri, text, kms_key_id)
        except s3.exceptions.ClientError as exc:  # the jobs will fail to read it: say so now, the start goes on
            print(f"WARNING: cannot write the no-model placeholder {uri}: {exc}", file=sys.stderr)

    ensure_placeholders(definition, resolved, put)
    _report(used)
    return resolved


def settle_locally(definition: str, parameters: dict[str, Any], *, state_dir: str | None,
                   warm_start: bool) -> dict[str, Any]:
    """As ``settle_on_aws``, with the local registry and the local object store.

    Raises:
        UsageError: a warm start without an approved version, or with weights given too.
    """
    from pipelines.local import LocalStore, StateDir
    from pipelines.local.registry import LocalModelRegistry

    try:
        resolved, used = resolve(parameters, definition=definition, warm_start=warm_start,
                                 registry=LocalModelRegistry(state_dir))
    except WarmStartError as exc:
        raise UsageError(str(exc)) from None
    store = LocalStore(StateDir.at(state_dir).store)

    def put(uri: str, text: str) -> None:  # written once: a rewrite would change the cache's input fingerprint
        path = store.path(uri)
        if not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    ensure_placeholders(definition, resolved, put)
    _report(used)
    return resolved


def _report(used: str | None) -> None:
    print(f"baseline: {used}" if used else "baseline: none (no approved version): the gate checks MapThreshold only",
          file=sys.stderr)


def _stage_locally(weights: StagedWeights, source: Path, s3_root: str, state_dir: str | None) -> str:
    from pipelines.local import LocalStore, StateDir

    store = LocalStore(StateDir.at(state_dir).store)
    uri = weights.uri(s3_root)
    store.put(source, uri)
    store.path(f"{weights.folder(s3_root)}/{MANIFEST}").write_text(json.dumps(weights.manifest(), indent=2) + "\n")
    return uri


def warm_start_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warm-start", action="store_true",
                        help="train from the newest approved version's model (its model.tar.gz as the weights)")


def add_parser(command) -> None:
    """``weights stage --variant V --from FILE [--local]`` (``command`` is main's subcommand factory)."""
    sub = command("weights", cmd_weights, "stage pretrained weights (.pt) for TrainYOLO's weights channel")
    sub.add_argument("action", choices=["stage"])
    sub.add_argument("--variant", required=True, help="the model variant the file must be, e.g. yolo11n")
    sub.add_argument("--from", dest="source", required=True, metavar="FILE", help="an Ultralytics .pt checkpoint")
    sub.add_argument("--local", action="store_true", help="into the local object store instead of S3")
    sub.add_argument("--state-dir", help="local state directory (default ./.yolo-pipeline or $YOLO_PIPELINE_HOME)")
