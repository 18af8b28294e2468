"""An export downloaded as one archive (``.zip``, ``.tar.gz``, ``.tgz``, ``.tar``): extracted safely, then read.

Archives are untrusted: a member whose name is absolute or climbs with ``..`` (zip-slip), a link member, or a device
or FIFO fails the job before anything is written. Only regular files and folders are extracted. Tar archives go
through the images' shared checked extraction (:mod:`containers.common.archives`); zip members are checked here the
same way, and their declared total size against the free disk first.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from containers.common.archives import UnsafeArchive, extract_tar
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
            extract_tar(archive, destination)
    except UnsafeArchive as exc:
        raise JobFailure(f"{archive.name}: {exc}: refusing the archive (nothing may land outside the input)") from None
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise JobFailure(f"{archive.name} is not a readable archive: {type(exc).__name__}: "
                         f"{excerpt(str(exc), 120)}") from None
    return destination


def _member_path(destination: Path, member: zipfile.ZipInfo, archive: Path) -> Path:
    name = member.filename
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts or (posix.parts and ":" in posix.parts[0]) or "\0" in name:
        raise JobFailure(f"{archive.name}: member {excerpt(name, 80)} would land outside the extraction folder "
                         "(zip-slip): refusing the archive; re-create it with relative member names")
    kind = stat.S_IFMT(member.external_attr >> 16)
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        raise JobFailure(f"{archive.name}: member {excerpt(name, 80)} is a symbolic link or special file: "
                         "refusing the archive (links could point outside the input)")
    return destination.joinpath(*posix.parts)


def _extract_zip(archive: Path, destination: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        members = [(member, _member_path(destination, member, archive)) for member in bundle.infolist()]
        total, free = sum(m.file_size for m, _ in members), shutil.disk_usage(destination).free
        if total > free:
            raise JobFailure(f"{archive.name} holds {total} bytes uncompressed but only {free} are free: "
                             "raise the processing job's volume size or upload the dataset unpacked")
        for member, target in members:
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
