"""What TrainYOLO leaves in /opt/ml/model, which SageMaker tars into model.tar.gz: best.pt, best.onnx, model.json.

model.json is what the registry, the evaluation and the endpoint read about the model without loading it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

__all__ = ["MODEL_CARD", "ONNX_OPSET", "write_model_dir"]

MODEL_CARD = "model.json"
ONNX_OPSET = 18


def write_model_dir(run_dir: Path, model_dir: Path, *, variant: str, class_names: list[str], imgsz: int,
                    epochs: int, metrics: Mapping[str, float], hyperparameters: Mapping[str, object],
                    initialisation: Mapping[str, object]) -> dict:
    """Copy the run's best.pt, export it to ONNX beside it, write model.json; return model.json's content.

    ``initialisation`` says where training started (``containers.training.weights.Start.describe``). The ONNX graph
    takes ``images`` [1, 3, imgsz, imgsz], float 0-1 RGB (letterboxed), and returns the raw head
    [1, 4 + classes, anchors] (boxes as centre x, y, width, height in input pixels; no NMS inside). Static shapes:
    the endpoint sends one image at a time, and slimming a dynamic graph takes several times longer.
    """
    from ultralytics import YOLO, __version__

    model_dir.mkdir(parents=True, exist_ok=True)
    best = model_dir / "best.pt"
    shutil.copyfile(run_dir / "weights" / "best.pt", best)
    onnx = YOLO(best).export(format="onnx", opset=ONNX_OPSET, imgsz=imgsz, dynamic=False, simplify=True,
                             device="cpu")
    card = {
        "task": "detect",
        "variant": variant,
        "names": class_names,
        "imgsz": imgsz,
        "metrics": {name: float(value) for name, value in metrics.items()},
        "epochs": epochs,
        "epochs_completed": _epochs_completed(run_dir / "results.csv"),
        "training_job_name": os.environ.get("TRAINING_JOB_NAME"),
        "git_sha": os.environ.get("GIT_SHA"),
        "weights": best.name,
        "onnx": {"file": Path(onnx).name, "opset": ONNX_OPSET, "dynamic": False, "nms": False},
        "hyperparameters": dict(hyperparameters),
        "initialisation": dict(initialisation),
        "ultralytics_version": __version__,
    }
    (model_dir / MODEL_CARD).write_text(json.dumps(card, indent=2) + "\n")
    return card


def _epochs_completed(results_csv: Path) -> int:
    """The last epoch in results.csv (a row can repeat after a resumed kill; early stopping ends it sooner)."""
    with results_csv.open(newline="") as handle:
        return max((int(float(row["epoch"])) for row in csv.DictReader(handle, skipinitialspace=True)), default=0)
