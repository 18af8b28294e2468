"""Step caching with SageMaker's CacheConfig semantics, made safe for a store whose output URIs are reused.

A job step whose key (its resolved arguments without the job name, the content hash of the image's code, and a
fingerprint of each input it reads) equals that of an earlier successful run within ``ExpireAfter`` is not run
again: its properties, and so its outputs' URIs, are reused. SageMaker keys on arguments alone; the fingerprints are
added because the pipeline writes every execution's outputs to the same S3 URIs, so equal arguments can hide
different data. For the same reason an entry whose outputs were rewritten since (by another run) is a miss.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pipelines.local.store import LocalStore

__all__ = ["CacheEntry", "CacheLookup", "StepCache", "cache_key", "input_uris", "output_uris", "parse_duration"]

_JOB_NAMES = ("ProcessingJobName", "TrainingJobName")
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


def cache_key(step_name: str, step_type: str, arguments: dict[str, Any], image_digest: str,
              inputs: dict[str, str | None]) -> str:
    """The identity of a job run: same key, same result."""
    payload = {
        "step": step_name,
        "type": step_type,
        "arguments": {k: v for k, v in arguments.items() if k not in _JOB_NAMES},
        "image": image_digest,
        "inputs": inputs,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class CacheEntry:
    key: str
    step: str
    execution_id: str
    created_at: float
    properties: dict[str, Any]
    outputs: dict[str, str | None]  # output URI -> fingerprint when the run finished


@dataclass(frozen=True)
class CacheLookup:
    entry: CacheEntry | None
    reason: str  # why it is a hit or a miss, for the record and the progress display


class StepCache:
    """Entries under ``<state>/cache/<step>/<key>.json``; the newest successful run per key."""

    def __init__(self, root: Path, store: LocalStore):
        self.root = Path(root)
        self.store = store

    def _path(self, step: str, key: str) -> Path:
        return self.root / step / f"{key}.json"

    def lookup(self, step: str, key: str, expire_after: str | None, now: float | None = None) -> CacheLookup:
        """The entry to reuse, or None with the reason it cannot be reused."""
        path = self._path(step, key)
        if not path.is_file():
            return CacheLookup(None, "no earlier successful run with these arguments, inputs and image")
        entry = CacheEntry(**json.loads(path.read_text()))
        now = time.time() if now is None else now
        if expire_after and now - entry.created_at >= parse_duration(expire_after).total_seconds():
            return CacheLookup(None, f"the earlier run ({entry.execution_id}) is older than ExpireAfter "
                                     f"{expire_after}")
        for uri, fingerprint in entry.outputs.items():
            if self.store.fingerprint(uri) != fingerprint:
                return CacheLookup(None, f"{uri} changed since the earlier run ({entry.execution_id})")
        return CacheLookup(entry, f"reused the outputs of execution {entry.execution_id}")

    def save(self, entry: CacheEntry) -> None:
        path = self._path(entry.step, entry.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(asdict(entry), default=str))
        partial.replace(path)
