"""Step caching with SageMaker's CacheConfig semantics, and the places where local mode is deliberately stricter.

The key is what SageMaker keys on: the step and, per step type, the request attributes of the AWS doc "Default cache
key attributes by pipeline step type" (Amazon SageMaker Developer Guide, "Caching pipeline steps"). Outputs are in no
key: a hit returns the properties, and so the output URIs, of the execution that made the entry, as SageMaker does.

Local mode then checks what SageMaker does not, and says so whenever that makes it differ (a *notice*, naming the
step and the URI): the data under an unchanged input URI changed since the cached run; the code of the step's image
changed under an unchanged image URI; an output of the cached run was modified or removed since (each output's
content digest is stored when the job writes it and verified on a hit). Any of these re-runs the step where SageMaker
would reuse the cache. A damaged entry is discarded, with a notice naming the file.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pipelines.local.store import LocalStore

__all__ = ["KEY_ATTRIBUTES", "CacheEntry", "CacheLookup", "StepCache", "cache_key", "input_uris", "output_uris",
           "parse_duration"]

# AWS doc "Default cache key attributes by pipeline step type" (Pipelines > Caching pipeline steps).
KEY_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": ("AlgorithmSpecification", "CheckpointConfig", "DebugHookConfig", "DebugRuleConfigurations",
                 "Environment", "HyperParameters", "InputDataConfig"),
}
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(text: str) -> timedelta:
    """ISO 8601 durations as CacheConfig's ExpireAfter takes them (``P30D``, ``PT1H``, ``P1Y2M``; a month is 30
    days, a year 365).

    Raises:
        ValueError: not such a duration.
    """
    match = _DURATION.match(text or "")
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"ExpireAfter {text!r} is not an ISO 8601 duration such as P30D or PT12H")
    years, months, weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=365 * years + 30 * months + 7 * weeks + days, hours=hours, minutes=minutes,
                     seconds=seconds)


def input_uris(step_type: str, arguments: dict[str, Any]) -> list[str]:
    """The URIs a job reads: processing inputs or training channels."""
    if step_type == "Processing":
        return [i["S3Input"]["S3Uri"] for i in arguments.get("ProcessingInputs", []) if "S3Input" in i]
    if step_type == "Training":
        return [c["DataSource"]["S3DataSource"]["S3Uri"] for c in arguments.get("InputDataConfig", [])
                if "S3DataSource" in c.get("DataSource", {})]
    return []


def output_uris(step_type: str, properties: dict[str, Any]) -> list[str]:
    """The URIs a finished job wrote: processing outputs or the model artefact."""
    if step_type == "Processing":
        return [o["S3Output"]["S3Uri"] for o in properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
                if "S3Output" in o]
    if step_type == "Training":
        return [properties["ModelArtifacts"]["S3ModelArtifacts"]]
    return []


def cache_key(step_name: str, step_type: str, arguments: dict[str, Any]) -> str:
    """SageMaker's cache key: the step and its documented key attributes (job names and outputs are not in it)."""
    payload = {"step": step_name, "type": step_type,
               "attributes": {name: arguments.get(name) for name in KEY_ATTRIBUTES[step_type]}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class CacheEntry:
    key: str
    step: str
    execution_id: str
    created_at: float
    properties: dict[str, Any]
    outputs: dict[str, str | None]  # output URI -> content digest when the job wrote it
    inputs: dict[str, str | None] = field(default_factory=dict)  # input URI -> fingerprint when the job ran
    image: str = ""  # content hash of the image's code
    image_uri: str = ""


@dataclass(frozen=True)
class CacheLookup:
    entry: CacheEntry | None
    reason: str  # why it is a hit or a miss, for the record and the progress display
    notice: str | None = None  # set when local mode re-runs where SageMaker would reuse the cache, or a damaged entry


class StepCache:
    """Entries under ``<state>/cache/<step>/<key>.json``; the newest successful run per key."""

    def __init__(self, root: Path, store: LocalStore):
        self.root = Path(root)
        self.store = store

    def _path(self, step: str, key: str) -> Path:
        return self.root / step / f"{key}.json"

    def lookup(self, step: str, key: str, expire_after: str | None, *, inputs: dict[str, str | None] | None = None,
               image: str = "", now: float | None = None) -> CacheLookup:
        """The entry to reuse, or None with the reason it cannot be reused.

        ``inputs`` (URI -> fingerprint now) and ``image`` (the image's content hash now) are what local mode checks
        beyond SageMaker's key.
        """
        path = self._path(step, key)
        if not path.is_file():
            return CacheLookup(None, "no earlier successful run with these arguments")
        try:
            entry = CacheEntry(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            path.unlink(missing_ok=True)
            message = f"discarded the damaged cache entry {path} ({type(exc).__name__}: {exc}); the step runs again"
            return CacheLookup(None, message, message)
        now = time.time() if now is None else now
        if expire_after and now - entry.created_at >= parse_duration(expire_after).total_seconds():
            return CacheLookup(None, f"the earlier run ({entry.execution_id}) is older than ExpireAfter "
                                     f"{expire_after}")
        source = f"the cached run ({entry.execution_id})"
        for uri, fingerprint in (inputs or {}).items():
            if entry.inputs.get(uri, fingerprint) != fingerprint:
                return _stricter(f"the data under input {uri} changed since {source}")
        if image and entry.image and image != entry.image:
            return _stricter(f"the code of image {entry.image_uri or '?'} changed since {source} (same image URI)")
        for uri, digest in entry.outputs.items():
            if self.store.digest(uri) != digest:
                return _stricter(f"output {uri} of {source} was modified or removed since (content digest differs)")
        return CacheLookup(entry, f"reused the outputs of execution {entry.execution_id}")

    def save(self, entry: CacheEntry) -> None:
        path = self._path(entry.step, entry.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        try:
            partial.write_text(json.dumps(asdict(entry), default=str))
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)


def _stricter(what: str) -> CacheLookup:
    """A miss where SageMaker, which keys on the arguments only, would reuse the cache."""
    return CacheLookup(None, what, f"local mode differs from SageMaker: {what}; SageMaker would reuse the cached "
                                   "run, local mode runs the step again")
