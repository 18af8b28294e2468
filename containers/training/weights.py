"""Where a training run starts from, and the one place where the training image loads a model file.

TrainYOLO starts from the model's YAML (random weights), or from the optional ``weights`` channel:
- one ``*.pt``: pretrained weights (e.g. COCO weights staged by ``yolo-pipeline weights stage``): fine-tuning;
- one ``model.tar.gz``: a model version's model data (the approved one's, for a warm start): its best.pt.
The file is checked from its metadata, without unpickling it, before ultralytics is imported: a wrong variant, a
file that is no checkpoint or a channel the pipeline named but that is not there fails the job in seconds.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from containers.common import contract
from containers.common.archives import UnsafeArchive, extract_tar
from containers.common.checkpoint_metadata import CheckpointError, CheckpointMetadata, read_metadata
from containers.common.contract import JobFailure

__all__ = ["CHANNEL", "FROM_YAML", "NO_MODEL", "PRETRAINED", "WARM_START", "Start", "extract_model_archive",
           "holds_only_the_placeholder", "load_model", "starting_point"]

CHANNEL = "weights"
MODEL_ARCHIVE = "model.tar.gz"
# The one object under the pipeline's "no model" prefix, the default of its optional model inputs (the weights
# channel, the baseline): a SageMaker input must name objects that exist, so "none" is a prefix holding only this.
NO_MODEL = "NO_MODEL.txt"
FROM_YAML, PRETRAINED, WARM_START = "yaml", "pretrained", "warm_start"


@dataclass(frozen=True)
class Start:
    """How a run is initialised: ``kind`` is yaml, pretrained or warm_start; ``source`` says from what."""

    kind: str
    variant: str
    source: str | None = None  # the weights' URI (hyperparameter weights_uri) or, without it, the file name
    checkpoint: Path | None = None
    sha256: str | None = None
    source_model: dict[str, object] | None = None  # a warm start's model.json provenance

    def describe(self) -> dict[str, object]:
        """The record of this start in model.json (and, flattened, in the MLflow run)."""
        record: dict[str, object] = {"kind": self.kind, "variant": self.variant, "source": self.source,
                                     "sha256": self.sha256}
        if self.source_model is not None:
            record["source_model"] = self.source_model
        return record

    def sentence(self) -> str:
        if self.kind == FROM_YAML:
            return f"Training {self.variant} from {self.variant}.yaml (random initial weights)"
        what = "pretrained weights" if self.kind == PRETRAINED else "a warm start from model data"
        return f"Training {self.variant} from {what} {self.source} (sha256 {self.sha256})"


def starting_point(requested_variant: str, variant_given: bool, weights_uri: str | None, workdir: Path) -> Start:
    """Check the ``weights`` channel (when there is one) and say where training starts.

    Raises:
        JobFailure: ``weights_uri`` is set but the channel is missing or empty; the channel holds no single ``*.pt``
            or ``model.tar.gz``; the file is no Ultralytics detection checkpoint; its variant is not the requested one.
    """
    channel = contract.channel_dir(CHANNEL)
    if holds_only_the_placeholder(channel):
        return Start(FROM_YAML, requested_variant)
    files = sorted(p for p in channel.rglob("*") if p.is_file() and (p.suffix == ".pt" or p.name == MODEL_ARCHIVE)) \
        if channel.is_dir() else []
    if not files:
        if weights_uri:
            raise JobFailure(f"hyperparameter weights_uri={weights_uri!r} names weights, but channel 'weights' has "
                             f"no *.pt or {MODEL_ARCHIVE} at {channel}: check that the URI exists and is the "
                             "channel's source (stage weights with 'yolo-pipeline weights stage')")
        if channel.is_dir() and any(channel.iterdir()):
            raise JobFailure(f"channel 'weights' at {channel} holds no *.pt or {MODEL_ARCHIVE}")
        return Start(FROM_YAML, requested_variant)
    if len(files) != 1:
        names = ", ".join(str(f.relative_to(channel)) for f in files)
        raise JobFailure(f"channel 'weights' must hold exactly one *.pt checkpoint or {MODEL_ARCHIVE}, found "
                         f"{len(files)} ({names}) in {channel}")
    found = files[0]
    source = weights_uri or found.name
    source_model = None
    if found.name == MODEL_ARCHIVE:
        model_dir = extract_model_archive(found, workdir / "warm-start", "channel 'weights'")
        checkpoint, kind = model_dir / "best.pt", WARM_START
        card = model_dir / "model.json"
        provenance = json.loads(card.read_text()) if card.is_file() else {}
        source_model = {key: provenance.get(key) for key in ("variant", "training_job_name", "git_sha")}
    else:
        checkpoint, kind = found, PRETRAINED
    metadata = _metadata(checkpoint, found.name)
    if variant_given and metadata.variant != requested_variant:
        raise JobFailure(f"channel 'weights' holds a {metadata.variant} model but hyperparameter model_variant="
                         f"{requested_variant!r}: set model_variant={metadata.variant} or leave it unset")
    return Start(kind, metadata.variant, source, checkpoint, _sha256(found), source_model)


def holds_only_the_placeholder(folder: Path) -> bool:
    """Whether an input folder is the "no model" placeholder (its one file is NO_MODEL)."""
    return folder.is_dir() and [p.name for p in folder.rglob("*") if p.is_file()] == [NO_MODEL]


def _metadata(checkpoint: Path, shown_as: str) -> CheckpointMetadata:
    try:
        return read_metadata(checkpoint)
    except CheckpointError as exc:
        raise JobFailure(f"channel 'weights': {shown_as} is not an Ultralytics checkpoint of a YOLO detection "
                         f"model: {exc}") from None


def extract_model_archive(archive: Path, target: Path, what: str) -> Path:
    """Unpack a model.tar.gz (best.pt etc. at its root, as SageMaker makes it); links and members leaving ``target``
    are refused (``containers.common.archives.extract_tar``).

    Raises:
        JobFailure: the archive is unreadable or unsafe, or has no best.pt at its root.
    """
    try:
        extract_tar(archive, target)
    except (UnsafeArchive, tarfile.TarError, OSError) as exc:
        raise JobFailure(f"{what}: cannot unpack {archive}: {exc}") from exc
    if not (target / "best.pt").is_file():
        found = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        raise JobFailure(f"{what}: {archive} has no best.pt at its root (found: {', '.join(found) or 'nothing'})")
    return target


def load_model(checkpoint: Path, what: str | None = None):
    """An ultralytics ``YOLO`` from a checkpoint: every model file the training image loads goes through here, and
    so through the weights-only loader (``containers.common.safe_checkpoint``).

    Raises:
        JobFailure: the file names code outside the allowlist, or cannot be read (the reason after ``what``).
    """
    from containers.common.safe_checkpoint import CheckpointError, load_yolo

    try:
        return load_yolo(checkpoint)
    except CheckpointError as exc:
        raise JobFailure(f"{what}: {exc}" if what else str(exc)) from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
