"""Metric names: ultralytics' keys mapped to the names that the log lines, model.json and MLflow use.

The per-epoch log line is scraped by the pipeline's metric definitions (regexes over the job's log), so its shape is
part of the contract: ``[metrics] epoch=3 precision=0.51000 recall=0.40000 mAP50=0.71000 mAP50-95=0.40000``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["HEADLINE", "headline", "metrics_line", "tracking_name"]

# Our name -> ultralytics' key (the "(B)" is for boxes).
HEADLINE = {
    "precision": "metrics/precision(B)",
    "recall": "metrics/recall(B)",
    "mAP50": "metrics/mAP50(B)",
    "mAP50-95": "metrics/mAP50-95(B)",
}
_BY_KEY = {key: name for name, key in HEADLINE.items()}


def headline(results: Mapping[str, float]) -> dict[str, float]:
    """The four headline metrics from ultralytics' results dict, as plain floats."""
    return {name: float(results[key]) for name, key in HEADLINE.items()}


def metrics_line(epoch: int, values: Mapping[str, float]) -> str:
    """The one log line per epoch (fixed-point numbers: metric regexes need no exponent handling)."""
    return f"[metrics] epoch={epoch} " + " ".join(f"{name}={values[name]:.5f}" for name in HEADLINE)


def tracking_name(key: str) -> str:
    """A name MLflow takes: 'metrics/mAP50-95(B)' -> 'mAP50-95', 'train/box_loss' -> 'train_box_loss'."""
    return _BY_KEY.get(key) or re.sub(r"[^A-Za-z0-9_.-]+", "_", key.replace("(B)", "")).strip("_")
