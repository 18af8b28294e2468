"""EvaluateYOLO: score TrainYOLO's model on the held-out test split and write evaluation.json.

The pipeline reads evaluation.json as a PropertyFile with static JsonGet paths (CheckQuality's condition, the model
package's metrics), so its shape is fixed: evaluation.schema.json beside this file. With a baseline (the approved
model's evaluation.json) it also records the baseline's values and the deltas, so that a regression is visible.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

from containers.common import contract
from containers.common.archives import UnsafeArchive, extract_tar
from containers.common.contract import JobFailure
from containers.training.datasets import Split, dataset_view, read_split

__all__ = ["HEADLINE", "main"]

# evaluation.json's metric names (JsonGet paths avoid '-') and DetMetrics' attribute for each.
HEADLINE = {"mAP50_95": "map", "mAP50": "map50", "precision": "mp", "recall": "mr"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # a usage error is a job failure with its reason, not a bare exit code 2
        raise JobFailure(f"{message} (usage: {self.format_usage().strip().removeprefix('usage: ')})")


def main(argv: list[str]) -> None:
    parser = _Parser(prog="python3 -m containers.training.evaluate")
    parser.add_argument("--conf", type=float, default=0.001, help="confidence threshold (mAP needs a low one)")
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold")
    args = parser.parse_args(argv)
    for name in ("conf", "iou"):
        if not 0.0 < getattr(args, name) <= 1.0:
            parser.error(f"argument --{name}: {getattr(args, name)} is not in (0, 1]")
    archive = contract.processing_dir("model", "model.tar.gz")
    if not archive.is_file():
        raise JobFailure(f"no model archive at {archive}: expected TrainYOLO's model.tar.gz (best.pt, model.json)")
    test = read_split("the test split", contract.processing_dir("test"))
    baseline = _baseline(contract.processing_dir("baseline", "evaluation.json"))

    from containers.common import safe_checkpoint
    from containers.common.ultralytics_env import configure_offline

    safe_checkpoint.enable()  # best.pt comes from a model.tar.gz, outside this job
    configure_offline(contract.output_dir() / "ultralytics")
    with tempfile.TemporaryDirectory(prefix="yolo-eval-") as workdir:
        evaluation = _evaluate(archive, test, Path(workdir), args.conf, args.iou)
    evaluation["baseline"] = _compare(evaluation, baseline) if baseline else None
    out = contract.processing_dir("evaluation", "evaluation.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(evaluation, indent=2) + "\n")
    headline = {name: evaluation["object_detection_metrics"][name]["value"] for name in HEADLINE}
    print(f"Evaluation written to {out}: {json.dumps(headline)}")


def _evaluate(archive: Path, test: Split, workdir: Path, conf: float, iou: float) -> dict:
    from containers.common.safe_checkpoint import load_yolo

    model_dir = _extract(archive, workdir / "model")
    model = load_yolo(model_dir / "best.pt")  # a CheckpointError is the job's failure reason
    names = [model.names[i] for i in sorted(model.names)]
    if names != test.names:
        raise JobFailure(f"the model's classes {names} differ from the test split's {test.names}: evaluate on "
                         "data prepared with the same classes")
    data = dataset_view({"val": test}, names, workdir / "data")
    seen: list[int] = []
    model.add_callback("on_val_end", lambda validator: seen.append(int(validator.seen)))
    metrics = model.val(data=str(data), split="val", imgsz=model.overrides.get("imgsz", 640), conf=conf, iou=iou,
                        plots=False, verbose=False, project=str(workdir), name="val")
    box = metrics.box
    per_class = {
        names[c]: {"mAP50": float(box.ap50[i]), "mAP50_95": float(box.ap[i]), "precision": float(box.p[i]),
                   "recall": float(box.r[i]), "instances": int(metrics.nt_per_class[c])}
        for i, c in enumerate(box.ap_class_index)
    }
    card_path = model_dir / "model.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    return {
        "object_detection_metrics": {
            **{name: {"value": float(getattr(box, attribute))} for name, attribute in HEADLINE.items()},
            "per_class": per_class,
        },
        "baseline": None,
        "dataset": {"images": seen[-1], "instances": int(metrics.nt_per_class.sum()), "classes": names},
        "model": {key: card.get(key) for key in ("variant", "training_job_name", "git_sha")},
        "settings": {"imgsz": int(model.overrides.get("imgsz", 640)), "conf": conf, "iou": iou},
    }


def _extract(archive: Path, target: Path) -> Path:
    """Unpack model.tar.gz (best.pt etc. at its root, as SageMaker makes it); links and paths leaving ``target`` are
    refused (``extract_tar`` checks them itself: ``extractall(filter=...)`` needs Python >= 3.11.4).

    Raises:
        JobFailure: the archive is unreadable or unsafe, or has no best.pt at its root.
    """
    try:
        extract_tar(archive, target)
    except (UnsafeArchive, tarfile.TarError, OSError) as exc:
        raise JobFailure(f"cannot unpack {archive}: {exc}") from exc
    if not (target / "best.pt").is_file():
        found = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        raise JobFailure(f"{archive} has no best.pt at its root (found: {', '.join(found) or 'nothing'})")
    return target


def _baseline(path: Path) -> dict[str, float] | None:
    """The headline values of a previous evaluation.json, or None when there is none.

    Raises:
        JobFailure: the file is there but is not an evaluation.json.
    """
    if not path.is_file():
        return None
    try:
        metrics = json.loads(path.read_text())["object_detection_metrics"]
        return {name: float(metrics[name]["value"]) for name in HEADLINE}
    except (ValueError, KeyError, TypeError) as exc:
        raise JobFailure(f"baseline {path} is not an evaluation.json (needs object_detection_metrics.<metric>.value "
                         f"for {', '.join(HEADLINE)}): {type(exc).__name__}: {exc}") from None


def _compare(evaluation: dict, baseline: dict[str, float]) -> dict:
    """Per headline metric: the baseline's value and this model's delta (positive: better than the baseline)."""
    current = evaluation["object_detection_metrics"]
    return {name: {"value": value, "delta": current[name]["value"] - value} for name, value in baseline.items()}


if __name__ == "__main__":
    sys.exit(contract.run_job(main))
