"""An export downloaded as one archive (``.zip``, ``.tar.gz``, ``.tgz``, ``.tar``): extracted safely, then read.

Archives are untrusted: a member whose name is absolute or climbs with ``..`` (zip-slip), a link member, or a device
or FIFO fails the job before anything is written outside the extraction folder. Only regular files and folders are
extracted; the total size is bounded by what the members declare, checked against the free disk first.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO

from containers.common.contract import JobFailure
from containers.processing.safepath import excerpt

SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")


def archive_in(raw: Path) -> Path | None:
    """The single archive that is the whole input (hidden files aside), if that is what the input holds."""
    entries = [p for p in raw.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].name.lower().endswith(SUFFIXES) and not entries[0].is_symlink() \
            and entries[0].is_file():
        return entries[0]
    return None


def extract(archive: Path, destination: Path) -> Path:
    """Extract ``archive`` into ``destination`` (created) and return it.

    Raises:
        JobFailure: an unsafe member, a corrupt archive, or not enough disk space.
    """
    destination.mkdir(parents=True, exist_ok=True)
    try:
        if archive.name.lower().endswith(".zip"):
            _extract_zip(archive, destination)
        else:
            _extract_tar(archive, destination)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise JobFailure(f"{archive.name} is not a readable archive: {type(exc).__name__}: "
                         f"{excerpt(str(exc), 120)}") from None
    return destination


def _member_path(destination: Path, name: str, archive: Path) -> Path:
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts or (posix.parts and ":" in posix.parts[0]) or "\0" in name:
        raise JobFailure(f"{archive.name}: member {excerpt(name, 80)} would land outside the extraction folder "
                         "(zip-slip): refusing the archive; re-create it with relative member names")
    return destination.joinpath(*posix.parts)


def _check_space(total: int, destination: Path, archive: Path) -> None:
    free = shutil.disk_usage(destination).free
    if total > free:
        raise JobFailure(f"{archive.name} holds {total} bytes uncompressed but only {free} are free: "
                         "raise the processing job's volume size or upload the dataset unpacked")


@dataclass(frozen=True)
class _Member:
    name: str
    is_dir: bool
    size: int
    open: Callable[[], IO[bytes]]


def _write_members(destination: Path, archive: Path, members: list[_Member]) -> None:
    """Check every member's name and the total size, then write the members (only after all checks passed)."""
    for member in members:
        _member_path(destination, member.name, archive)
    _check_space(sum(m.size for m in members), destination, archive)
    for member in members:
        target = _member_path(destination, member.name, archive)
        if member.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with member.open() as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink)


def _extract_zip(archive: Path, destination: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        members = bundle.infolist()
        for member in members:
            kind = stat.S_IFMT(member.external_attr >> 16)
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise JobFailure(f"{archive.name}: member {excerpt(member.filename, 80)} is a symbolic link or "
                                 "special file: refusing the archive (links could point outside the input)")
        _write_members(destination, archive, [_Member(m.filename, m.is_dir(), m.file_size, partial(bundle.open, m))
                                              for m in members])


def _extract_tar(archive: Path, destination: Path) -> None:
    with tarfile.open(archive) as bundle:
        members = bundle.getmembers()
        for member in members:
            if not (member.isfile() or member.isdir()):
                raise JobFailure(f"{archive.name}: member {excerpt(member.name, 80)} is a link or special file: "
                                 "refusing the archive (links could point outside the input)")
        _write_members(destination, archive, [_Member(m.name, m.isdir(), m.size, partial(_tar_file, bundle, m))
                                              for m in members])


def _tar_file(bundle: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    source = bundle.extractfile(member)
    assert source is not None  # a regular file member always has contents
    return source
