"""Input formats PrepareData reads, told apart by what the input folder holds."""

from __future__ import annotations

from pathlib import Path

from containers.common.contract import JobFailure
from containers.processing.dataset import RawDataset
from containers.processing.readers import coco, ground_truth, yolo

FORMATS = ("yolo", "ground-truth", "coco")

__all__ = ["FORMATS", "detect_format", "read"]


def detect_format(raw: Path) -> str:
    """Which of ``FORMATS`` the folder holds.

    Raises:
        JobFailure: none of them, or more than one.
    """
    found = [fmt for fmt, present in (
        ("yolo", (raw / "images").is_dir() and yolo.data_yaml(raw) is not None),
        ("ground-truth", bool(ground_truth.manifests(raw))),
        ("coco", bool(coco.coco_files(raw))),
    ) if present]
    if not found:
        raise JobFailure(f"no dataset found in {raw}: expected a YOLO folder (images/, labels/, data.yaml with "
                         "names), a Ground Truth output manifest (*.manifest) or a COCO JSON (*.json) with its images")
    if len(found) > 1:
        raise JobFailure(f"{raw} holds more than one dataset format ({', '.join(found)}): "
                         "pass --input-format or keep one dataset in the input")
    return found[0]


def read(raw: Path, input_format: str = "auto", label_attribute: str | None = None) -> RawDataset:
    """Read ``raw`` in ``input_format`` ("auto": detected).

    Raises:
        JobFailure: the input folder is missing or empty, or the dataset cannot be read as a whole.
    """
    if not raw.is_dir() or not any(raw.iterdir()):
        raise JobFailure(f"empty dataset: the input folder {raw} is missing or empty; "
                         "the raw data input of the processing job must point at the dataset")
    fmt = detect_format(raw) if input_format == "auto" else input_format
    if fmt == "yolo":
        return yolo.read(raw)
    if fmt == "ground-truth":
        return ground_truth.read(raw, label_attribute)
    return coco.read(raw)
