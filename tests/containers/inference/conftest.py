"""Fixtures of the inference tests: the trained model mounted in a job's /opt/ml and the labelled test images."""

from __future__ import annotations

import io
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from containers.common.ultralytics_env import configure_offline


@dataclass(frozen=True)
class LabelledImage:
    """A test-split image (JPEG bytes) and its ground truth: (class_id, x1, y1, x2, y2) in pixels."""

    path: Path
    jpeg: bytes
    width: int
    height: int
    objects: list[tuple[int, float, float, float, float]]

    def as_format(self, fmt: str) -> bytes:
        """The same pixels re-encoded (PNG is lossless, so the server sees exactly the decoded JPEG)."""
        buffer = io.BytesIO()
        Image.open(io.BytesIO(self.jpeg)).save(buffer, format=fmt)
        return buffer.getvalue()


def read_labelled(image: Path) -> LabelledImage:
    """An image of a PrepareData split with its YOLO label file (``labels/<stem>.txt``: class cx cy w h, 0-1)."""
    width, height = Image.open(image).size
    objects = []
    for line in (image.parent.parent / "labels" / f"{image.stem}.txt").read_text().splitlines():
        if line.strip():
            class_id, *fractions = line.split()
            cx, cy, w, h = (float(value) * size for value, size in zip(fractions, (width, height) * 2, strict=True))
            objects.append((int(class_id), cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return LabelledImage(image, image.read_bytes(), width, height, objects)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two xyxy boxes."""
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def matched_objects(image: LabelledImage, predictions: list[dict], threshold: float = 0.5) -> int:
    """How many labelled objects have a prediction of the same class overlapping them (IoU >= ``threshold``)."""
    return sum(
        any(p["class_id"] == class_id and iou(box, [p["box"][k] for k in ("x1", "y1", "x2", "y2")]) >= threshold
            for p in predictions)
        for class_id, *box in image.objects
    )


@pytest.fixture(scope="session")
def test_images(prepared_splits) -> list[LabelledImage]:
    """Every image of the prepared test split, with its labels."""
    images = sorted((prepared_splits / "test" / "images").iterdir())
    assert images, "the prepared test split has no images"
    return [read_labelled(path) for path in images]


@pytest.fixture(scope="module")
def offline_ultralytics(tmp_path_factory):
    """Ultralytics imported with no network attempts (the reference implementation); the environment is restored."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "0",
                            "YOLO_CONFIG_DIR": str(tmp_path_factory.mktemp("yolo-config"))}.items():
            patch.setenv(name, value)
        configure_offline()
        yield


@pytest.fixture(scope="session")
def served_opt_ml(trained_model, tmp_path_factory) -> Path:
    """A hosting job's /opt/ml: the trained model as SageMaker extracts it into /opt/ml/model (a copy)."""
    opt_ml = tmp_path_factory.mktemp("serve") / "opt_ml"
    shutil.copytree(trained_model, opt_ml / "model")
    return opt_ml

