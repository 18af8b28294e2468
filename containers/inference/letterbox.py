"""Letterboxing: the aspect-preserving resize and grey padding YOLO models are trained with, and its inverse.

Mirrors Ultralytics' ``LetterBox(auto=False, center=True)`` and ``scale_boxes`` so that an exported model sees the
same input geometry as in training and its boxes map back to the caller's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """Where a ``width`` x ``height`` image lands inside a ``target_width`` x ``target_height`` model input."""

    width: int
    height: int
    target_width: int
    target_height: int
    new_width: int
    new_height: int
    left: int
    top: int

    @classmethod
    def fit(cls, width: int, height: int, target_width: int, target_height: int) -> Letterbox:
        """Scale to fit inside the target (up or down), then centre with padding, rounding like Ultralytics."""
        if min(width, height, target_width, target_height) < 1:
            raise ValueError(f"letterbox needs positive sizes, got {width}x{height} -> {target_width}x{target_height}")
        ratio = min(target_width / width, target_height / height)
        new_width, new_height = max(round(width * ratio), 1), max(round(height * ratio), 1)
        left = round((target_width - new_width) / 2 - 0.1)
        top = round((target_height - new_height) / 2 - 0.1)
        return cls(width, height, target_width, target_height, new_width, new_height, left, top)

    def apply(self, image: Image.Image) -> np.ndarray:
        """The padded model input as an ``(target_height, target_width, 3)`` uint8 RGB array."""
        if image.size != (self.width, self.height):
            raise ValueError(f"letterbox was fitted to {self.width}x{self.height}, "
                             f"got a {image.size[0]}x{image.size[1]} image")
        resized = image.convert("RGB")
        if resized.size != (self.new_width, self.new_height):
            resized = resized.resize((self.new_width, self.new_height), Image.Resampling.BILINEAR)
        canvas = np.full((self.target_height, self.target_width, 3), PAD_VALUE, dtype=np.uint8)
        canvas[self.top : self.top + self.new_height, self.left : self.left + self.new_width] = np.asarray(resized)
        return canvas

    def to_source(self, boxes: np.ndarray) -> np.ndarray:
        """Map ``(N, 4)`` xyxy boxes from model-input pixels to source-image pixels, clipped to the image."""
        out = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.left) * (self.width / self.new_width)
        out[:, [1, 3]] = (out[:, [1, 3]] - self.top) * (self.height / self.new_height)
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, self.width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, self.height)
        return out
