"""The GPU backend: ``best.pt`` through Ultralytics (its own letterbox and NMS), on CUDA when present.

Chosen automatically where torch sees a GPU, or with ``INFERENCE_BACKEND=torch``; the CPU inference image has no
torch, so this module is imported only when it is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from containers.common import safe_checkpoint
from containers.common.ultralytics_env import configure_offline
from containers.inference.detections import Detections
from containers.inference.model_files import ModelError, ModelSpec
from containers.inference.options import DetectionOptions


class TorchPredictor:
    """An Ultralytics YOLO model on ``cuda:0`` when available, else on the CPU with ``threads`` torch threads."""

    backend = "torch"

    def __init__(self, spec: ModelSpec, threads: int = 1):
        """Load best.pt (offline) and check its classes against model.json.

        Raises:
            ModelError: best.pt is missing, unreadable or refused (it names code to run), or its class count
                disagrees with model.json.
        """
        if not spec.torch_path.is_file():
            raise ModelError(f"{spec.torch_path} not found: the torch backend needs best.pt "
                             "(or set INFERENCE_BACKEND=onnx)")
        safe_checkpoint.enable()  # best.pt comes from a model.tar.gz: never unpickle code from it
        configure_offline()
        import torch

        self.device = "cuda:0" if torch.cuda.is_available() else "cpu"
        if self.device == "cpu":
            torch.set_num_threads(threads)
        try:
            self.model = safe_checkpoint.load_yolo(spec.torch_path, task="detect")
        except safe_checkpoint.CheckpointError as exc:
            raise ModelError(str(exc)) from None
        if len(self.model.names) != len(spec.names):
            raise ModelError(f"best.pt predicts {len(self.model.names)} classes but model.json names {len(spec.names)}")
        self.spec = spec

    def predict(self, image: Image.Image, options: DetectionOptions) -> Detections:
        results: Any = self.model.predict(image, imgsz=list(self.spec.imgsz), conf=options.conf, iou=options.iou,
                                          max_det=options.max_det, device=self.device, verbose=False)
        boxes = results[0].boxes
        return Detections(boxes.xyxy.cpu().numpy().astype(np.float64), boxes.conf.cpu().numpy(),
                          boxes.cls.cpu().numpy().astype(np.int64), image.width, image.height)
