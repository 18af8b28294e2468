"""Compiled definitions kept on disk, so a local re-run skips importing the SageMaker SDK (~4 s of ~5).

A definition is a pure function of the configuration, the image URIs (content hashes), the code of the factory and
the step builders, and the SDK's version: the key covers exactly those, so a hit is the JSON the factory would emit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

from pipelines import images
from pipelines.config import PipelineConfig

_SDK_DISTRIBUTIONS = ("sagemaker-core", "sagemaker-train", "sagemaker-serve", "sagemaker-mlops")
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
_BUILDER_SOURCES = ("pipelines/aws", "pipelines/config.py", "pipelines/factory.py", "pipelines/images/__init__.py",
                    "steps")


def definition_key(config: PipelineConfig) -> str:
    """A digest of everything the definition depends on (local-mode settings excluded: they change no definition)."""
    digest = hashlib.sha256(config.model_dump_json(exclude={"local"}).encode())
    digest.update(json.dumps([images.image_uri(config, name) for name in images.IMAGE_NAMES]).encode())
    digest.update(json.dumps([metadata.version(d) for d in _SDK_DISTRIBUTIONS]).encode())
    for source in _BUILDER_SOURCES:
        path = _PACKAGE_ROOT / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(_PACKAGE_ROOT).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:24]


def compiled_definition(config: PipelineConfig, cache_dir: Path) -> str:
    """The definition JSON from ``cache_dir`` when compiled before, else built by the factory and kept there."""
    path = cache_dir / f"{definition_key(config)}.json"
    if path.is_file():
        try:
            kept = path.read_text(encoding="utf-8")
            json.loads(kept)
            return kept
        except ValueError as exc:  # truncated (disk full, a killed write): rebuilt, not a failure forever
            print(f"warning: discarded the damaged compiled definition {path} ({exc}); compiling it again",
                  file=sys.stderr)
    from pipelines.factory import build_pipeline

    definition = build_pipeline(config).definition()
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(definition, encoding="utf-8")
    temporary.replace(path)
    return definition
