"""The response contract of ``POST /invocations``: one JSON object per detected box."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Detections:
    """What a backend found in one image: ``boxes`` (K, 4) xyxy in source pixels, best first."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    width: int
    height: int

    def to_json(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """``[{"class_id", "class_name", "confidence", "box": {x1..y2} pixels, "box_normalized": {x1..y2} 0-1}]``."""
        predictions = []
        rows = zip(self.boxes.tolist(), self.scores.tolist(), self.class_ids.tolist(), strict=True)
        for (x1, y1, x2, y2), score, class_id in rows:
            predictions.append({
                "class_id": int(class_id),
                "class_name": names[class_id],
                "confidence": round(float(score), 5),
                "box": {"x1": round(x1, 2), "y1": round(y1, 2), "x2": round(x2, 2), "y2": round(y2, 2)},
                "box_normalized": {
                    "x1": round(x1 / self.width, 6),
                    "y1": round(y1 / self.height, 6),
                    "x2": round(x2 / self.width, 6),
                    "y2": round(y2 / self.height, 6),
                },
            })
        return predictions
