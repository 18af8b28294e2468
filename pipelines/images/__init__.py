"""The step images: their names, folders, content-hash tags and URIs.

A tag is a hash of exactly what the image is built from (its folder, with its Dockerfile and requirements.lock,
``containers/common`` and the package marker), so the definition, and with it SageMaker's step cache, changes
exactly when image content changes. Local mode uses ``image_name`` to map a URI back to the folder whose code it
runs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from functools import cache
from pathlib import Path

from pipelines.config import PipelineConfig

IMAGE_NAMES = ("processing", "training", "inference")
_SHARED = ("common", "__init__.py")
_IGNORED_SUFFIXES = (".pyc", ".pyo")


def containers_dir() -> Path:
    """Where the ``containers`` package lives, found without importing it."""
    spec = importlib.util.find_spec("containers")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'containers' package is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def image_dir(name: str) -> Path:
    if name not in IMAGE_NAMES:
        raise ValueError(f"unknown image {name!r}; expected one of {', '.join(IMAGE_NAMES)}")
    return containers_dir() / name


def dockerfile(name: str) -> Path:
    return image_dir(name) / "Dockerfile"


def default_base(name: str) -> str:
    """The public base the image's Dockerfile names (``ARG BASE_IMAGE=...``)."""
    found = re.search(r"^ARG BASE_IMAGE=(\S+)", dockerfile(name).read_text(), re.MULTILINE)
    if not found:
        raise ValueError(f"{dockerfile(name)} has no `ARG BASE_IMAGE=<default>` line")
    return found.group(1)


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and not p.name.endswith(_IGNORED_SUFFIXES))


@cache
def content_hash(name: str) -> str:
    """A 12-hex-digit digest of the files the image is built from (paths relative, so machine-independent)."""
    root = containers_dir()
    digest = hashlib.sha256()
    for part in (name, *_SHARED):
        for file in _files(root / part):
            digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def repository(config: PipelineConfig, name: str) -> str:
    return f"{config.images.repository_prefix}-{name}"


def image_uri(config: PipelineConfig, name: str) -> str:
    """``<registry>/<prefix>-<name>:<tag>``; without a registry, a local name (enough for local mode)."""
    tag = config.images.tag or content_hash(name)
    repo = repository(config, name)
    return f"{config.images.registry}/{repo}:{tag}" if config.images.registry else f"{repo}:{tag}"


def image_name(uri: str, repository_prefix: str) -> str:
    """The image name (processing|training|inference) a URI refers to.

    Raises:
        ValueError: the URI is not one of this pipeline's images.
    """
    repo = uri.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    name = repo.removeprefix(f"{repository_prefix}-")
    if repo == name or name not in IMAGE_NAMES:
        raise ValueError(f"image {uri!r} is not one of this pipeline's images "
                         f"({', '.join(f'{repository_prefix}-{n}' for n in IMAGE_NAMES)})")
    return name
