"""Build and lock logic of the step images, without a Docker engine: content hashes, the build context check, the
`images` command's refusals."""

from __future__ import annotations

import shutil

import pytest

from pipelines import image_build, images
from pipelines.cli.main import main
from pipelines.images import IMAGE_NAMES
from tests.containers.conftest import REPO


@pytest.fixture
def repo_copy(tmp_path, monkeypatch):
    """A copy of the repository's containers/ that the image functions read instead of the real one."""
    shutil.copytree(REPO / "containers", tmp_path / "containers",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    monkeypatch.setattr(images, "containers_dir", lambda: tmp_path / "containers")
    images.content_hash.cache_clear()
    yield tmp_path
    images.content_hash.cache_clear()


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_the_content_hash_covers_the_lock_file_and_the_dockerfile(repo_copy, name):
    before = images.content_hash(name)
    with (repo_copy / "containers" / name / "requirements.lock").open("a") as lock:
        lock.write("six==1.17.0\n")
    images.content_hash.cache_clear()
    after_lock = images.content_hash(name)
    (repo_copy / "containers" / name / "Dockerfile").write_text("ARG BASE_IMAGE=x\nFROM ${BASE_IMAGE}\n")
    images.content_hash.cache_clear()
    assert len({before, after_lock, images.content_hash(name)}) == 3


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_the_context_is_what_the_ignore_file_lets_through(name):
    files = sorted(path for path, _ in image_build.context_files(name))
    assert f"containers/{name}/Dockerfile" in files and "containers/common/contract.py" in files
    assert all(path.startswith((f"containers/{name}/", "containers/common/", "containers/__init__.py"))
               for path in files), files
    assert not any("__pycache__" in path or path.endswith(".pyc") for path in files)


def test_a_big_file_in_the_context_is_refused_by_name(repo_copy):
    (repo_copy / ".venv").mkdir()
    (repo_copy / ".venv" / "huge.bin").write_bytes(b"\0" * 3_000_000)  # outside the context: never counted
    (repo_copy / "containers" / "processing" / "weights.bin").write_bytes(b"\0" * 2_000_000)
    assert image_build.check_context("processing", limit_mb=2.5) > 2_000_000
    with pytest.raises(image_build.ContextTooLarge,
                       match=r"2 MB, above the 1\.5 MB limit; biggest: containers/processing/weights.bin \(2.0 MB\)"):
        image_build.check_context("processing", limit_mb=1.5)


def test_images_build_refuses_a_context_above_the_limit_before_calling_docker(repo_copy, monkeypatch, capsys):
    (repo_copy / "containers" / "processing" / "weights.bin").write_bytes(b"\0" * 2_000_000)
    monkeypatch.setenv(image_build.CONTEXT_ENV, "1")
    monkeypatch.setenv("DOCKER", "/nonexistent/docker")  # a docker call would fail differently
    assert main(["images", "build", "--image", "processing"]) == 2
    assert "containers/processing/weights.bin" in capsys.readouterr().err


def test_images_push_needs_a_registry(capsys):
    assert main(["images", "build", "--push", "--image", "processing"]) == 2
    assert "--push needs a registry" in capsys.readouterr().err
