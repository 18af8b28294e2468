"""The local object store: ``s3://bucket/key`` is the file or folder ``<store>/bucket/key``.

Outputs keep their S3 URIs, so step properties, the registry and the cache hold the same URIs as on SageMaker. An
input URI may also be a local path (or ``file://``): user data is read from where it is and never modified.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pipelines.local.errors import StepFailure

__all__ = ["LocalStore"]


class LocalStore:
    """S3 semantics reduced to what jobs need: a prefix is a folder, an object is a file."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @staticmethod
    def is_s3(uri: str) -> bool:
        return uri.startswith("s3://")

    def path(self, uri: str) -> Path:
        """The local path of an ``s3://`` URI (existing or not), or of a local path / ``file://`` URI.

        Raises:
            StepFailure: an ``s3://`` URI without a bucket, or a key that climbs out of its bucket.
        """
        if uri.startswith("file://"):
            return Path(unquote(urlparse(uri).path))
        if not self.is_s3(uri):
            return Path(uri).expanduser().resolve()
        bucket, _, key = uri[len("s3://"):].partition("/")
        parts = [part for part in key.split("/") if part]
        if not bucket or ".." in parts or bucket in (".", ".."):
            raise StepFailure(f"{uri!r} is not an S3 URI local mode can map (s3://bucket/key)")
        return self.root.joinpath(bucket, *parts)

    def existing(self, uri: str) -> Path:
        """The path of ``uri``, which must exist.

        Raises:
            StepFailure: nothing is there; the message says where local mode looked and how to fix it.
        """
        path = self.path(uri)
        if path.exists():
            return path
        if self.is_s3(uri):
            raise StepFailure(f"{uri} is not in the local object store (looked for {path}); put the data there, or "
                              "pass a local directory instead of the s3:// URI")
        raise StepFailure(f"{uri} does not exist")

    def fetch(self, uri: str, destination: Path) -> None:
        """Copy a prefix's files into ``destination`` (a single object lands as ``destination/<name>``)."""
        source = self.existing(uri)
        destination.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(source, destination / source.name)

    def put(self, source: Path, uri: str) -> None:
        """Upload a folder (or one file) to ``uri``, replacing what an earlier job left there, atomically.

        Replacing, not merging, keeps a rerun's outputs free of stale files from a previous run (a smaller split,
        say); the swap is a rename, so a reader never sees half an output.
        """
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.incoming-{os.getpid()}")
        _remove(staging)
        try:
            if source.is_dir():
                shutil.copytree(source, staging)
            else:
                shutil.copy2(source, staging)
        except OSError as exc:  # disk full, say: no half-copied folder is left behind
            _remove(staging)
            raise _writing_error(exc, staging) from None
        retired = target.with_name(f".{target.name}.retired-{os.getpid()}")
        if target.exists():
            target.rename(retired)
        staging.rename(target)
        _remove(retired)

    def read_json(self, uri: str) -> Any:
        """A JSON document from the store or a local path.

        Raises:
            StepFailure: the file is missing or not JSON.
        """
        path = self.existing(uri)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StepFailure(f"{uri} is not a readable JSON file: {exc}") from None

    def fingerprint(self, uri: str) -> str | None:
        """A digest of the names, sizes, modification and change times under ``uri``; None when nothing is there.

        Cheap on large datasets (no file is read), and it changes whenever a file is rewritten, even when its size
        and modification time are put back (the change time cannot be set), which is what the cache needs to know
        about the data a job reads.
        """
        return self._digest(uri, lambda file: f"{file.stat().st_size}\0{file.stat().st_mtime_ns}\0"
                                              f"{file.stat().st_ctime_ns}".encode())

    def digest(self, uri: str) -> str | None:
        """A SHA-256 of the names and contents of the files under ``uri``; None when nothing is there."""
        return self._digest(uri, _file_sha256)

    def _digest(self, uri: str, describe: Callable[[Path], bytes]) -> str | None:
        path = self.path(uri)
        if not path.exists():
            return None
        digest = hashlib.sha256()
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            relative = file.relative_to(path).as_posix() if path.is_dir() else file.name
            digest.update(relative.encode() + b"\0" + describe(file) + b"\n")
        return digest.hexdigest()


def _file_sha256(file: Path) -> bytes:
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest().encode()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _writing_error(exc: OSError, path: Path) -> OSError:
    """The error, naming the path being written (copy errors often name none; copytree gathers them in a list)."""
    if isinstance(exc, shutil.Error):
        if not any("No space left on device" in str(error) for error in exc.args[0]):
            return exc
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return OSError(exc.errno, exc.strerror, exc.filename or str(path))
