"""ECR for the model build: push a step image only when its content-hash tag is not in its repository yet.

Tags are immutable content hashes (``pipelines.images``), so a tag that exists already holds exactly this content:
building it again would be wasted minutes, and pushing it would fail on an immutable repository. A missing
repository is created the way the project wants all of them: scan on push, immutable tags, KMS encryption.
The build is not done here: ``build`` is a seam (the CLI runs ``yolo-pipeline images build --push``, whose push is
``push`` below: a Docker login with an ECR token, then ``docker push``).
AWS pages: "DescribeImages", "CreateRepository" and "GetAuthorizationToken" in the Amazon ECR API Reference.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipelines.images import docker

__all__ = ["PublishedImage", "ensure_repository", "login", "publish", "push", "tag_exists"]


@dataclass(frozen=True)
class PublishedImage:
    name: str
    repository: str
    tag: str
    action: str  # "skipped" (the tag was there) or "pushed"


def ensure_repository(client: Any, repository: str, kms_key: str | None = None) -> bool:
    """Create ``repository`` when missing (scan on push, immutable tags, KMS); True when it was created."""
    try:
        client.describe_repositories(repositoryNames=[repository])
        return False
    except client.exceptions.RepositoryNotFoundException:
        pass
    encryption: dict[str, str] = {"encryptionType": "KMS"}
    if kms_key:
        encryption["kmsKey"] = kms_key
    client.create_repository(repositoryName=repository, imageTagMutability="IMMUTABLE",
                             imageScanningConfiguration={"scanOnPush": True}, encryptionConfiguration=encryption)
    return True


def tag_exists(client: Any, repository: str, tag: str) -> bool:
    """Whether ``repository:tag`` is in ECR (``describe-images``; ImageNotFoundException means no)."""
    try:
        client.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
        return True
    except client.exceptions.ImageNotFoundException:
        return False


def publish(client: Any, images: dict[str, tuple[str, str]], build: Callable[[str, str], None],
            kms_key: str | None = None) -> list[PublishedImage]:
    """For each ``name -> (repository, tag)``: ensure the repository, then ``build(name, tag)`` (build and push)
    only when the tag is not there. Returns what was done per image, in the given order."""
    done = []
    for name, (repository, tag) in images.items():
        ensure_repository(client, repository, kms_key)
        if tag_exists(client, repository, tag):
            done.append(PublishedImage(name, repository, tag, "skipped"))
            continue
        build(name, tag)
        done.append(PublishedImage(name, repository, tag, "pushed"))
    return done


def login(client: Any, registry: str) -> None:
    """``docker login`` to ``registry`` with a token from ECR GetAuthorizationToken (valid 12 hours).

    Raises:
        docker.DockerError: the Docker client refused the credentials.
    """
    data = client.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    docker.run("login", "--username", user, "--password-stdin", registry, input_text=password, timeout=120)


def push(client: Any, uri: str) -> str:
    """Log in to the URI's registry and push the built image; return the URI.

    Raises:
        ValueError: the URI names no registry (``<registry>/<repository>:<tag>``).
        docker.DockerError: the push failed.
    """
    registry, slash, _ = uri.partition("/")
    if not slash or "." not in registry:
        raise ValueError(f"cannot push {uri!r}: it names no registry; pass --registry "
                         "<account>.dkr.ecr.<region>.amazonaws.com")
    login(client, registry)
    docker.run("push", uri, timeout=3600)
    return uri
