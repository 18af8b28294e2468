"""Fixtures of the local-mode tests: the factory's real definition, and copies of it whose jobs run small fake
entrypoints (so that the executor's wiring is tested in seconds; the end-to-end test runs the real images).

The fakes follow the /opt/ml contract of containers/README.md: they read ``OPT_ML_ROOT``, write the outputs the real
steps write (enough of them for the downstream steps and the gate) and leave a reason in ``output/failure``.
"""

from __future__ import annotations

import copy
import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pipelines.config import load_config
from pipelines.definition import iter_steps

# The optional model inputs point at a folder holding only the no-model placeholder (in the store, `run --local` puts
# it at their default URI; these runs do not go through it).
NO_MODEL_DIR = str(Path(__file__).parent / "no_model")
SMALL_PARAMETERS = {"Epochs": 3, "ImageSize": 128, "BatchSize": 4, "Optimizer": "AdamW", "LearningRate": 0.004,
                    "WarmupEpochs": 1.0, "MapThreshold": 0.3, "PretrainedWeightsUri": NO_MODEL_DIR,
                    "BaselineModelUri": NO_MODEL_DIR}

_FAKE_PREPARE = '''
import os, shutil, sys, time
from pathlib import Path
root = Path(os.environ["OPT_ML_ROOT"])
mode = sys.argv[sys.argv.index("--mode") + 1] if "--mode" in sys.argv else "ok"
print("fake prepare", sys.argv[1:], flush=True)
if mode == "fail":
    (root / "output").mkdir(parents=True, exist_ok=True)
    (root / "output" / "failure").write_text("invalid dataset: 3 of 4 label files reference class 7\\n")
    sys.exit(1)
if mode == "crash":
    print("something went badly wrong", flush=True)
    sys.exit(3)
if mode == "sleep":
    print(f"sleeping, pid {os.getpid()}", flush=True)
    time.sleep(60)
raw = root / "processing" / "input" / "raw"
for split in ("train", "val", "test", "report"):
    out = root / "processing" / "output" / split
    shutil.copytree(raw, out, dirs_exist_ok=True)
    (out / "split.txt").write_text(split)
'''

_FAKE_TRAIN = '''
import json, os, sys
from pathlib import Path
root = Path(os.environ["OPT_ML_ROOT"])
hp = json.loads((root / "input" / "config" / "hyperparameters.json").read_text())
assert all(isinstance(v, str) for v in hp.values()), hp
channels = sorted(p.name for p in (root / "input" / "data").iterdir())
print("fake train", sys.argv[1:], channels, "tracking:", os.environ.get("MLFLOW_TRACKING_URI"), flush=True)
if os.environ.get("FAKE_MODE") == "fail":
    (root / "output" / "failure").write_text("CUDA out of memory (fake)\\n")
    sys.exit(1)
if os.environ.get("FAKE_MODE") == "sleep":  # a long training job: an MLflow run open, data in a temporary folder
    import tempfile, time
    from mlflow import MlflowClient
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name(os.environ["MLFLOW_EXPERIMENT_NAME"]).experiment_id
    run = client.create_run(experiment, tags={"sagemaker.training_job_name": os.environ["TRAINING_JOB_NAME"]})
    data = tempfile.mkdtemp(prefix="yolo-data-")
    print(f"training, pid {os.getpid()}, run {run.info.run_id}, data {data}", flush=True)
    time.sleep(60)
for epoch in range(1, int(hp["epochs"]) + 1):
    print(f"[metrics] epoch={epoch} precision=0.5 recall=0.4 mAP50={0.1 * epoch:.5f} mAP50-95={0.05 * epoch:.5f}",
          flush=True)
(root / "model").mkdir(parents=True, exist_ok=True)
(root / "model" / "model.json").write_text(json.dumps({"hyperparameters": hp, "channels": channels,
                                                        "job": os.environ["TRAINING_JOB_NAME"]}))
(root / "model" / "best.onnx").write_bytes(b"not really onnx")
(root / "checkpoints" / "run").mkdir(parents=True, exist_ok=True)
(root / "checkpoints" / "run" / "last.pt").write_text("checkpoint")
'''

_FAKE_EVALUATE = '''
import json, os, sys, tarfile
from pathlib import Path
root = Path(os.environ["OPT_ML_ROOT"])
value = float(sys.argv[sys.argv.index("--map") + 1])
with tarfile.open(root / "processing" / "model" / "model.tar.gz") as archive:
    card = json.loads(archive.extractfile("model.json").read())
assert (root / "processing" / "test" / "split.txt").read_text() == "test"
metric = lambda v: {"value": v}
out = root / "processing" / "evaluation"
out.mkdir(parents=True, exist_ok=True)
(out / "evaluation.json").write_text(json.dumps({
    "object_detection_metrics": {"mAP50_95": metric(value), "mAP50": metric(0.7), "precision": metric(0.6),
                                 "recall": metric(0.5), "per_class": {}},
    "baseline": {"present": False, "minimum_mAP50_95": 0.0}, "dataset": {"images": 4, "model_job": card["job"]}}))
'''


@pytest.fixture(scope="session")
def factory_definition() -> dict[str, Any]:
    """The definition the factory builds from the default configuration (the very JSON ``upsert`` sends)."""
    from pipelines.factory import build_pipeline

    return json.loads(build_pipeline(load_config(environ={})).definition())


@pytest.fixture(scope="session")
def fake_scripts(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fakes")
    scripts = {}
    for name, source in (("prepare", _FAKE_PREPARE), ("train", _FAKE_TRAIN), ("evaluate", _FAKE_EVALUATE)):
        scripts[name] = folder / f"fake_{name}.py"
        scripts[name].write_text(textwrap.dedent(source))
    return scripts


def steps_by_name(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step, _, _ in iter_steps(definition["Steps"])}


def with_fakes(definition: dict[str, Any], scripts: dict[str, Path], *, prepare: str = "ok", train: str = "ok",
               map_value: float = 0.42) -> dict[str, Any]:
    """A copy of ``definition`` whose three jobs run the fake entrypoints (same images, arguments and wiring)."""
    fake = copy.deepcopy(definition)
    steps = steps_by_name(fake)
    prepare_app = steps["PrepareData"]["Arguments"]["AppSpecification"]
    prepare_app["ContainerEntrypoint"] = ["python3", str(scripts["prepare"])]
    prepare_app["ContainerArguments"] = [*prepare_app.get("ContainerArguments", []), "--mode", prepare]
    training = steps["TrainYOLO"]["Arguments"]
    training["AlgorithmSpecification"]["ContainerEntrypoint"] = ["python3", str(scripts["train"])]
    training["Environment"] = {"FAKE_MODE": train}
    evaluation_app = steps["EvaluateYOLO"]["Arguments"]["AppSpecification"]
    evaluation_app["ContainerEntrypoint"] = ["python3", str(scripts["evaluate"])]
    evaluation_app["ContainerArguments"] = ["--map", str(map_value)]
    return fake


def precompile(state: Path, definition: dict[str, Any]) -> None:
    """Put ``definition`` where ``run --local`` keeps the compiled definition of the default configuration, so the
    CLI runs it (and skips the SDK)."""
    from pipelines.compiled import definition_key

    definitions = state / "definitions"
    definitions.mkdir(parents=True, exist_ok=True)
    (definitions / f"{definition_key(load_config())}.json").write_text(json.dumps(definition))


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory) -> Path:
    """An MLflow SQLite store with its schema created (the migration takes seconds; done once per session)."""
    from pipelines.local import StateDir
    from pipelines.local.tracking import client

    state = StateDir.at(tmp_path_factory.mktemp("mlflow-template"))
    client(state).search_experiments()
    return state.mlflow_db


@pytest.fixture
def state_dir(tmp_path, empty_mlflow_db) -> Path:
    """A fresh state directory (its MLflow store already migrated)."""
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy(empty_mlflow_db, state / empty_mlflow_db.name)
    return state


@pytest.fixture
def raw_dir(tmp_path) -> Path:
    """A stand-in raw dataset (the fakes only copy it)."""
    raw = tmp_path / "raw"
    (raw / "images").mkdir(parents=True)
    (raw / "images" / "a.jpg").write_bytes(b"jpeg")
    (raw / "data.yaml").write_text("names: [vehicle]\n")
    return raw
