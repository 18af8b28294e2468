"""Which backend serves a model, and loading it: ONNX Runtime on CPU, or torch/Ultralytics on a GPU.

``auto`` picks torch only when torch is installed, sees CUDA and ``best.pt`` exists; otherwise ONNX. The choice is
made once, in the server's master process, so every worker serves the same way.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Protocol

from PIL import Image

from containers.inference.detections import Detections
from containers.inference.model_files import ModelError, ModelSpec
from containers.inference.options import DetectionOptions

BACKENDS = ("auto", "onnx", "torch")


class Predictor(Protocol):
    backend: str

    def predict(self, image: Image.Image, options: DetectionOptions) -> Detections: ...


def choose_backend(requested: str, spec: ModelSpec) -> str:
    """Resolve ``auto|onnx|torch`` to ``onnx`` or ``torch`` for this model on this machine.

    Raises:
        ModelError: the requested backend cannot serve here (unknown name, torch not installed, weights missing).
    """
    if requested not in BACKENDS:
        raise ModelError(f"INFERENCE_BACKEND={requested!r} is not one of {', '.join(BACKENDS)}")
    torch_installed = importlib.util.find_spec("torch") is not None
    if requested == "torch" and not torch_installed:
        raise ModelError("INFERENCE_BACKEND=torch but torch is not installed in this image: use onnx (or auto)")
    if requested == "auto":
        requested = "torch" if torch_installed and spec.torch_path.is_file() and _cuda_available() else "onnx"
    weights = spec.onnx_path if requested == "onnx" else spec.torch_path
    if not weights.is_file():
        raise ModelError(f"the {requested} backend needs {weights}, which does not exist")
    return requested


def load_predictor(backend: str, spec: ModelSpec, threads: int) -> Predictor:
    """Open the model with the chosen backend (in a server worker, after fork).

    Raises:
        ModelError: the weights cannot be loaded or disagree with model.json.
    """
    if backend == "torch":
        from containers.inference.torch_backend import TorchPredictor

        return TorchPredictor(spec, threads)
    from containers.inference.onnx_backend import OnnxPredictor

    return OnnxPredictor(spec, threads)


def _cuda_available() -> bool:
    """Ask torch in a child process: importing torch in the server's master would cost it ~700 MB for the life of
    the server (and CUDA initialised there would not survive the fork of the workers)."""
    try:
        probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                               capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.stdout.strip() == "True"
