"""Unpacking an untrusted tar archive (model.tar.gz) on any Python 3.11, checking every member first.

``tarfile.extractall(filter="data")`` exists only from Python 3.11.4, and the images may run an older 3.11 (Debian
and Ubuntu ship 3.11.2). So the members are checked here, all before anything is written: only regular files and
folders, relative paths without ``..``; links and devices are refused (a model archive has none). Files are written
by this code, with plain permissions, never by tarfile's own extraction.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path, PurePosixPath

__all__ = ["UnsafeArchive", "extract_tar"]


class UnsafeArchive(ValueError):
    """A member would be written outside the target, or is not a regular file or folder."""


def _checked_path(member: tarfile.TarInfo) -> PurePosixPath | None:
    """The member's relative path (None for the archive root ``.``).

    Raises:
        UnsafeArchive: the member is a link, a device or a FIFO, or its path is absolute or climbs out with ``..``.
    """
    if not (member.isfile() or member.isdir()):
        kind = "link" if member.issym() or member.islnk() else "special file"
        raise UnsafeArchive(f"member {member.name!r} is a {kind}; only regular files and folders are accepted")
    path = PurePosixPath(member.name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and path.parts[0].endswith(":")):
        raise UnsafeArchive(f"member {member.name!r} has a path outside the archive root")
    parts = [part for part in path.parts if part != "."]
    return PurePosixPath(*parts) if parts else None


def extract_tar(archive: Path, target: Path) -> Path:
    """Unpack ``archive`` (any compression tarfile reads) into ``target``, which is created.

    Raises:
        UnsafeArchive: a member is unsafe (nothing is written then).
        tarfile.TarError, OSError: the archive cannot be read, or the target cannot be written.
    """
    with tarfile.open(archive, "r:*") as tar:
        members = [(member, _checked_path(member)) for member in tar.getmembers()]
        target.mkdir(parents=True, exist_ok=True)
        for member, path in members:
            if path is None:
                continue
            destination = target.joinpath(*path.parts)
            if member.isdir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None  # always set for a regular file
            with source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
    return target
