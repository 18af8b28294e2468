"""The CPU backend: an exported ``best.onnx`` run by ONNX Runtime, with letterbox and NMS in numpy.

The inference image ships this backend only (no torch), which keeps it small and its start-up fast.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from PIL import Image

from containers.inference.decode import decode
from containers.inference.detections import Detections
from containers.inference.letterbox import Letterbox
from containers.inference.model_files import ModelError, ModelSpec
from containers.inference.options import DetectionOptions


class OnnxPredictor:
    """One ONNX Runtime session (per server worker); ``threads`` is its intra-op thread count."""

    backend = "onnx"

    def __init__(self, spec: ModelSpec, threads: int = 1):
        """Open the session and check its input and output shapes against model.json.

        Raises:
            ModelError: best.onnx is missing or unreadable, or its shapes disagree with model.json.
        """
        if not spec.onnx_path.is_file():
            raise ModelError(f"{spec.onnx_path} not found: the ONNX backend needs best.onnx "
                             "(or set INFERENCE_BACKEND=torch)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle intra-op threads spin by default; beside other workers on the same cores that doubled latency here.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(spec.onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001  (ONNX Runtime errors derive from Exception directly)
            raise ModelError(f"ONNX Runtime cannot load {spec.onnx_path}: {exc}") from None
        self.spec = spec
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_dtype = np.float16 if model_input.type == "tensor(float16)" else np.float32
        height, width = model_input.shape[2:4]
        if isinstance(height, int) and isinstance(width, int) and (height, width) != spec.imgsz:
            raise ModelError(f"best.onnx takes {height}x{width} images but model.json says imgsz {list(spec.imgsz)}")
        channels = self.session.get_outputs()[0].shape[1]
        if isinstance(channels, int) and channels != 4 + len(spec.names):
            raise ModelError(f"best.onnx predicts {channels - 4} classes but model.json names {len(spec.names)}")

    def predict(self, image: Image.Image, options: DetectionOptions) -> Detections:
        box = Letterbox.fit(image.width, image.height, self.spec.imgsz[1], self.spec.imgsz[0])
        output = self.session.run(None, {self.input_name: self.to_tensor(box.apply(image))})[0]
        found = decode(output, len(self.spec.names), options.conf, options.iou, options.max_det)
        return Detections(box.to_source(found.boxes), found.scores, found.class_ids, image.width, image.height)

    def to_tensor(self, pixels: np.ndarray) -> np.ndarray:
        """HWC uint8 RGB -> NCHW in [0, 1], the layout and scale Ultralytics exports expect."""
        tensor = np.ascontiguousarray(pixels.transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255)
        return tensor.astype(self.input_dtype, copy=False)
