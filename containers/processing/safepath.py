"""The input root as a boundary: nothing outside it is read, whatever names, symlinks or references say.

Every path a reader takes from the data (a file name in a label list, a COCO ``file_name``, a manifest
``source-ref``, a symlink found in the tree) goes through here first. A path is usable only when its real location
(symlinks resolved) is a regular file inside the real input root; anything else is refused with a reason and never
opened.
"""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class OutsideInput(ValueError):
    """A path that may not be read; the message is the reason given in the report."""


@dataclass(frozen=True)
class Refused:
    """Something found while walking the input that is not read, and why."""

    name: str
    reason: str


class InputRoot:
    """The folder a job may read from."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.real = self.root.resolve()
        self._prefix = str(self.root).rstrip("/") + "/"

    def relative(self, path: Path | str) -> str:
        """``path`` as it is named in the report: relative to the root, POSIX separators."""
        text, prefix = str(path), self._prefix
        if text.startswith(prefix) and os.sep == "/":  # the common case, without relpath's two abspath calls
            return text[len(prefix):]
        return Path(os.path.relpath(path, self.root)).as_posix()

    def join(self, base: Path, name: str) -> Path:
        """``base / name`` for a relative name taken from the data.

        Raises:
            OutsideInput: the name is absolute, climbs with ``..`` or holds a NUL or a backslash drive.
        """
        posix = PurePosixPath(name.replace("\\", "/"))
        if not name or "\0" in name or posix.is_absolute() or ".." in posix.parts or ":" in "".join(posix.parts[:1]):
            raise OutsideInput(f"path {excerpt(name)} is not a plain relative path inside the input: not read")
        return base.joinpath(*posix.parts)

    def file(self, path: Path) -> Path:
        """``path``, once it is known to be a file that may be read.

        Raises:
            OutsideInput: it does not exist, is not a regular file, or it (or a folder on its way) is a symlink
                that leads outside the input root.
        """
        try:
            mode = path.lstat().st_mode
        except OSError:
            raise OutsideInput(f"{self.relative(path)} not found") from None
        inside = self._inside(path.resolve()) if stat.S_ISLNK(mode) else self._folder_inside(path.parent)
        if not inside:
            raise OutsideInput(f"{self.relative(path)} is a symbolic link (or lies under one) that points outside "
                               "the input: not read")
        try:
            mode = path.stat().st_mode
        except OSError:
            raise OutsideInput(f"{self.relative(path)} is a broken symbolic link") from None
        if not stat.S_ISREG(mode):
            raise OutsideInput(f"{self.relative(path)} is not a regular file: not read")
        return path

    def _inside(self, real: Path) -> bool:
        return real.is_relative_to(self.real)

    def _folder_inside(self, folder: Path) -> bool:
        """Whether a folder's real location is inside the root (images share few folders: resolved once per
        process, not once per file)."""
        return self._inside(_real_folder(folder))

    def optional_file(self, path: Path) -> Path | None:
        """As :meth:`file`, but None when nothing is at ``path`` (a label file that an image may lack)."""
        try:
            path.lstat()
        except FileNotFoundError:
            return None
        return self.file(path)

    def exists(self, path: Path) -> bool:
        """Whether ``path`` is a readable file inside the root (a refused path counts as absent)."""
        try:
            self.file(path)
        except OutsideInput:
            return False
        return True

    def walk(self, folder: Path) -> tuple[list[str], list[Refused]]:
        """The regular files under ``folder`` (sorted in Path order, symlinks inside the root allowed) as path
        strings, and what was refused. Strings: label files are only compared, and readers make Paths only for the
        images.

        Symlinked folders are never descended (they would leave the root or count files twice), symlinks that point
        outside and special files (devices, FIFOs, sockets) are refused. Hidden files and folders are skipped. A
        plain file in a folder already inside the root is taken on its directory entry's type alone (no stat): the
        walk never leaves the root, so only links and odd entries need :meth:`file`'s checks.
        """
        files: list[str] = []
        refused: list[Refused] = []
        if not folder.resolve().is_relative_to(self.real):
            return [], [Refused(self.relative(folder), "symbolic link to a folder outside the input: not read")]
        pending = [str(folder)]
        while pending:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        files.append(entry.path)
                    elif entry.is_symlink() and entry.is_dir():
                        refused.append(Refused(self.relative(Path(entry.path)), "symbolic link to a folder: not "
                                               "followed (put the files themselves in the input)"))
                    else:
                        try:
                            files.append(os.fspath(self.file(Path(entry.path))))
                        except OutsideInput as exc:
                            refused.append(Refused(self.relative(Path(entry.path)), str(exc)))
        # Path's order (component by component), sorted as strings: Path objects compare slowly in Python
        return sorted(files, key=path_order), sorted(refused, key=lambda r: r.name)


def path_order(path: str) -> list[str]:
    """Sort key that orders path strings as their Paths compare: component by component."""
    return path.split(os.sep)


@functools.lru_cache(maxsize=4096)
def _real_folder(folder: Path) -> Path:
    return folder.resolve()


def printable(text: str, limit: int = 200) -> str:
    """Untrusted text cut to ``limit`` characters, control characters replaced: safe in a report or a log line."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return clean + ("..." if len(text) > limit else "")


def excerpt(text: str, limit: int = 40) -> str:
    """A bounded, printable quotation of untrusted text for reports and messages (never the raw contents)."""
    return repr(printable(text, limit))


def shown(value: object, limit: int = 40) -> str:
    """A value taken from a JSON document, for a message: numbers as they are, anything else as a bounded excerpt."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return excerpt(value if isinstance(value, str) else repr(value), limit)
