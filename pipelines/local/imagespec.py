"""Which local code an image URI means: read from the image's own Dockerfile, the one statement of how it starts.

An image URI names one of the pipeline's images (``pipelines.images.image_name``); its
``containers/<image>/Dockerfile`` gives the exec-form ``ENTRYPOINT``, the ``ENV`` and the ``WORKDIR`` of the final
stage. Paths inside the image that the Dockerfile fills with ``COPY <src> <dest>`` from the build context (the
repository root) are mapped back to the repository (``/opt/program`` -> the repo), and ``python3`` is this
interpreter: the job runs exactly the code the image would hold. Other absolute paths in ``ENV`` (a config dir the
build bakes, say ``YOLO_CONFIG_DIR=/opt/ultralytics``) are the image's own filesystem: they move under a per-image
folder of the state directory, never onto this machine's ``/opt``.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines import images
from pipelines.local.errors import UnsupportedConstruct

__all__ = ["ImageSpec", "image_spec", "image_spec_for_uri", "infer_repository_prefix", "parse_dockerfile"]

_PYTHONS = {"python", "python3", f"python3.{sys.version_info.minor}"}
_LEAVE_ALONE = {"PATH", "HOME", "LANG", "LC_ALL"}  # the host's own values stay
_IMAGE_KEYS = ("ImageUri", "TrainingImage", "Image")


@dataclass(frozen=True)
class ImageSpec:
    """How to start an image's code on this machine."""

    name: str
    entrypoint: tuple[str, ...]
    image_environment: dict[str, str] = field(default_factory=dict)  # as the Dockerfile writes it
    mounts: tuple[tuple[str, Path], ...] = ()  # (folder in the image, local folder) from the COPY instructions
    workdir: Path | None = None

    def environment(self, image_root: Path) -> dict[str, str]:
        """The ENV with image paths made local: copied folders -> the repository, the rest -> ``image_root``."""
        return {key: value if key in _LEAVE_ALONE else _map_paths(value, self.mounts, image_root)
                for key, value in self.image_environment.items()}

    def command(self, entrypoint: list[str] | tuple[str, ...] | None = None,
                arguments: list[str] | tuple[str, ...] = ()) -> list[str]:
        """The local argv: ``entrypoint`` (default: the image's) plus ``arguments``, with python3 -> this Python."""
        argv = [*(entrypoint if entrypoint is not None else self.entrypoint), *arguments]
        if not argv:
            raise UnsupportedConstruct(f"image {self.name!r} declares no ENTRYPOINT and the job gives none")
        if PurePosixPath(argv[0]).name in _PYTHONS:
            argv[0] = sys.executable
        return argv


def image_spec_for_uri(uri: str, repository_prefix: str) -> ImageSpec:
    """The spec of the pipeline image an image URI names (``<registry>/<prefix>-<image>:<tag>``).

    Raises:
        UnsupportedConstruct: the URI is not one of this pipeline's images (local mode cannot run foreign images).
    """
    try:
        name = images.image_name(uri, repository_prefix)
    except ValueError as exc:
        raise UnsupportedConstruct(f"{exc}; local mode runs only the pipeline's own images") from None
    return image_spec(name)


def infer_repository_prefix(definition: dict[str, Any]) -> str:
    """The repository prefix most image URIs of the definition share (``yolo-pipelines`` for
    ``.../yolo-pipelines-training:tag``), for callers that do not know the configuration; "" when none does."""
    guesses = Counter(prefix for uri in _image_uris(definition) if (prefix := _guess_prefix(uri)) is not None)
    return guesses.most_common(1)[0][0] if guesses else ""


def _image_uris(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [uri for key, inner in value.items()
                for uri in ([inner] if key in _IMAGE_KEYS and isinstance(inner, str) else _image_uris(inner))]
    if isinstance(value, list):
        return [uri for inner in value for uri in _image_uris(inner)]
    return []


def _guess_prefix(uri: str) -> str | None:
    repository = uri.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    for name in images.IMAGE_NAMES:
        if repository.endswith(f"-{name}"):
            return repository[: -len(name) - 1]
    return None


@cache
def image_spec(name: str) -> ImageSpec:
    """The spec of ``containers/<name>/Dockerfile``.

    Raises:
        UnsupportedConstruct: the image has no Dockerfile yet, or it has no exec-form ENTRYPOINT.
    """
    dockerfile = images.image_dir(name) / "Dockerfile"
    if not dockerfile.is_file():
        raise UnsupportedConstruct(f"image {name!r} has no Dockerfile at {dockerfile}")
    return parse_dockerfile(dockerfile.read_text(), name, images.containers_dir().parent)


def parse_dockerfile(text: str, name: str, context: Path) -> ImageSpec:
    """ENTRYPOINT, ENV and WORKDIR of the final stage, with image paths mapped onto the build ``context``.

    Raises:
        UnsupportedConstruct: a shell-form ENTRYPOINT (it would need a shell and the image's filesystem).
    """
    entrypoint: tuple[str, ...] = ()
    environment: dict[str, str] = {}
    workdir: str | None = None
    mounts: list[tuple[str, Path]] = []
    for instruction, argument in _instructions(text):
        if instruction == "FROM":
            entrypoint, environment, workdir, mounts = (), {}, None, []
        elif instruction == "ENTRYPOINT":
            try:
                parsed = json.loads(argument)
            except ValueError:
                parsed = None
            if not (isinstance(parsed, list) and all(isinstance(p, str) for p in parsed)):
                raise UnsupportedConstruct(f"image {name!r}: ENTRYPOINT {argument} is not in exec form "
                                           '(["python3", "-m", ...]); local mode cannot run it')
            entrypoint = tuple(parsed)
        elif instruction == "ENV":
            environment.update(_env_pairs(argument))
        elif instruction == "WORKDIR":
            workdir = argument.strip()
        elif instruction == "COPY":
            mounts += _copy_mount(argument, context)
    local_workdir = _mounted(workdir, mounts) if workdir else None
    return ImageSpec(name, entrypoint, environment, tuple(mounts),
                     local_workdir if local_workdir and local_workdir.is_dir() else None)


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, argument) pairs, continuation lines joined and comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, argument = line.partition(" ")
        found.append((keyword.upper(), argument.strip()))
    return found


def _env_pairs(argument: str) -> dict[str, str]:
    words = shlex.split(argument)
    if words and "=" not in words[0]:  # legacy form: ENV KEY value with spaces
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words if "=" in word)


def _copy_mount(argument: str, context: Path) -> list[tuple[str, Path]]:
    """``COPY containers/x/ /opt/program/containers/x/`` -> ("/opt/program", <context>): the destination ends
    with the source, so the part before it is where the build context lands in the image."""
    words = [w for w in shlex.split(argument) if not w.startswith("--")]
    if len(words) != 2:
        return []
    source, destination = (w.rstrip("/") for w in words)
    if source.startswith("/") or not destination.endswith("/" + source):
        return []
    return [(destination[: -len(source) - 1] or "/", context)]


def _mounted(path: str, mounts: list[tuple[str, Path]] | tuple[tuple[str, Path], ...]) -> Path | None:
    """The local path of an image path under a COPY destination, else None."""
    for image_path, local in mounts:
        if path == image_path or path.startswith(image_path.rstrip("/") + "/"):
            return local / path[len(image_path):].lstrip("/")
    return None


def _map_paths(value: str, mounts: tuple[tuple[str, Path], ...], image_root: Path) -> str:
    """Each absolute path in ``value`` (also in a ``:``-separated list) made local; other values unchanged."""
    if not value.startswith("/"):
        return value
    return ":".join(str(_mounted(part, mounts) or image_root / part.lstrip("/")) for part in value.split(":"))
