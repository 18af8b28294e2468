"""EvaluateYOLO: score TrainYOLO's model on the held-out test split and write evaluation.json, with plots beside it.

The pipeline reads evaluation.json as a PropertyFile with static JsonGet paths (CheckQuality's conditions, the model
package's metrics), so its shape is fixed: evaluation.schema.json beside this file. With a baseline (the approved
model version's model.tar.gz) the same job scores it on the same test split with the same settings, and records its
values and the deltas, so that the quality gate can refuse a regression (champion/challenger).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from containers.common import contract
from containers.common.contract import JobFailure
from containers.training.datasets import Split, dataset_view, read_split
from containers.training.plots import EVALUATION_PLOTS, collect, trim_evaluation
from containers.training.tracking import Tracker
from containers.training.weights import extract_model_archive, holds_only_the_placeholder, load_model

__all__ = ["HEADLINE", "main"]

MODEL_ARCHIVE = "model.tar.gz"
REPORT = "evaluation.json"
PLOTS = "plots"  # beside evaluation.json: plots/confusion_matrix.png, plots/baseline_confusion_matrix.png, ...
EVALUATION_ARTIFACTS = "evaluation"  # the training run's MLflow artifact folder for evaluation.json and the plots

# evaluation.json's metric names (JsonGet paths avoid '-') and DetMetrics' attribute for each.
HEADLINE = {"mAP50_95": "map", "mAP50": "map50", "precision": "mp", "recall": "mr"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # a usage error is a job failure with its reason, not a bare exit code 2
        raise JobFailure(f"{message} (usage: {self.format_usage().strip().removeprefix('usage: ')})")


def main(argv: list[str]) -> None:
    parser = _Parser(prog="python3 -m containers.training.evaluate")
    parser.add_argument("--conf", type=float, default=0.001, help="confidence threshold (mAP needs a low one)")
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold")
    parser.add_argument("--regression-tolerance", type=float, default=0.0,
                        help="how far below the baseline's mAP50-95 the candidate may be (for minimum_mAP50_95)")
    parser.add_argument("--plots", action=argparse.BooleanOptionalAction, default=True,
                        help="write the confusion matrix and PR curve beside evaluation.json (default: on)")
    args = parser.parse_args(argv)
    for name in ("conf", "iou"):
        if not 0.0 < getattr(args, name) <= 1.0:
            parser.error(f"argument --{name}: {getattr(args, name)} is not in (0, 1]")
    if not 0.0 <= args.regression_tolerance <= 1.0:
        parser.error(f"argument --regression-tolerance: {args.regression_tolerance} is not in [0, 1]")
    archive = contract.processing_dir("model", MODEL_ARCHIVE)
    if not archive.is_file():
        raise JobFailure(f"no model archive at {archive}: expected TrainYOLO's model.tar.gz (best.pt, model.json)")
    test = read_split("the test split", contract.processing_dir("test"))
    baseline_archive = _baseline_archive(contract.processing_dir("baseline"))
    out = contract.processing_dir("evaluation")

    from containers.common import safe_checkpoint
    from containers.common.ultralytics_env import configure_offline

    safe_checkpoint.enable()  # best.pt comes from a model.tar.gz, outside this job
    configure_offline(contract.output_dir() / "ultralytics")
    with tempfile.TemporaryDirectory(prefix="yolo-eval-") as workdir:
        candidate = _score(archive, "model", test, Path(workdir), args)
        plots = collect(candidate.plots_dir, EVALUATION_PLOTS, out / PLOTS)
        baseline = None
        if baseline_archive:
            baseline = _score(baseline_archive, "baseline", test, Path(workdir), args)
            plots += collect(baseline.plots_dir, EVALUATION_PLOTS, out / PLOTS, prefix="baseline_")
    comparison = _compare(candidate, baseline, args.regression_tolerance)
    evaluation = {
        "object_detection_metrics": candidate.metrics,
        "baseline": comparison,
        "dataset": candidate.dataset,
        "model": candidate.model,
        "settings": {"imgsz": candidate.imgsz, "conf": args.conf, "iou": args.iou},
        "plots": [path.relative_to(out).as_posix() for path in plots],
    }
    report = out / REPORT
    out.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(evaluation, indent=2) + "\n")
    headline = {name: candidate.metrics[name]["value"] for name in HEADLINE}
    print(f"Evaluation written to {report}: {json.dumps(headline)}")
    if baseline:
        deltas = {name: comparison[name]["delta"] for name in HEADLINE}
        print(f"Against the baseline {baseline_archive}: deltas {json.dumps(deltas)}")
    _track(candidate.model.get("training_job_name"), [report, *plots])


@dataclass(frozen=True)
class _Scored:
    """One model's results on the test split."""

    metrics: dict  # evaluation.json's object_detection_metrics
    dataset: dict
    model: dict  # provenance from model.json
    imgsz: int
    plots_dir: Path


def _score(archive: Path, role: str, test: Split, workdir: Path, args: argparse.Namespace) -> _Scored:
    """Validate the archive's best.pt on the test split; ``role`` names it in messages and folders."""
    model_dir = extract_model_archive(archive, workdir / role, f"input '{role}'")
    model = load_model(model_dir / "best.pt", f"input '{role}'")
    names = [model.names[i] for i in sorted(model.names)]
    if names != test.names:
        hint = " (the approved baseline predates a change of classes: start without a baseline)" \
            if role == "baseline" else ""
        raise JobFailure(f"the {role}'s classes {names} differ from the test split's {test.names}: evaluate on "
                         f"data prepared with the same classes{hint}")
    data = dataset_view({"val": test}, names, workdir / f"{role}-data")
    seen: list[int] = []
    model.add_callback("on_val_end", lambda validator: seen.append(int(validator.seen)))
    trim_evaluation(model)
    imgsz = int(model.overrides.get("imgsz", 640))
    metrics = model.val(data=str(data), split="val", imgsz=imgsz, conf=args.conf, iou=args.iou, plots=args.plots,
                        verbose=False, project=str(workdir), name=f"{role}-val", exist_ok=True)
    box = metrics.box
    per_class = {
        names[c]: {"mAP50": float(box.ap50[i]), "mAP50_95": float(box.ap[i]), "precision": float(box.p[i]),
                   "recall": float(box.r[i]), "instances": int(metrics.nt_per_class[c])}
        for i, c in enumerate(box.ap_class_index)
    }
    card_path = model_dir / "model.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    return _Scored(
        metrics={**{name: {"value": float(getattr(box, attribute))} for name, attribute in HEADLINE.items()},
                 "per_class": per_class},
        dataset={"images": seen[-1], "instances": int(metrics.nt_per_class.sum()), "classes": names},
        model={key: card.get(key) for key in ("variant", "training_job_name", "git_sha", "initialisation")},
        imgsz=imgsz,
        plots_dir=Path(metrics.save_dir),
    )


def _baseline_archive(folder: Path) -> Path | None:
    """The optional baseline input: the approved version's model.tar.gz, or None when the folder is absent, empty or
    the "no model" placeholder.

    Raises:
        JobFailure: the folder holds files but no model.tar.gz.
    """
    if not folder.is_dir() or holds_only_the_placeholder(folder):
        return None
    archive = folder / MODEL_ARCHIVE
    if archive.is_file():
        return archive
    found = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    if found:
        raise JobFailure(f"the baseline input {folder} holds {', '.join(found)} but no {MODEL_ARCHIVE}: give it the "
                         "approved model version's model data (ModelDataUrl)")
    return None


def _compare(candidate: _Scored, baseline: _Scored | None, tolerance: float) -> dict:
    """evaluation.json's ``baseline``: always there, so that the gate's JsonGet paths are static.

    With a baseline: per headline metric, its value and delta = candidate - baseline (positive: better), plus its
    per-class values and provenance. Without one: ``present`` is false, every value is 0.0 and every delta null.
    ``minimum_mAP50_95`` is what the gate compares the candidate's mAP50-95 with: baseline - tolerance (at least 0),
    computed here because pipeline conditions cannot subtract; 0.0 without a baseline, so the rule always holds.
    """
    floor = {"regression_tolerance": tolerance,
             "minimum_mAP50_95": max(0.0, baseline.metrics["mAP50_95"]["value"] - tolerance) if baseline else 0.0}
    if baseline is None:
        return {"present": False, **floor, **{name: {"value": 0.0, "delta": None} for name in HEADLINE}}
    comparison: dict[str, object] = {"present": True, **floor}
    for name in HEADLINE:
        value = baseline.metrics[name]["value"]
        comparison[name] = {"value": value, "delta": candidate.metrics[name]["value"] - value}
    return {**comparison, "per_class": baseline.metrics["per_class"], "model": baseline.model,
            "imgsz": baseline.imgsz}


def _track(training_job_name: str | None, files: list[Path]) -> None:
    """Add evaluation.json and the plots to the training job's MLflow run (when tracking is on and the run is found)."""
    tracker = Tracker.find(training_job_name) if training_job_name else None
    if tracker:
        tracker.log_files(files, EVALUATION_ARTIFACTS)


if __name__ == "__main__":
    sys.exit(contract.run_job(main))
