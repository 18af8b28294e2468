"""A disk that fills up during ``run --local``: one line, the execution recorded as Failed, no partial folders.

The state directory is a real 3.5 MiB tmpfs, mounted in a private mount namespace (``unshare``, no root needed where
user namespaces are enabled), so the run meets a real ENOSPC while it uploads a job's outputs to the store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.local.conftest import precompile, with_fakes

REPOSITORY = Path(__file__).resolve().parents[2]
# mount a tmpfs on the state dir, seed it, run the CLI, then show what the run left (the mount dies with the shell)
_SCRIPT = r'''
mount -t tmpfs -o size="$SIZE" tmpfs "$STATE" || exit 99
cp -a "$SEED"/. "$STATE"/
"$PYTHON" -m pipelines.cli.main run --local --state-dir "$STATE" --param InputDataUri="$RAW" 2>"$STATE/../stderr"
echo "rc=$?"
echo "partial: $(find "$STATE" -name '.*.incoming-*' -o -name '*.tmp' -o -path '*/jobs/*' -prune | tr '\n' ' ')"
cat "$STATE"/executions/*/execution.json
'''


def _can_mount() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-rm", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _can_mount(),
                    reason="needs Linux mount namespaces (unshare -rm) to make a small real filesystem")
def test_a_full_disk_ends_in_one_line_with_the_execution_failed_and_no_partial_folders(
        factory_definition, fake_scripts, state_dir, tmp_path):
    raw = tmp_path / "raw-data"
    (raw / "images").mkdir(parents=True)
    (raw / "images" / "big.jpg").write_bytes(os.urandom(512 * 1024))  # the fake job copies it into 4 splits
    seed = state_dir
    precompile(seed, with_fakes(factory_definition, fake_scripts))
    mounted = tmp_path / "mounted" / "state"
    mounted.mkdir(parents=True)
    used = sum(f.stat().st_size for f in seed.rglob("*") if f.is_file())
    # room for the input copy, the 4 splits and about one of their uploads, not all 4
    size = used + (512 + 4 * 512 + 700) * 1024
    shown = subprocess.run(["unshare", "-rm", "sh", "-c", _SCRIPT], cwd=REPOSITORY, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPOSITORY), "SIZE": str(size), "STATE": str(mounted),
                                "SEED": str(seed), "PYTHON": sys.executable, "RAW": str(raw)}, timeout=300)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    stderr = (tmp_path / "mounted" / "stderr").read_text()
    assert lines[0] == "rc=1", stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: no space left on device while writing {mounted}/store/"), stderr
    assert lines[1] == "partial: ", lines[1]
    record = json.loads("\n".join(lines[2:]))
    assert record["status"] == "Failed" and record["failure_reason"] == last.removeprefix("error: ")
    assert [(s["name"], s["status"]) for s in record["steps"]] == [("PrepareData", "Failed")]
