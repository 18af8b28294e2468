"""Metrics scraped from a job's log: the training image's epoch lines and the step's MetricDefinitions.

The training image prints one line per epoch, ``[metrics] epoch=3 precision=0.51 recall=0.40 mAP50=0.71
mAP50-95=0.40`` (containers/README.md); progress shows them live. ``MetricDefinitions`` are SageMaker's regexes over
the log; their last values become the training step's ``FinalMetricDataList``, as on SageMaker.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MetricScraper", "parse_epoch_line"]

_EPOCH_LINE = re.compile(r"^\[metrics\]\s+(.*)$")


def parse_epoch_line(line: str) -> dict[str, float] | None:
    """``{"epoch": 3.0, "precision": 0.51, ...}`` for an epoch line; None for any other line."""
    match = _EPOCH_LINE.match(line.strip())
    if not match:
        return None
    values: dict[str, float] = {}
    for pair in match.group(1).split():
        key, _, raw = pair.partition("=")
        try:
            values[key] = float(raw)
        except ValueError:
            continue
    return values if "epoch" in values else None


class MetricScraper:
    """Apply MetricDefinitions (``[{"Name", "Regex"}]``) to log lines; keeps the last value of each metric."""

    def __init__(self, definitions: Iterable[Mapping[str, Any]]):
        self._patterns = [(d["Name"], re.compile(d["Regex"])) for d in definitions]
        self._last: dict[str, tuple[float, float]] = {}

    def feed(self, line: str) -> None:
        for name, pattern in self._patterns:
            match = pattern.search(line)
            if match:
                try:
                    self._last[name] = (float(match.group(1)), time.time())
                except (IndexError, ValueError):
                    continue

    def final(self) -> list[dict[str, Any]]:
        """``FinalMetricDataList``: ``[{"MetricName", "Value", "Timestamp"}]`` in definition order."""
        return [{"MetricName": name, "Value": self._last[name][0], "Timestamp": self._last[name][1]}
                for name, _ in self._patterns if name in self._last]
