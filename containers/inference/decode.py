"""Decoding a YOLO11 detect head's raw output into boxes, with class-aware NMS in numpy.

An exported YOLO11 detector (ONNX, no NMS inside) returns ``[1, 4 + nc, N]``: for each of N anchors, a box
``cx, cy, w, h`` in model-input pixels followed by ``nc`` class scores (sigmoid already applied). This module keeps
Ultralytics' defaults and semantics (best class per anchor, score > conf, per-class NMS, at most ``max_det``) so the
ONNX backend answers like ``YOLO.predict``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_NMS_CANDIDATES = 30_000  # Ultralytics' max_nms: bounds NMS time on a degenerate output
CLASS_OFFSET = 7_680.0  # Ultralytics' max_wh: shifts each class's boxes apart so one NMS pass stays per class


@dataclass(frozen=True)
class Decoded:
    """Detections in model-input pixels, best first: ``boxes`` (K, 4) xyxy, ``scores`` (K,), ``class_ids`` (K,)."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray


def decode(output: np.ndarray, num_classes: int, conf: float, iou: float, max_det: int) -> Decoded:
    """Select, convert and de-duplicate the boxes of one image's raw output.

    Raises:
        ValueError: the output is not ``[1, 4 + num_classes, N]``.
    """
    pred = np.asarray(output)
    if pred.ndim != 3 or pred.shape[0] != 1 or pred.shape[1] != 4 + num_classes:
        raise ValueError(f"expected a YOLO detect output of shape [1, {4 + num_classes}, N], got {list(pred.shape)}")
    pred = pred[0].T  # (N, 4 + nc)
    class_scores = pred[:, 4:]
    class_ids = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(pred)), class_ids]
    keep = scores > conf
    boxes, scores, class_ids = xywh_to_xyxy(pred[keep, :4]), scores[keep], class_ids[keep]
    order = np.argsort(-scores, kind="stable")[:MAX_NMS_CANDIDATES]
    boxes, scores, class_ids = boxes[order], scores[order], class_ids[order]
    kept = nms(boxes + class_ids[:, None] * CLASS_OFFSET, scores, iou, max_det)
    return Decoded(boxes[kept].astype(np.float32), scores[kept].astype(np.float32), class_ids[kept].astype(np.int64))


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """``cx, cy, w, h`` -> ``x1, y1, x2, y2``."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    half = boxes[:, 2:] / 2
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1)


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box with each of ``others`` (M, 4)."""
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, max_det: int) -> np.ndarray:
    """Greedy non-maximum suppression: indices of kept boxes, best first, at most ``max_det``.

    A box is dropped when its IoU with a better kept box is above ``iou`` (the torchvision rule).
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    kept: list[int] = []
    while order.size and len(kept) < max_det:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou]
    return np.asarray(kept, dtype=np.int64)
