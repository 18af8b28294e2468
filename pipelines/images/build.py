"""Build a step image the one way the tests and the CodeBuild buildspec both use (``yolo-pipeline images build``).

The Dockerfiles need BuildKit (``RUN --mount=type=secret``) and their context is the repository root, trimmed by
``containers/<image>/Dockerfile.dockerignore``, which only BuildKit reads: the legacy builder would send the whole
repository (a .venv included). So the build always runs with ``DOCKER_BUILDKIT=1``, and the context that the
ignore file lets through is measured first: above ``MAX_CONTEXT_MB`` the build is refused, naming the biggest paths.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines import images
from pipelines.images import docker

__all__ = ["MAX_CONTEXT_MB", "ContextTooLarge", "build", "context_files", "repository_root"]

MAX_CONTEXT_MB = 50  # the images copy a few hundred kB of code; more means the ignore file no longer trims
CONTEXT_ENV = "MAX_IMAGE_CONTEXT_MB"


class ContextTooLarge(ValueError):
    """The build context the ignore file lets through is above the limit."""


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    include: bool  # a ``!pattern`` line
    text: str


def repository_root() -> Path:
    """The build context: the folder holding the ``containers`` package."""
    return images.containers_dir().parent


def _patterns(ignore_file: Path) -> list[_Pattern]:
    """Docker's .dockerignore syntax: ``*``/``?`` within a path segment, ``**`` across them, ``!`` re-includes."""
    patterns = []
    for line in ignore_file.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        text = line.removeprefix("!").strip().strip("/")
        regex = "".join(".*" if part == "**" else fnmatch.translate(part).removeprefix("(?s:").removesuffix(r")\Z")
                        .replace(".*", "[^/]*") for part in re.split(r"(\*\*)", text))
        patterns.append(_Pattern(re.compile(regex.replace(".*/", "(.*/)?") + r"\Z"), include, text))
    return patterns


def _ignored(relative: str, patterns: list[_Pattern]) -> bool:
    """Whether Docker leaves ``relative`` out: the last pattern matching it or one of its parent folders wins."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        if any(pattern.regex.match(prefix) for prefix in prefixes):
            ignored = not pattern.include
    return ignored


def context_files(name: str, root: Path | None = None) -> Iterator[tuple[str, int]]:
    """(relative path, size) of every file the image's build context sends; excluded folders are not walked
    unless a ``!`` pattern could re-include something in them."""
    root = root or repository_root()
    patterns = _patterns(images.dockerfile(name).with_name("Dockerfile.dockerignore"))
    reincluded = [p.text for p in patterns if p.include]
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        dirs[:] = [d for d in dirs if not _ignored(prefix + d, patterns)
                   or any(text.startswith(prefix + d + "/") or "*" in text for text in reincluded)]
        for file in files:
            path = Path(folder) / file
            if not _ignored(prefix + file, patterns) and not path.is_symlink():
                yield prefix + file, path.stat().st_size


def check_context(name: str, limit_mb: float | None = None) -> int:
    """The context size in bytes.

    Raises:
        ContextTooLarge: it is above ``limit_mb`` (default ``$MAX_IMAGE_CONTEXT_MB`` or ``MAX_CONTEXT_MB``).
    """
    limit = limit_mb if limit_mb is not None else float(os.environ.get(CONTEXT_ENV, MAX_CONTEXT_MB))
    files = list(context_files(name))
    total = sum(size for _, size in files)
    if total > limit * 1e6:
        biggest = ", ".join(f"{path} ({size / 1e6:.1f} MB)" for path, size in sorted(files, key=lambda f: -f[1])[:5])
        raise ContextTooLarge(f"the {name} image's build context is {total / 1e6:.0f} MB, above the {limit:g} MB "
                              f"limit; biggest: {biggest}. Exclude them in {images.dockerfile(name)}.dockerignore "
                              f"(or raise ${CONTEXT_ENV})")
    return total


def build(name: str, tag: str | None = None, repository: str | None = None, base: str | None = None,
          quiet: bool = True) -> str:
    """Build the image as ``<repository>:<tag>`` (tag default: its content hash) and return that reference.

    Raises:
        ContextTooLarge: see ``check_context``.
        docker.DockerError: the build failed.
    """
    check_context(name)
    reference = f"{repository or name}:{tag or images.content_hash(name)}"
    args = ["build", "-f", str(images.dockerfile(name)), "-t", reference]
    if base:
        args += ["--build-arg", f"BASE_IMAGE={base}"]
    bundle = docker.ca_bundle()
    if bundle:
        args += ["--secret", f"id=pip_cert,src={bundle}"]
    if quiet:
        args.append("--quiet")
    docker.run(*args, str(repository_root()), capture=quiet, timeout=7200)
    return reference
