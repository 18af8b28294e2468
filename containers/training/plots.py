"""The Ultralytics plots people look at, picked from a run or validation folder into a job's output.

Ultralytics writes them when ``plots=True`` (offline: ``ultralytics_env`` gives it its font). A training run keeps
the training curves, the confusion matrix, the PR and F1 curves and a few labelled val batches with their
predictions; an evaluation keeps the test split's confusion matrix and PR curve.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["EVALUATION_PLOTS", "TRAINING_PLOTS", "collect", "trim_evaluation", "trim_training"]

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


def trim_training(model) -> None:
    """Skip what ``plots=True`` draws that nobody looks at, to keep plotting cheap (benchmarks/plots_cost.py): the
    label histograms and train-batch mosaics, and the last epoch's validation plots (the final validation of best.pt
    draws them again, over them). Register on a ``YOLO`` model before ``train()``."""
    model.add_callback("on_pretrain_routine_start", _no_training_samples)
    model.add_callback("on_train_start", _no_epoch_validation_plots)


def trim_evaluation(model) -> None:
    """Skip the labelled test-batch images in an evaluation (only its confusion matrix and PR curve are kept)."""
    model.add_callback("on_val_start", _no_batch_images)


def _no_training_samples(trainer) -> None:
    trainer.plot_training_labels = _nothing
    trainer.plot_training_samples = _nothing


def _no_epoch_validation_plots(trainer) -> None:
    trainer.validator.args.plots = False  # final_eval sets it back for the validation of best.pt


def _no_batch_images(validator) -> None:
    validator.plot_val_samples = _nothing
    validator.plot_predictions = _nothing


def _nothing(*args, **kwargs) -> None:
    return None
