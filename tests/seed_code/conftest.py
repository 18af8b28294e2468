"""Fixtures of the seed code tests: the seed code rendered for one project (what is linted, zipped and deployed),
and its standalone scripts (build.py, the smoke test) loaded from there."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from pipelines.seed_code import load_script, render

PROJECT = "demo"


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, Path]:
    return render(PROJECT, tmp_path_factory.mktemp("seed"), project_id="p-demo123")


@pytest.fixture(scope="session")
def build_script(rendered) -> ModuleType:
    return load_script(rendered["modeldeploy"] / "build.py")


@pytest.fixture(scope="session")
def smoke_test(rendered) -> ModuleType:
    return load_script(rendered["modeldeploy"] / "test" / "smoke_test.py")


CLASS_NAMES = ["circle", "square"]
IMGSZ = 64
# Two fixed detections in model-input pixels: (cx, cy, w, h, score of circle, score of square) per anchor.
ANCHORS = [(20.0, 20.0, 16.0, 16.0, 0.9, 0.05), (44.0, 40.0, 20.0, 12.0, 0.1, 0.8)]


def tiny_model(folder: Path, names: list[str] | None = None) -> Path:
    """A model.tar.gz the real inference server serves: model.json and a best.onnx whose output is fixed
    ([1, 4 + classes, anchors], no NMS, like a YOLO11 export), so detections are known without training."""
    import io
    import json
    import tarfile

    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    names = names or CLASS_NAMES
    fixed = np.array(ANCHORS, dtype=np.float32).T[None]  # (1, 6, 2)
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=1),
         helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
         helper.make_node("Reshape", ["nothing", "shape"], ["flat"]),
         helper.make_node("Add", ["flat", "fixed"], ["output0"])],
        "fixed_detections",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, IMGSZ, IMGSZ])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(fixed.shape))],
        [numpy_helper.from_array(np.zeros((1,), np.float32), "zero"),
         numpy_helper.from_array(np.array([1, 1, 1], np.int64), "shape"),
         numpy_helper.from_array(fixed, "fixed")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, body in (("model.json", json.dumps({"class_names": names, "imgsz": IMGSZ}).encode()),
                           ("best.onnx", model.SerializeToString())):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return archive
