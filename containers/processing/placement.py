"""The output's split folders, filled while worker processes are still decoding.

Putting an image into a split takes a rename, its label file a write (decoding.Result says why the parent writes
it), and the kernel runs renames between folders one at a time (measured: two threads renaming gain nothing). Done
after decoding, this was PrepareData's largest step that did not run on every core: 0.09 s of 0.36 s per 5000
images. So where workers decode, the parent places each usable image as its result arrives, while the workers
decode the next ones, under the split and name it keeps unless a decision on the whole dataset changes them: the
export's split or its content split, and its own stem unless another input image has the same one.
:meth:`SplitFolders.settle` then applies the final decisions: it removes the files of dropped duplicates, moves the
few items whose split or name changed (an empty split filled, a stem left to one image once the others were
rejected) and places what is still staged. The output is the same as placing everything after decoding, which is
what happens in one process.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from containers.processing.dataset import Item
from containers.processing.splitting import SPLITS, keeps_export_splits, output_name, shared_stems, split_for


class SplitFolders:
    """``out/{train,val,test}/`` with ``images/`` and ``labels/``: an earlier run's files removed, then filled."""

    def __init__(self, out: Path, candidates: list[Item], train_ratio: float, val_ratio: float, resplit: bool):
        """``candidates``: the items that may be placed (not yet rejected); their splits and stems give the
        provisional places."""
        self._out = out
        self._from_export = keeps_export_splits(candidates, resplit)
        self._shared = shared_stems(candidates)
        self._ratios = (train_ratio, val_ratio)
        self._folders = {split: (f"{out / split / 'images'}/", f"{out / split / 'labels'}/") for split in SPLITS}
        self._placed: dict[str, tuple[Item, str, str]] = {}  # item name -> (item, split, stem) where it is
        self._taken: set[tuple[str, str]] = set()  # (split, case-folded stem) in use
        self.discard()
        for split in SPLITS:
            for sub in ("images", "labels"):
                (out / split / sub).mkdir(parents=True)

    def __enter__(self) -> SplitFolders:
        return self

    def __exit__(self, failure: type[BaseException] | None, *_: object) -> None:
        if failure is not None:
            self.discard()  # a failed job leaves no half-filled splits behind

    def place(self, item: Item) -> None:
        """Put a usable item, just decoded, where it most likely stays; it stays staged when that place is taken
        (a duplicate of an image already placed), and :meth:`settle` decides."""
        self._move(item, split_for(item, self._from_export, *self._ratios), output_name(item, self._shared))

    def settle(self, kept: list[Item], splits: dict[str, str], stems: dict[str, str]) -> None:
        """Leave exactly ``kept`` in the folders, each at ``splits``/``stems`` (by item name): placed items that
        were dropped are removed, the others moved where they belong."""
        final = {item.name: (splits[item.name], stems[item.name]) for item in kept}
        for item, split, stem in list(self._placed.values()):
            if final.get(item.name) != (split, stem):
                self._unplace(item, split, stem, keep=item.name in final)
        for item in kept:
            if item.name not in self._placed and not self._move(item, *final[item.name]):
                raise RuntimeError(f"{item.name}: two kept items share the output name {final[item.name]}")

    def discard(self) -> None:
        """Remove the split folders (an earlier run's, or this run's when the job fails)."""
        for split in SPLITS:
            shutil.rmtree(self._out / split, ignore_errors=True)

    def _targets(self, item: Item, split: str, stem: str) -> tuple[str, str]:
        """The image file and the label file of ``item`` at ``split``/``stem``."""
        images, labels = self._folders[split]
        return f"{images}{stem}{item.image.suffix}", f"{labels}{stem}.txt"

    def _move(self, item: Item, split: str, stem: str) -> bool:
        spot = (split, stem.lower())
        if spot in self._taken:
            return False
        assert item.staged is not None, f"{item.name}: a usable item is staged when it is decoded"
        image, label = self._targets(item, split, stem)
        _rename(item.staged, image)
        _write_new(label, item.yolo_labels.encode())
        self._taken.add(spot)
        self._placed[item.name] = (item, split, stem)
        return True

    def _unplace(self, item: Item, split: str, stem: str, keep: bool) -> None:
        """Back to its staged image (``keep``), or removed."""
        assert item.staged is not None, f"{item.name}: a placed item was staged"
        image, label = self._targets(item, split, stem)
        if keep:
            _rename(image, item.staged)
        else:
            os.remove(image)
        os.remove(label)
        self._taken.discard((split, stem.lower()))
        del self._placed[item.name]


def _rename(source: str, target: str) -> None:
    """A rename where it can be; a copy where each output folder is a mount of its own, as SageMaker Processing may
    mount every output's LocalPath (a rename across them fails with EXDEV)."""
    try:
        os.rename(source, target)  # shutil.move would stat the target first: one syscall more per file
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(source, target)


def _write_new(path: str, data: bytes) -> None:
    """Write a file that must not exist yet (never over another item's file), without the fstat, ioctl and lseek
    that open() adds for its file object (strace)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
    finally:
        os.close(descriptor)
