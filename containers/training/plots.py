"""The Ultralytics plots people look at, picked from a run or validation folder into a job's output.

Ultralytics writes them when ``plots=True`` (offline: ``ultralytics_env`` gives it its font). A training run keeps
the training curves, the confusion matrix, the PR and F1 curves and a few labelled val batches with their
predictions; an evaluation keeps the test split's confusion matrix and PR curve.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["EVALUATION_PLOTS", "TRAINING_PLOTS", "collect"]

EVALUATION_PLOTS = ("confusion_matrix.png", "BoxPR_curve.png")
TRAINING_PLOTS = ("results.png", *EVALUATION_PLOTS, "confusion_matrix_normalized.png", "BoxF1_curve.png",
                  "val_batch0_labels.jpg", "val_batch0_pred.jpg", "val_batch1_labels.jpg", "val_batch1_pred.jpg")


def collect(source: Path, names: tuple[str, ...], target: Path, prefix: str = "") -> list[Path]:
    """Copy the named plots found in ``source`` to ``target/<prefix><name>``; return the copies (missing ones skipped:
    a val split with one batch has no val_batch1, a run that never validated has no curves)."""
    copies = []
    for name in names:
        if (source / name).is_file():
            target.mkdir(parents=True, exist_ok=True)
            copies.append(Path(shutil.copyfile(source / name, target / f"{prefix}{name}")))
    return copies
