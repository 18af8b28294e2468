"""Input formats PrepareData reads, told apart by what the input folder holds.

The input may be the export itself, the export inside one folder (a downloaded export unpacked as ``name/``), or a
single archive of it (:mod:`containers.processing.archive`).
"""

from __future__ import annotations

from pathlib import Path

from containers.common.contract import JobFailure
from containers.processing import archive
from containers.processing.dataset import RawDataset
from containers.processing.readers import coco, darknet, ground_truth, yolo
from containers.processing.safepath import InputRoot, OutsideInput, excerpt

FORMATS = ("yolo", "darknet", "ground-truth", "coco")
NEEDS = ("Ultralytics/Roboflow YOLO: data.yaml with names (and train/val paths, or images/ + labels/); "
         "Label Studio / CVAT YOLO: classes.txt or obj.names with the images and their .txt labels; "
         "Ground Truth: an output manifest (*.manifest) with a bounding-box label attribute; "
         "COCO: a JSON with images, annotations and categories, its images beside it or in images/")

__all__ = ["FORMATS", "detect_format", "read"]


def detect_format(raw: Path) -> str:
    """Which of ``FORMATS`` the folder holds.

    Raises:
        JobFailure: none of them (saying what the folder holds that comes close), or more than one.
    """
    found = [fmt for fmt, present in (
        ("yolo", yolo.data_yaml(raw) is not None),
        ("darknet", darknet.names_file(raw) is not None and yolo.data_yaml(raw) is None),
        ("ground-truth", bool(ground_truth.manifests(raw))),
        ("coco", bool(coco.coco_files(raw))),
    ) if present]
    if not found:
        raise JobFailure(f"no dataset found in the input: it holds {_survey(raw)}. Expected one of: {NEEDS}")
    if len(found) > 1:
        raise JobFailure(f"the input holds more than one dataset format ({', '.join(found)}): keep one dataset in "
                         "the input (InputDataUri)")
    return found[0]


def read(raw: Path, input_format: str, label_attribute: str | None, work: Path) -> RawDataset:
    """Read ``raw`` in ``input_format`` ("auto": detected); ``work`` is a scratch folder for an extracted archive and
    fetched images (it must outlive the dataset's use).

    Raises:
        JobFailure: the input folder is missing or empty, or the dataset cannot be read as a whole.
    """
    if not raw.is_dir() or not any(raw.iterdir()):
        raise JobFailure(f"empty dataset: the input folder {raw} is missing or empty; "
                         "the raw data input of the processing job must point at the dataset")
    bundle = archive.archive_in(raw)
    root = archive.extract(bundle, work / "extracted") if bundle is not None else raw
    root = _unwrap(root)
    fmt = detect_format(root) if input_format == "auto" else input_format
    src = InputRoot(root)
    try:
        if fmt == "yolo":
            dataset = yolo.read(src)
        elif fmt == "darknet":
            dataset = darknet.read(src)
        elif fmt == "ground-truth":
            dataset = ground_truth.read(src, label_attribute, work / "fetched")
        else:
            dataset = coco.read(src)
    except OutsideInput as exc:  # a file the whole dataset depends on (a class list, a config) is refused
        raise JobFailure(f"cannot read the {fmt} dataset: {exc}") from None
    if bundle is not None:
        dataset.notes["archive"] = bundle.name
    return dataset


def _unwrap(root: Path) -> Path:
    """The folder the dataset starts in: ``root``, or the one folder it holds when it holds nothing else."""
    while True:
        entries = [p for p in root.iterdir() if not p.name.startswith(".")]
        if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
            return root
        root = entries[0]


def _survey(raw: Path) -> str:
    """What the input holds that comes close to a dataset, for the error when nothing is recognised."""
    notes = []
    files = sorted(p for p in raw.rglob("*") if p.is_file() and not p.is_symlink())
    relative = [p.relative_to(raw).as_posix() for p in files]
    for path, name in zip(files, relative, strict=True):
        suffix = path.name.lower()
        if suffix.endswith((".yaml", ".yml")):
            notes.append(f"{excerpt(name, 60)} (YAML without 'names'" +
                         (", not at the top" if "/" in name else "") + ")")
        elif suffix.endswith(".json"):
            notes.append(f"{excerpt(name, 60)} (JSON without COCO's images/annotations/categories)")
        elif suffix.endswith(archive.SUFFIXES):
            notes.append(f"{excerpt(name, 60)} (an archive: it is extracted only when it is the input's only file)")
        elif suffix.endswith((".names", "classes.txt")):
            notes.append(f"{excerpt(name, 60)} (a class list not at the top of the input)")
    images = sum(1 for p in files if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"))
    labels = sum(1 for p in files if p.suffix.lower() == ".txt")
    notes.append(f"{images} image file(s) and {labels} .txt file(s)")
    return "; ".join(notes[:8])
