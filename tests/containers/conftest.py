"""Fixtures that run the real step entrypoints as processes, each job rooted in its own temporary /opt/ml.

The chain sample data -> PrepareData -> TrainYOLO is built once per test session and shared (read-only) by the
processing, training, evaluation and inference tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Small and fast on 2 CPU cores; the values the notes measured to learn in seconds.
TINY_TRAINING = {
    "model_variant": "yolo11n",
    "epochs": "12",
    "imgsz": "128",
    "batch": "4",
    "optimizer": "AdamW",
    "lr0": "0.004",
    "warmup_epochs": "1",
    "workers": "0",
    "patience": "50",
    "seed": "0",
}


@dataclass
class JobResult:
    returncode: int
    stdout: str
    stderr: str
    opt_ml: Path

    @property
    def failure(self) -> str | None:
        path = self.opt_ml / "output" / "failure"
        return path.read_text().strip() if path.exists() else None


def run_entrypoint(module: str, args: list[str], opt_ml: Path, env: dict[str, str] | None = None,
                   timeout: float = 600) -> JobResult:
    """Run ``python -m <module> <args>`` as a job whose /opt/ml is ``opt_ml``."""
    full_env = {**os.environ, "OPT_ML_ROOT": str(opt_ml), "PYTHONPATH": str(REPO), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    return JobResult(proc.returncode, proc.stdout, proc.stderr, opt_ml)


def place_tree(src: Path, dst: Path) -> None:
    """Mount a folder into a job (a copy, as SageMaker downloads inputs)."""
    shutil.copytree(src, dst, dirs_exist_ok=True)


def write_training_config(opt_ml: Path, hyperparameters: dict[str, str]) -> None:
    config = opt_ml / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))


@pytest.fixture(scope="session")
def sample_raw(tmp_path_factory):
    """The synthetic sample dataset in each input format: ``sample_raw("yolo"|"ground-truth"|"coco") -> Path``."""
    from pipelines.sample_data import generate

    made: dict[str, Path] = {}

    def get(fmt: str = "yolo") -> Path:
        if fmt not in made:
            made[fmt] = generate(tmp_path_factory.mktemp(f"raw-{fmt}"), fmt=fmt)
        return made[fmt]

    return get


@pytest.fixture(scope="session")
def prepared_splits(sample_raw, tmp_path_factory) -> Path:
    """PrepareData's output folder (train/ val/ test/ report/) for the YOLO-format sample data."""
    opt_ml = tmp_path_factory.mktemp("prepare") / "opt_ml"
    place_tree(sample_raw("yolo"), opt_ml / "processing" / "input" / "raw")
    result = run_entrypoint("containers.processing.prepare_data", [], opt_ml)
    assert result.returncode == 0, result.stderr
    return opt_ml / "processing" / "output"


@pytest.fixture(scope="session")
def trained_model(prepared_splits, tmp_path_factory) -> Path:
    """A finished TrainYOLO job's /opt/ml/model (best.pt, best.onnx, model.json) on the sample data."""
    opt_ml = tmp_path_factory.mktemp("train") / "opt_ml"
    for channel in ("train", "val"):
        place_tree(prepared_splits / channel, opt_ml / "input" / "data" / channel)
    write_training_config(opt_ml, TINY_TRAINING)
    result = run_entrypoint("containers.training.train", ["train"], opt_ml)
    assert result.returncode == 0, result.stderr[-4000:]
    return opt_ml / "model"
