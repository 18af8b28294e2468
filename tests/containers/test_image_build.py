"""Build and lock logic of the step images, without a Docker engine: content hashes, the build context check, the
`images` command's refusals."""

from __future__ import annotations

import base64
import shutil

import pytest

from pipelines import images
from pipelines.cli.main import main
from pipelines.images import IMAGE_NAMES
from pipelines.images import build as image_build
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


@pytest.fixture
def recording_docker(tmp_path, monkeypatch):
    """A docker client that records its arguments and stdin (the engine is not what these tests check)."""
    log = tmp_path / "docker.log"
    client = tmp_path / "docker"
    client.write_text(f'#!/bin/sh\necho "DOCKER_BUILDKIT=$DOCKER_BUILDKIT $*" >> {log}\n'
                      f'if [ "$1" = login ]; then cat >> {log}; echo >> {log}; fi\n')
    client.chmod(0o755)
    monkeypatch.setenv("DOCKER", str(client))
    return log


def test_push_logs_in_with_the_ecr_token_then_pushes(recording_docker):
    import boto3
    from moto import mock_aws

    from pipelines.aws import ecr

    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/yolo-pipelines-processing:abc123"
    with mock_aws():
        client = boto3.client("ecr", region_name="us-east-1")
        token = client.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        assert ecr.push(client, uri) == uri
    user, password = base64.b64decode(token).decode().split(":", 1)
    assert recording_docker.read_text().splitlines() == [
        f"DOCKER_BUILDKIT=1 login --username {user} --password-stdin {uri.split('/')[0]}", password,
        f"DOCKER_BUILDKIT=1 push {uri}"]


def test_push_refuses_a_uri_without_a_registry(recording_docker):
    from pipelines.aws import ecr

    with pytest.raises(ValueError, match="names no registry; pass --registry"):
        ecr.push(object(), "yolo-pipelines-processing:abc123")
    assert not recording_docker.exists()


def test_build_passes_buildkit_the_ca_secret_the_ignore_file_and_the_content_hash_tag(recording_docker, tmp_path,
                                                                                      monkeypatch, capsys):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("PIP_CERT", str(ca))
    assert main(["images", "build", "--image", "training", "--registry", "r.example.com", "--base", "b:1"]) == 0
    uri = f"r.example.com/yolo-pipelines-training:{images.content_hash('training')}"
    assert capsys.readouterr().out.split() == [uri]
    [line] = recording_docker.read_text().splitlines()
    assert line == (f"DOCKER_BUILDKIT=1 build -f {REPO}/containers/training/Dockerfile -t {uri} "
                    f"--build-arg BASE_IMAGE=b:1 --secret id=pip_cert,src={ca} --quiet {REPO}")
