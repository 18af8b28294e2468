"""The Docker client as the image commands call it: BuildKit on, the host's CA bundle for pip inside builds.

``pip install`` in a build (or a lock run) must trust the same CAs as this host, which may sit behind a
TLS-intercepting proxy: the bundle goes in as the BuildKit secret ``pip_cert`` (the Dockerfiles read
``/run/secrets/pip_cert``), so no layer keeps it.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path

__all__ = ["DockerError", "ca_bundle", "docker_binary", "run"]

CA_ENV = "PIP_CERT"


class DockerError(RuntimeError):
    """A docker command failed; the message names the command and ends with its output."""


def docker_binary() -> str:
    """``$DOCKER`` or ``docker`` on PATH. Debian's 20.10 client (/usr/bin/docker) has BuildKit built in, a newer
    client needs the buildx plugin, so /usr/bin/docker is preferred when a newer one without buildx comes first."""
    if os.environ.get("DOCKER"):
        return os.environ["DOCKER"]
    if Path("/usr/bin/docker").is_file():
        return "/usr/bin/docker"
    return shutil.which("docker") or "docker"


def ca_bundle() -> Path | None:
    """The CA bundle pip should trust in a build: ``$PIP_CERT``, ``$SSL_CERT_FILE`` or the system's, if any."""
    for candidate in (os.environ.get(CA_ENV), os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().cafile,
                      "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def run(*args: str, cwd: Path | None = None, capture: bool = True, timeout: float | None = None,
        input_text: str | None = None) -> str:
    """Run ``docker ARGS`` with BuildKit enabled; return its stdout.

    Raises:
        DockerError: the command failed or no docker client is installed.
    """
    command = [docker_binary(), *args]
    try:
        result = subprocess.run(command, cwd=cwd, env={**os.environ, "DOCKER_BUILDKIT": "1"}, text=True,
                                capture_output=capture, timeout=timeout, input=input_text)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DockerError(f"`docker {' '.join(args[:2])}` could not run: {exc}") from exc
    if result.returncode != 0:
        output = ((result.stdout or "") + (result.stderr or ""))[-3000:] if capture else "(see above)"
        raise DockerError(f"`docker {' '.join(args[:3])} ...` failed with exit code {result.returncode}: {output}")
    return result.stdout or ""
