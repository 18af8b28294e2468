"""Helpers of the training-image tests: jobs rooted in a temporary /opt/ml, and a guard that records network use.

The guard is a ``sitecustomize`` module put first on the job's PYTHONPATH: every Internet socket connect and every
DNS lookup in the job's process is written to a log and refused. A job that made no attempt leaves no log.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.containers.conftest import REPO, TINY_TRAINING, place_tree, run_entrypoint, write_training_config

METRICS_LINE = re.compile(r"^\[metrics\] epoch=(\d+) precision=([0-9.]+) recall=([0-9.]+) "
                          r"mAP50=([0-9.]+) mAP50-95=([0-9.]+)$")

GUARD = '''
import os, socket, traceback

def _record(what):
    with open(os.environ["NETWORK_LOG"], "a") as log:
        log.write(what + "\\n" + "".join(traceback.format_stack(limit=12)) + "\\n")

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex

def _guarded(original):
    def attempt(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _record(f"connect {address!r}")
            raise OSError("network access is blocked in this test")
        return original(self, address)
    return attempt

def _getaddrinfo(host, *args, **kwargs):
    _record(f"getaddrinfo {host!r}")
    raise socket.gaierror("network access is blocked in this test")

socket.socket.connect = _guarded(_connect)
socket.socket.connect_ex = _guarded(_connect_ex)
socket.getaddrinfo = _getaddrinfo
'''


@dataclass(frozen=True)
class NetworkGuard:
    env: dict[str, str]
    log: Path

    def attempts(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@pytest.fixture
def network_guard(tmp_path) -> NetworkGuard:
    """Environment for ``run_entrypoint`` that blocks and records network attempts (``.attempts()``)."""
    guard_dir = tmp_path / "network-guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "network.log"
    return NetworkGuard({"PYTHONPATH": f"{guard_dir}:{REPO}", "NETWORK_LOG": str(log)}, log)


def training_job(opt_ml: Path, splits: Path, hyperparameters: dict[str, str], channels=("train", "val")) -> Path:
    """A TrainYOLO job's /opt/ml with the given channels (copies of PrepareData's splits) and hyperparameters."""
    for channel in channels:
        place_tree(splits / channel, opt_ml / "input" / "data" / channel)
    write_training_config(opt_ml, hyperparameters)
    return opt_ml


def metric_lines(stdout: str) -> list[tuple[int, float, float, float, float]]:
    """The ``[metrics]`` lines of a job's log, parsed; any malformed one fails the test."""
    parsed = []
    for line in stdout.splitlines():
        if line.startswith("[metrics]"):
            match = METRICS_LINE.match(line)
            assert match, f"malformed metrics line: {line!r}"
            parsed.append((int(match[1]), *(float(value) for value in match.groups()[1:])))
    return parsed


def quick(**overrides: str) -> dict[str, str]:
    """The session's tiny training settings with a few changed (fewer epochs where the score does not matter)."""
    return {**TINY_TRAINING, **overrides}


SHORT_EPOCHS = "2"  # the from-YAML model below and the fine-tuning test train this many epochs


@pytest.fixture(scope="session")
def weak_model(prepared_splits, tmp_path_factory) -> Path:
    """/opt/ml/model of a TrainYOLO job trained from the YAML for only SHORT_EPOCHS epochs: a worse model than
    ``trained_model`` (a baseline to beat, and what fine-tuning is measured against)."""
    opt_ml = training_job(tmp_path_factory.mktemp("train-weak") / "opt_ml", prepared_splits,
                          quick(epochs=SHORT_EPOCHS))
    result = run_entrypoint("containers.training.train", ["train"], opt_ml)
    assert result.returncode == 0, result.stderr[-4000:]
    return opt_ml / "model"


def model_card(model_dir: Path) -> dict:
    return json.loads((model_dir / "model.json").read_text())


def model_archive(model_dir, target, card_changes=None):
    """A model.tar.gz as SageMaker makes it from TrainYOLO's /opt/ml/model (model.json optionally edited)."""
    card = {**json.loads((model_dir / "model.json").read_text()), **(card_changes or {})}
    with tarfile.open(target, "w:gz") as tar:
        tar.add(model_dir / "best.pt", arcname="best.pt")
        info = tarfile.TarInfo("model.json")
        data = json.dumps(card).encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return target
