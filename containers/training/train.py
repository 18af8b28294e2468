"""TrainYOLO: train YOLO11 on PrepareData's train/val splits and write /opt/ml/model (see containers/README.md).

Everything that can be wrong with the job's input (hyperparameters, channels, device) is checked before ultralytics
is imported, so a bad job fails in seconds with its reason in /opt/ml/output/failure. Beyond that the entrypoint is
a thin layer over ``YOLO.train``: it must not make training slower (benchmarks/training_overhead.py).

SIGTERM (what SageMaker sends on StopTrainingJob and on a spot interruption, SIGKILL following after 120 s) stops
the job at once: the checkpoint of the last finished epoch stays in /opt/ml/checkpoints for the rerun to resume,
the MLflow run is marked KILLED and the process exits 143. The handler works with python as the container's PID 1
(a signal with a handler is delivered to PID 1; only default actions are not), so the image needs no init.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
from pathlib import Path

from containers.common import contract
from containers.common.contract import JobFailure
from containers.training import checkpoints
from containers.training.datasets import Split, dataset_view, read_split
from containers.training.devices import Placement, place
from containers.training.hyperparameters import Hyperparameters, parse
from containers.training.tracking import JOB_TAG, Tracker
from containers.training.weights import CHANNEL, Start, load_model, starting_point

__all__ = ["main"]

FINAL_METRICS = "final_metrics.json"  # in the run folder, written by the final validation's callback
PLOTS = "plots"  # under /opt/ml/output/data (SageMaker uploads it as output.tar.gz) and in the MLflow run
EXIT_STOPPED = 128 + signal.SIGTERM


class Stopped(BaseException):
    """SIGTERM arrived. A BaseException, so that no ``except Exception`` in ultralytics swallows it."""


def _stop(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    raise Stopped


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGTERM, _stop)
    try:
        _run(argv)
    except Stopped:  # not a failure: SageMaker reports the job as Stopped (no failure file)
        print(f"Stopped by SIGTERM; the last finished epoch's checkpoint is in {checkpoints.run_dir()}",
              file=sys.stderr, flush=True)
        sys.exit(EXIT_STOPPED)


def _run(argv: list[str]) -> None:
    if argv not in ([], ["train"]):
        raise JobFailure(f"unexpected arguments {argv}: SageMaker runs the training image as '<entrypoint> train'")
    raw = contract.hyperparameters()
    hyperparameters = parse(raw)
    _check_single_node()
    train = read_split("channel 'train'", contract.channel_dir("train"))
    val = read_split("channel 'val'", contract.channel_dir("val"))
    if val.names != train.names:
        raise JobFailure(f"channels 'train' and 'val' disagree on the class names: {train.names} vs {val.names}")
    with tempfile.TemporaryDirectory(prefix="yolo-data-") as workdir:
        start = starting_point(hyperparameters.model_variant, hyperparameters.model_variant_given,
                               hyperparameters.weights_uri, Path(workdir))
        from containers.common import safe_checkpoint
        from containers.common.ultralytics_env import configure_offline

        safe_checkpoint.enable()  # the weights channel and a restored last.pt come from outside this job
        configure_offline(contract.output_dir() / "ultralytics")
        placement = place(hyperparameters.device, hyperparameters.batch)
        _train(hyperparameters, checkpoints.job_identity(raw), train, val, start, placement, Path(workdir))


def _train(hyperparameters: Hyperparameters, identity: dict[str, object], train: Split, val: Split,
           start: Start, placement: Placement, workdir: Path) -> None:
    from containers.training.artifacts import write_model_dir
    from containers.training.callbacks import EpochReporter
    from containers.training.plots import TRAINING_PLOTS, collect, trim_training

    data = dataset_view({"train": train, "val": val}, train.names, workdir / "data")
    run_dir, last = checkpoints.run_dir(), checkpoints.last_checkpoint()
    resume = checkpoints.resumable(last, identity)
    if resume:
        print(f"Resuming the interrupted run in {run_dir}", flush=True)
        model = load_model(last)
    else:
        checkpoints.clear()
        checkpoints.claim(identity)
        model = load_model(start.checkpoint, f"channel '{CHANNEL}'") if start.checkpoint else _from_yaml(start.variant)
    print(start.sentence(), flush=True)
    settings = _settings(hyperparameters, placement, start)
    tracker = Tracker.open(settings, _tags(), contract.checkpoint_dir() / "mlflow_run_id", resume)
    succeeded = stopped = False
    try:
        EpochReporter(run_dir / FINAL_METRICS, tracker).attach(model)
        trim_training(model)
        if resume:  # ultralytics takes the other settings, the epoch count included, from the checkpoint
            model.train(resume=True, data=str(data), device=placement.device, workers=hyperparameters.workers,
                        save_dir=str(run_dir))
        else:
            model.train(data=str(data), save_dir=str(run_dir), **_train_arguments(hyperparameters, placement))
        final = run_dir / FINAL_METRICS
        if not final.is_file():
            raise JobFailure(f"training ended without validating best.pt (no {final}); see the log above")
        trainer = model.trainer
        assert trainer is not None, "YOLO.train sets model.trainer before it returns"
        args = trainer.args  # a resumed run's come from its checkpoint
        card = write_model_dir(run_dir, contract.model_dir(), variant=start.variant, class_names=train.names,
                               imgsz=args.imgsz, epochs=args.epochs, metrics=json.loads(final.read_text()),
                               hyperparameters=settings, initialisation=start.describe())
        print(f"Model written to {contract.model_dir()}: {json.dumps(card['metrics'])}", flush=True)
        succeeded = True
    except Stopped:
        stopped = True
        raise
    finally:
        plots = collect(run_dir, TRAINING_PLOTS, contract.output_data_dir() / PLOTS)
        if tracker:
            model_files = sorted(contract.model_dir().glob("*")) if succeeded else []
            status = "FINISHED" if succeeded else "KILLED" if stopped else "FAILED"
            tracker.finish([*model_files, *sorted(run_dir.glob("*.csv"))], status, plots=plots)


def _train_arguments(hyperparameters: Hyperparameters, placement: Placement) -> dict[str, object]:
    """``YOLO.train`` arguments of a fresh run (everything else: ultralytics' defaults)."""
    return {
        "epochs": hyperparameters.epochs,
        "imgsz": hyperparameters.imgsz,
        "batch": hyperparameters.batch,
        "nbs": hyperparameters.nominal_batch,
        "patience": hyperparameters.patience,
        "optimizer": hyperparameters.optimizer,
        "lr0": hyperparameters.lr0,
        "warmup_epochs": hyperparameters.warmup_epochs,
        "workers": hyperparameters.workers,
        "seed": hyperparameters.seed,
        "device": placement.device,
        "amp": placement.amp,
        "plots": hyperparameters.plots,  # offline: ultralytics_env gives ultralytics its font
    }


def _from_yaml(variant: str):
    """YOLO11 from its YAML: random weights, nothing downloaded."""
    from ultralytics import YOLO

    return YOLO(f"{variant}.yaml")


def _settings(hyperparameters: Hyperparameters, placement: Placement, start: Start) -> dict[str, object]:
    """The resolved settings of this job, as MLflow params and in model.json."""
    arguments = _train_arguments(hyperparameters, placement)
    return {"model_variant": start.variant, **arguments, "initialisation": start.kind, "weights": start.source,
            "weights_sha256": start.sha256}


def _tags() -> dict[str, str]:
    tags = {"mlflow.runName": os.environ.get("TRAINING_JOB_NAME") or "TrainYOLO"}
    if os.environ.get("TRAINING_JOB_NAME"):
        tags[JOB_TAG] = os.environ["TRAINING_JOB_NAME"]
    if os.environ.get("GIT_SHA"):
        tags["mlflow.source.git.commit"] = os.environ["GIT_SHA"]
    return tags


def _check_single_node() -> None:
    """Ultralytics trains on one node (its DDP is single-node): refuse a cluster rather than train N copies."""
    config = contract.input_config_dir() / "resourceconfig.json"
    hosts = json.loads(config.read_text()).get("hosts", []) if config.is_file() else []
    if len(hosts) > 1:
        raise JobFailure(f"TrainYOLO runs on one instance, this job has {len(hosts)} ({', '.join(hosts)}): "
                         "set the training instance count to 1 (use a multi-GPU instance type for more GPUs)")


if __name__ == "__main__":
    sys.exit(contract.run_job(main))
