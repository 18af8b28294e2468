"""Ultralytics callbacks of a TrainYOLO job: the per-epoch metrics line, MLflow metrics, the final metrics.

Ultralytics fires ``on_fit_epoch_end`` after each epoch's validation and once more after the final validation of
best.pt (which it reports as epoch N+1). Only the former are epochs: an epoch is one that ``on_train_epoch_end``
opened. The final validation's metrics go to a JSON file in the run folder, which also works when the training ran
in ultralytics' DDP worker processes (this object is pickled into them).
"""

from __future__ import annotations

import json
from pathlib import Path

from containers.training.metrics import headline, metrics_line, tracking_name
from containers.training.tracking import Tracker

__all__ = ["EpochReporter"]


class EpochReporter:
    def __init__(self, final_metrics: Path, tracker: Tracker | None):
        self.final_metrics = final_metrics
        self.tracker = tracker
        self._epoch_open = False

    def attach(self, model) -> None:
        """Register on an ultralytics ``YOLO`` model before ``train()``."""
        model.add_callback("on_train_epoch_end", self.on_train_epoch_end)
        model.add_callback("on_fit_epoch_end", self.on_fit_epoch_end)

    def on_train_epoch_end(self, trainer) -> None:
        self._epoch_open = True

    def on_fit_epoch_end(self, trainer) -> None:
        from ultralytics.utils import RANK

        if RANK not in {-1, 0}:
            return
        values = headline(trainer.metrics)
        if not self._epoch_open:  # the final validation of best.pt
            self.final_metrics.write_text(json.dumps(values))
            if self.tracker:
                self.tracker.log_metrics({f"final_{name}": value for name, value in values.items()}, trainer.epoch)
            return
        self._epoch_open = False
        epoch = trainer.epoch + 1
        if self.tracker:  # before the line: once an epoch's line is out, the epoch is fully recorded
            losses = trainer.label_loss_items(trainer.tloss, prefix="train")
            every = {**losses, **trainer.metrics, **trainer.lr}
            self.tracker.log_metrics({tracking_name(key): value for key, value in every.items()}, epoch)
        print(metrics_line(epoch, values), flush=True)
