"""Lock files of the step images: every Python package an image installs, pinned, resolved in the image's base.

Each image folder has ``requirements.txt`` (what the image needs, edited by hand) and ``requirements.lock`` (the full
set pip resolved from it, generated: ``yolo-pipeline images lock [--image NAME]``). The Dockerfile installs the lock
with ``--no-deps``, so a rebuild installs exactly the same packages, and a lock change changes the image's content
hash (it lives in the image folder). The resolution runs in the base image itself (its Python, its platform, and the
packages it already has, such as torch in the training base, are left out of the lock).
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.images import IMAGE_NAMES, default_base, docker, image_dir

__all__ = ["LOCK_FILE", "SPEC_FILE", "lock", "read_lock"]

SPEC_FILE = "requirements.txt"
LOCK_FILE = "requirements.lock"
# Resolved as dependencies but never installed: ultralytics requires opencv-python, whose GUI build pulls ~350 MB of
# mesa and llvm through libGL; the training image installs opencv-python-headless (the same cv2 module) instead.
_NEVER_INSTALLED = {"training": ("opencv-python",)}
_SEPARATOR = "----- after -----"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _freeze(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[_normalise(name.strip())] = version.strip()
    return pins


def read_lock(name: str) -> dict[str, str]:
    """The pins of an image's lock file: {normalised name: version}."""
    return _freeze((image_dir(name) / LOCK_FILE).read_text())


def lock(name: str, base: str | None = None) -> Path:
    """Resolve ``requirements.txt`` in the image's base (default: its Dockerfile's BASE_IMAGE) and write the lock.

    Raises:
        docker.DockerError: the base cannot be run or pip cannot resolve the requirements.
    """
    if name not in IMAGE_NAMES:
        raise ValueError(f"unknown image {name!r}; expected one of {', '.join(IMAGE_NAMES)}")
    folder, base = image_dir(name), base or default_base(name)
    mounts = ["-v", f"{folder}:/in:ro"]
    bundle = docker.ca_bundle()
    if bundle:
        mounts += ["-v", f"{bundle}:/run/secrets/pip_cert:ro", "-e", "PIP_CERT=/run/secrets/pip_cert"]
    script = (f"set -e; python3 -m pip freeze; echo '{_SEPARATOR}'; "
              f"python3 -m pip install --no-cache-dir --quiet --disable-pip-version-check -r /in/{SPEC_FILE} >&2; "
              "python3 -m pip freeze")
    output = docker.run("run", "--rm", *mounts, "--entrypoint", "sh", base, "-c", script, timeout=3600)
    before, after = (_freeze(part) for part in output.split(_SEPARATOR, 1))
    never = {_normalise(n) for n in _NEVER_INSTALLED.get(name, ())}
    pins = {n: v for n, v in after.items() if before.get(n) != v and n not in never}
    header = [f"# The {name} image's Python packages, all pinned: generated from {SPEC_FILE} in {base} by",
              f"# `yolo-pipeline images lock --image {name}`; do not edit (the Dockerfile installs it with --no-deps)."]
    if never:
        header.append(f"# Left out on purpose (see pipelines/images/lock.py): {', '.join(sorted(never))}.")
    path = folder / LOCK_FILE
    path.write_text("\n".join([*header, *(f"{n}=={v}" for n, v in sorted(pins.items()))]) + "\n")
    return path
