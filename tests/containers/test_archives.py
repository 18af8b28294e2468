"""Unpacking an untrusted model.tar.gz: hostile members refused before anything is written, on any Python 3.11."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from containers.common.archives import UnsafeArchive, extract_tar
from containers.common.contract import JobFailure
from containers.training.weights import extract_model_archive


def make_archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o4755  # a setuid bit is never kept
    return info


def good_archive(path: Path) -> Path:
    return make_archive(path, [(member(".", tarfile.DIRTYPE), None), (member("./best.pt"), b"weights"),
                               (member("model.json"), b"{}"), (member("extra", tarfile.DIRTYPE), None),
                               (member("extra/results.csv"), b"a,b\n")])


def test_a_model_archive_is_unpacked_with_plain_permissions(tmp_path):
    target = extract_tar(good_archive(tmp_path / "model.tar.gz"), tmp_path / "out")
    assert (target / "best.pt").read_bytes() == b"weights"
    assert (target / "extra" / "results.csv").read_text() == "a,b\n"
    assert not (target / "best.pt").stat().st_mode & 0o7000


HOSTILE = {
    "absolute path": [(member("/tmp/evil.pt"), b"x")],
    "parent folder": [(member("../evil.pt"), b"x")],
    "nested parent": [(member("a/../../evil.pt"), b"x")],
    "symlink out": [(member("best.pt", tarfile.SYMTYPE, "/etc/passwd"), None)],
    "symlink then write through it": [(member("d", tarfile.SYMTYPE, "/tmp"), None), (member("d/evil.pt"), b"x")],
    "hard link": [(member("best.pt", tarfile.LNKTYPE, "/etc/passwd"), None)],
    "device": [(member("best.pt", tarfile.CHRTYPE), None)],
    "fifo": [(member("best.pt", tarfile.FIFOTYPE), None)],
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_archive_is_refused_before_anything_is_written(tmp_path, case):
    archive = make_archive(tmp_path / "model.tar.gz", [(member("aaa-first.txt"), b"ok"), *HOSTILE[case]])
    with pytest.raises(UnsafeArchive, match="only regular files and folders|outside the archive root"):
        extract_tar(archive, tmp_path / "work" / "out")
    assert not (tmp_path / "work").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tar.gz"]


def test_evaluate_reports_a_hostile_archive_as_the_job_failure(tmp_path):
    archive = make_archive(tmp_path / "model.tar.gz", [(member("../best.pt"), b"x")])
    with pytest.raises(JobFailure, match=r"cannot unpack .*model.tar.gz: member '../best.pt' has a path outside"):
        extract_model_archive(archive, tmp_path / "model", "input 'model'")


def test_evaluate_unpacks_without_the_extraction_filters_of_python_3_11_4(tmp_path, monkeypatch):
    """Debian's python3 is 3.11.2: its ``extractall`` has no ``filter`` argument (and no safe default)."""
    def extractall_of_3_11_2(self, path=".", members=None, *, numeric_owner=False):
        raise AssertionError("extractall must not be used: it extracts links and absolute paths before 3.11.4")

    monkeypatch.setattr(tarfile.TarFile, "extractall", extractall_of_3_11_2)
    target = extract_model_archive(good_archive(tmp_path / "model.tar.gz"), tmp_path / "model", "input 'model'")
    assert (target / "best.pt").is_file()
