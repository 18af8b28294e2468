"""Pretrained weights for TrainYOLO's ``weights`` channel: checked here, then staged where the jobs can read them.

Training jobs have no Internet access (often network isolation too), so weights come from the artifact bucket, at a
documented, versioned (content-addressed) location:

    s3://<bucket>/<prefix>/weights/<variant>/<sha256[:16]>/<variant>.pt     the checkpoint
    s3://<bucket>/<prefix>/weights/<variant>/<sha256[:16]>/weights.json     what was staged: variant, sha256, source

The first URI is the value of the pipeline's weights parameter. Staging the same file again lands on the same key;
another file of the same variant gets its own. A file is staged only if it is an Ultralytics detection checkpoint of
the named variant, checked from its metadata without torch and without running its pickle
(``containers.common.checkpoint_metadata``, pure standard library, the very check the training image makes).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from containers.common.checkpoint_metadata import CheckpointError, read_metadata
from pipelines.config import YOLO_VARIANTS

__all__ = ["MANIFEST", "NO_MODEL", "NO_MODEL_TEXT", "StagedWeights", "WeightsError", "inspect"]

MANIFEST = "weights.json"
NO_MODEL = "NO_MODEL.txt"  # as containers.training.weights.NO_MODEL: the images read a folder of only this as "none"
NO_MODEL_TEXT = ("This object makes the pipeline's optional model inputs (pretrained weights, the baseline model) "
                 "present and empty: TrainYOLO and EvaluateYOLO read a folder holding only it as 'no model'.\n")


class WeightsError(ValueError):
    """The file cannot be staged as weights of that variant (the message says why and what to do)."""


@dataclass(frozen=True)
class StagedWeights:
    """A checked weights file and where it goes under an S3 root (``s3://bucket/prefix``)."""

    variant: str
    sha256: str
    size: int
    source: str  # the file's name as given
    class_names: tuple[str, ...]
    ultralytics_version: str | None

    def uri(self, s3_root: str) -> str:
        return f"{self.folder(s3_root)}/{self.variant}.pt"

    def folder(self, s3_root: str) -> str:
        return f"{s3_root.rstrip('/')}/weights/{self.variant}/{self.sha256[:16]}"

    def manifest(self) -> dict[str, object]:
        return {**asdict(self), "class_names": list(self.class_names)}


def inspect(file: Path, variant: str) -> StagedWeights:
    """Check that ``file`` is an Ultralytics detection checkpoint of ``variant``.

    Raises:
        WeightsError: an unknown variant, a missing file, a file that is no Ultralytics checkpoint, or a checkpoint
            of another variant.
    """
    if variant not in YOLO_VARIANTS:
        raise WeightsError(f"--variant {variant!r} is not one of {', '.join(YOLO_VARIANTS)}")
    try:
        metadata = read_metadata(Path(file))
    except CheckpointError as exc:
        raise WeightsError(f"cannot stage {file}: {exc}") from None
    if metadata.variant != variant:
        raise WeightsError(f"{file} holds a {metadata.variant} model, not {variant}: pass --variant "
                           f"{metadata.variant} (and train with ModelVariant={metadata.variant})")
    digest = hashlib.sha256()
    with Path(file).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return StagedWeights(variant=variant, sha256=digest.hexdigest(), size=Path(file).stat().st_size,
                         source=Path(file).name, class_names=metadata.class_names,
                         ultralytics_version=metadata.ultralytics_version)
