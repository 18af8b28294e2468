"""The ONNX backend in-process against the reference: Ultralytics' own predict on the same model's best.pt."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from containers.inference.model_files import ModelError, resolve
from containers.inference.onnx_backend import OnnxPredictor
from containers.inference.options import DetectionOptions


@pytest.fixture(scope="module")
def predictor(served_opt_ml) -> OnnxPredictor:
    return OnnxPredictor(resolve(served_opt_ml / "model"), threads=1)


@pytest.mark.usefixtures("offline_ultralytics")
def test_detections_match_ultralytics_predict_on_best_pt(predictor, served_opt_ml, test_images):
    from ultralytics import YOLO

    reference = YOLO(str(served_opt_ml / "model" / "best.pt"))
    options = DetectionOptions(conf=0.005)  # the tiny test model is unsure of everything: compare its faint boxes
    compared = 0
    for image in test_images:
        pixels = Image.open(io.BytesIO(image.jpeg)).convert("RGB")
        ours = predictor.predict(pixels, options)
        theirs = reference.predict(pixels, imgsz=128, conf=options.conf, iou=options.iou, verbose=False)[0].boxes
        assert (ours.width, ours.height) == pixels.size
        # Pillow's and OpenCV's resizers differ slightly: compare the boxes both agree are clear of the threshold.
        clear = theirs.conf.numpy() > 0.01
        for box, score, class_id in zip(theirs.xyxy.numpy()[clear], theirs.conf.numpy()[clear],
                                        theirs.cls.numpy()[clear].astype(int), strict=True):
            same = ((ours.class_ids == class_id) & (np.abs(ours.scores - score) < 0.01)
                    & (np.abs(ours.boxes - box).max(axis=1) < 1.5))
            assert same.any(), (box, score, class_id, ours)
            compared += 1
    assert compared >= len(test_images)


def test_class_count_must_agree_with_model_json(served_opt_ml, tmp_path):
    shutil.copy(served_opt_ml / "model" / "best.onnx", tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"names": ["a", "b"], "imgsz": 128}))
    with pytest.raises(ModelError, match="best.onnx predicts 3 classes but model.json names 2"):
        OnnxPredictor(resolve(tmp_path))


def test_an_unreadable_onnx_file_is_a_model_error(tmp_path):
    (tmp_path / "best.onnx").write_bytes(b"\x00" * 10)
    (tmp_path / "model.json").write_text(json.dumps({"names": ["a"], "imgsz": 64}))
    with pytest.raises(ModelError, match="ONNX Runtime cannot load .*best.onnx"):
        OnnxPredictor(resolve(tmp_path))


@pytest.mark.parametrize("size", [(1, 1), (1, 3000), (3000, 1), (2000, 1500)])
def test_any_image_shape_gets_boxes_inside_it(predictor, size):
    found = predictor.predict(Image.new("RGB", size, (120, 90, 60)), DetectionOptions(conf=0.0, max_det=50))
    assert (found.width, found.height) == size and len(found.scores) == 50
    assert (found.boxes[:, [0, 2]] >= 0).all() and (found.boxes[:, [0, 2]] <= size[0]).all()
    assert (found.boxes[:, [1, 3]] >= 0).all() and (found.boxes[:, [1, 3]] <= size[1]).all()
