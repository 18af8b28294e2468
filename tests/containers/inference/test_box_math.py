"""Letterbox, decode and NMS checked against Ultralytics' and torchvision's own implementations (the references)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from containers.inference.decode import decode, nms, xywh_to_xyxy
from containers.inference.letterbox import PAD_VALUE, Letterbox

pytestmark = pytest.mark.usefixtures("offline_ultralytics")  # the references come from ultralytics

SHAPES = [(160, 160), (640, 480), (480, 640), (333, 97), (1, 500), (1280, 721)]  # width, height


@pytest.mark.parametrize(("width", "height"), SHAPES)
@pytest.mark.parametrize("target", [(128, 128), (640, 640), (320, 256)])  # height, width
def test_letterbox_geometry_matches_ultralytics(width, height, target):
    from ultralytics.data.augment import LetterBox

    params = LetterBox(new_shape=target).get_params({"img": np.zeros((height, width, 3), np.uint8)})
    box = Letterbox.fit(width, height, target[1], target[0])
    assert (box.new_width, box.new_height) == params["new_unpad"]
    assert (box.left, box.top) == (params["left"], params["top"])
    assert box.left + box.new_width + params["right"] == target[1]
    assert box.top + box.new_height + params["bottom"] == target[0]


@pytest.mark.parametrize(("width", "height"), SHAPES)
def test_boxes_map_back_like_ultralytics_scale_boxes(width, height):
    from ultralytics.utils.ops import scale_boxes

    rng = np.random.default_rng(width * height)
    xy = rng.uniform(0, 640, size=(20, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 200, size=(20, 2))], axis=1)
    expected = scale_boxes((640, 640), torch.tensor(boxes), (height, width)).numpy()
    np.testing.assert_allclose(Letterbox.fit(width, height, 640, 640).to_source(boxes), expected, atol=1e-6)


def test_letterbox_places_the_image_centred_on_grey():
    red = Image.new("RGB", (200, 100), (255, 0, 0))
    box = Letterbox.fit(200, 100, 128, 128)
    pixels = box.apply(red)
    assert pixels.shape == (128, 128, 3) and pixels.dtype == np.uint8
    assert (box.new_width, box.new_height, box.left, box.top) == (128, 64, 0, 32)
    assert (pixels[32:96] == [255, 0, 0]).all()
    assert (pixels[:32] == PAD_VALUE).all() and (pixels[96:] == PAD_VALUE).all()


def test_letterbox_refuses_an_image_of_another_size():
    with pytest.raises(ValueError, match="fitted to 200x100, got a 100x100 image"):
        Letterbox.fit(200, 100, 128, 128).apply(Image.new("RGB", (100, 100)))


def test_boxes_outside_the_image_are_clipped():
    box = Letterbox.fit(200, 100, 128, 128)  # content rows 32..96
    mapped = box.to_source(np.array([[-10, 0, 140, 128]]))
    np.testing.assert_allclose(mapped, [[0, 0, 200, 100]])


def raw_output(rng: np.random.Generator, num_classes: int, anchors: int) -> np.ndarray:
    """A head output like YOLO11's: clustered boxes (so NMS has work) and sigmoid-like scores."""
    centres = rng.uniform(20, 100, size=(8, 2))[rng.integers(0, 8, anchors)] + rng.normal(0, 3, size=(anchors, 2))
    sizes = rng.uniform(8, 40, size=(anchors, 2))
    scores = rng.beta(0.3, 3, size=(anchors, num_classes))
    return np.concatenate([centres, sizes, scores], axis=1).T[None].astype(np.float32)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("conf", "iou", "max_det"), [(0.25, 0.7, 300), (0.1, 0.45, 300), (0.05, 0.5, 7)])
def test_decode_matches_ultralytics_non_max_suppression(seed, conf, iou, max_det):
    from ultralytics.utils.nms import non_max_suppression

    output = raw_output(np.random.default_rng(seed), num_classes=3, anchors=336)
    expected = non_max_suppression(torch.from_numpy(output), conf_thres=conf, iou_thres=iou, max_det=max_det,
                                   max_time_img=60)[0].numpy()
    found = decode(output, 3, conf, iou, max_det)
    assert len(found.scores) == len(expected) > 0
    np.testing.assert_allclose(found.boxes, expected[:, :4], atol=1e-4)
    np.testing.assert_allclose(found.scores, expected[:, 4], atol=1e-6)
    np.testing.assert_array_equal(found.class_ids, expected[:, 5].astype(int))


@pytest.mark.parametrize("seed", range(5))
def test_nms_keeps_what_torchvision_keeps(seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(200, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 50, size=(200, 2))], axis=1).astype(np.float32)
    scores = rng.random(200).astype(np.float32)
    expected = torchvision.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.5).numpy()
    np.testing.assert_array_equal(nms(boxes, scores, 0.5, max_det=1000), expected)
    np.testing.assert_array_equal(nms(boxes, scores, 0.5, max_det=3), expected[:3])


def head(*anchors: tuple[float, float, float, float, float, float]) -> np.ndarray:
    """A 2-class head output from (cx, cy, w, h, score_class0, score_class1) rows."""
    return np.array(anchors, dtype=np.float32).T[None]


def test_decode_picks_the_best_class_and_converts_boxes():
    found = decode(head((50, 40, 20, 10, 0.1, 0.9)), 2, conf=0.25, iou=0.7, max_det=300)
    np.testing.assert_allclose(found.boxes, [[40, 35, 60, 45]])
    assert found.class_ids.tolist() == [1] and found.scores.tolist() == pytest.approx([0.9])


def test_decode_suppresses_overlaps_within_a_class_only():
    same_place = [(50, 50, 20, 20, 0.9, 0.0), (51, 50, 20, 20, 0.8, 0.0), (50, 50, 20, 20, 0.0, 0.7)]
    found = decode(head(*same_place), 2, conf=0.25, iou=0.7, max_det=300)
    assert found.class_ids.tolist() == [0, 1]
    assert found.scores.tolist() == pytest.approx([0.9, 0.7])


def test_decode_threshold_is_strict_and_max_det_caps():
    rows = [(10 + 30 * i, 10, 10, 10, score, 0.0) for i, score in enumerate([0.9, 0.5, 0.25, 0.6])]
    assert decode(head(*rows), 2, conf=0.25, iou=0.7, max_det=300).scores.tolist() == pytest.approx([0.9, 0.6, 0.5])
    assert decode(head(*rows), 2, conf=0.25, iou=0.7, max_det=2).scores.tolist() == pytest.approx([0.9, 0.6])


def test_decode_of_nothing_is_empty():
    found = decode(head((50, 50, 20, 20, 0.1, 0.2)), 2, conf=0.25, iou=0.7, max_det=300)
    assert found.boxes.shape == (0, 4) and found.scores.shape == (0,) and found.class_ids.shape == (0,)


def test_decode_rejects_an_output_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"expected a YOLO detect output of shape \[1, 7, N\], got \[1, 6, 2\]"):
        decode(head((50, 50, 20, 20, 0.1, 0.2), (5, 5, 2, 2, 0.3, 0.1)), 3, conf=0.25, iou=0.7, max_det=300)


def test_xywh_to_xyxy():
    np.testing.assert_allclose(xywh_to_xyxy(np.array([[10, 20, 4, 6]])), [[8, 17, 12, 23]])
