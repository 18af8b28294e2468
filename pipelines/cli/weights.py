"""``yolo-pipeline weights stage``: check a .pt and put it where TrainYOLO's weights channel can read it.

The location is ``pipelines.weights``' (content-addressed under the artifact bucket's prefix); with ``--local`` it
is the same ``s3://`` URI in the local object store, so the printed URI is the parameter value in both modes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines import aws
from pipelines.cli.common import EXIT_OK, UsageError, load
from pipelines.weights import MANIFEST, StagedWeights, WeightsError, inspect

PARAMETER = "PretrainedWeightsUri"


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
          f"--param {PARAMETER}={uri}", file=sys.stderr)
    print(uri)
    return EXIT_OK


def _stage_locally(weights: StagedWeights, source: Path, s3_root: str, state_dir: str | None) -> str:
    from pipelines.local import LocalStore, StateDir

    store = LocalStore(StateDir.at(state_dir).store)
    uri = weights.uri(s3_root)
    store.put(source, uri)
    store.path(f"{weights.folder(s3_root)}/{MANIFEST}").write_text(json.dumps(weights.manifest(), indent=2) + "\n")
    return uri


def add_parser(command) -> None:
    """``weights stage --variant V --from FILE [--local]`` (``command`` is main's subcommand factory)."""
    sub = command("weights", cmd_weights, "stage pretrained weights (.pt) for TrainYOLO's weights channel")
    sub.add_argument("action", choices=["stage"])
    sub.add_argument("--variant", required=True, help="the model variant the file must be, e.g. yolo11n")
    sub.add_argument("--from", dest="source", required=True, metavar="FILE", help="an Ultralytics .pt checkpoint")
    sub.add_argument("--local", action="store_true", help="into the local object store instead of S3")
    sub.add_argument("--state-dir", help="local state directory (default ./.yolo-pipeline or $YOLO_PIPELINE_HOME)")
