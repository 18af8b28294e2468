"""The three step images built and run as SageMaker runs them, with ``--network none`` throughout.

Run with ``pytest -m container tests/containers/test_step_images.py`` as root with a Docker engine (``make
container-test``); the default run deselects it. Images come from ``yolo-pipeline images build`` on locally made
bases (tests/containers/engine.py); the entrypoints, arguments, local paths and hyperparameters come from the
compiled pipeline definition, so the definition and the images cannot drift apart.

SageMaker contracts exercised (AWS docs): "How Amazon SageMaker Processing Runs Your Processing Container Image"
(ContainerEntrypoint/ContainerArguments, LocalPaths), "byoc-metadata" (/opt/ml/output/message -> ExitMessage),
"How Amazon SageMaker Provides Training Information" (``<image> train``, /opt/ml/input/config/*.json, all
hyperparameters strings), "Use checkpoints in Amazon SageMaker" (/opt/ml/checkpoints, SIGTERM on stop with 120 s
before SIGKILL), "Use Your Own Inference Code with Hosting Services" (``<image> serve``, 8080, /ping, /invocations).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import tarfile
import time
from pathlib import Path

import jsonschema
import pytest

from pipelines.config import load_config
from pipelines.definition import resolve_parameters
from pipelines.images.docker import docker_binary
from pipelines.local.expressions import Scope, evaluate, render
from tests.containers.conftest import REPO, place_tree
from tests.containers.engine import BASES, built_image, docker, image_size

pytestmark = pytest.mark.container

MB = 1_000_000
TARGETS_MB = {"processing": 350, "inference": 500}
TRAINING_OVER_BASE_MB = 800
# Pipeline parameters of a tiny training run (the hyperparameters are then taken from the definition).
TINY = {"ModelVariant": "yolo11n", "Epochs": 3, "ImageSize": 128, "BatchSize": 4, "Optimizer": "AdamW",
        "LearningRate": 0.004, "WarmupEpochs": 1.0, "DataLoaderWorkers": 0}


@pytest.fixture(scope="session")
def definition() -> dict:
    from pipelines.factory import build_pipeline

    return json.loads(build_pipeline(load_config()).definition())


def step(definition: dict, name: str) -> dict:
    return next(s for s in definition["Steps"] if s["Name"] == name)["Arguments"]


def no_model(folder: Path) -> Path:
    """An optional model input left at its default: the no-model prefix, holding the one object `start` puts there."""
    from pipelines.weights import NO_MODEL, NO_MODEL_TEXT

    folder.mkdir(parents=True, exist_ok=True)
    (folder / NO_MODEL).write_text(NO_MODEL_TEXT)
    return folder


def processing_run(definition: dict, name: str, mounts: dict[str, Path], opt_ml_output: Path) -> tuple[int, str]:
    """Run a processing step's image as SageMaker does: its ImageUri, ContainerEntrypoint and ContainerArguments,
    each input and output at the LocalPath the definition gives (``mounts``: input/output name -> host folder)."""
    arguments = step(definition, name)
    app = arguments["AppSpecification"]
    paths = {i["InputName"]: i["S3Input"]["LocalPath"] for i in arguments.get("ProcessingInputs", [])}
    paths |= {o["OutputName"]: o["S3Output"]["LocalPath"] for o in arguments["ProcessingOutputConfig"]["Outputs"]}
    volumes = [arg for key, host in mounts.items() for arg in ("-v", f"{host}:{paths[key]}")]
    entrypoint, *rest = app["ContainerEntrypoint"]
    scope = Scope(parameters=resolve_parameters(definition, TINY), execution={})  # parameters in the arguments
    container_arguments = [render(evaluate(value, scope)) for value in app.get("ContainerArguments", [])]
    result = docker("run", "--rm", "--network", "none", *volumes, "-v", f"{opt_ml_output}:/opt/ml/output",
                    "--entrypoint", entrypoint, app["ImageUri"], *rest, *container_arguments,
                    check=False, timeout=1800)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="session")
def images(definition) -> dict[str, str]:
    """All three images, built once per session; their URIs are the definition's."""
    built = {name: built_image(name) for name in ("processing", "training", "inference")}
    assert built["processing"] == step(definition, "PrepareData")["AppSpecification"]["ImageUri"]
    assert built["training"] == step(definition, "TrainYOLO")["AlgorithmSpecification"]["TrainingImage"]
    assert built["training"] == step(definition, "EvaluateYOLO")["AppSpecification"]["ImageUri"]
    return built


def test_image_sizes_meet_their_targets(images):
    sizes = {name: image_size(uri) for name, uri in images.items()}
    base = image_size(BASES["training"])
    print("\nimage sizes: " + ", ".join(f"{name} {size / MB:.0f} MB" for name, size in sizes.items())
          + f" (training base {BASES['training']} {base / MB:.0f} MB, +{(sizes['training'] - base) / MB:.0f} MB)")
    for name, target in TARGETS_MB.items():
        assert sizes[name] <= target * MB, f"{name} is {sizes[name] / MB:.0f} MB, target {target} MB"
    assert sizes["training"] - base <= TRAINING_OVER_BASE_MB * MB


def test_no_gui_opencv_and_every_package_from_the_lock(images):
    probe = docker("run", "--rm", "--network", "none", "--entrypoint", "python3", images["training"], "-c",
                   "import cv2, importlib.metadata as m; print(cv2.__version__); "
                   "print(sorted(d.metadata['Name'].lower() for d in m.distributions()))")
    packages = probe.stdout.splitlines()[1]
    assert "'opencv-python-headless'" in packages and "'opencv-python'" not in packages
    mesa = docker("run", "--rm", "--network", "none", "--entrypoint", "sh", images["training"], "-c",
                  "ls /usr/lib/x86_64-linux-gnu | grep -c -E '^lib(GL|LLVM)' || true")
    assert mesa.stdout.strip() == "0"


@pytest.fixture(scope="session")
def prepared(images, definition, sample_raw, tmp_path_factory) -> Path:
    """PrepareData in its image on the sample data: the output folder (train/ val/ test/ report/)."""
    work = tmp_path_factory.mktemp("prepare-image")
    outputs = {name: work / "output" / name for name in ("train", "val", "test", "report")}
    code, log = processing_run(definition, "PrepareData", {"raw": sample_raw("yolo"), **outputs}, work / "opt_ml")
    assert code == 0, log[-3000:]
    return work / "output"


def test_prepare_data_writes_the_splits(prepared):
    for split in ("train", "val", "test"):
        assert any((prepared / split / "images").iterdir())
        assert (prepared / split / "data.yaml").is_file()
    assert json.loads((prepared / "report" / "data_report.json").read_text())


def test_a_failing_prepare_data_leaves_its_reason_where_processing_surfaces_it(images, definition, tmp_path):
    raw = tmp_path / "raw"
    (raw / "images").mkdir(parents=True)
    (raw / "images" / "broken.jpg").write_bytes(b"not a jpeg")
    outputs = {name: tmp_path / "output" / name for name in ("train", "val", "test", "report")}
    code, log = processing_run(definition, "PrepareData", {"raw": raw, **outputs}, tmp_path / "opt_ml")
    assert code != 0, log[-3000:]
    message = (tmp_path / "opt_ml" / "message").read_text()  # DescribeProcessingJob's ExitMessage (byoc-metadata)
    assert message.strip() and message.count("\n") == 1 and len(message.encode()) <= 1025
    assert message.strip() in log


def training_config(definition: dict, opt_ml: Path) -> None:
    """/opt/ml/input/config as SageMaker writes it: hyperparameters (strings, the definition's expressions
    resolved for the TINY parameters), resourceconfig.json and inputdataconfig.json."""
    arguments = step(definition, "TrainYOLO")
    scope = Scope(parameters=resolve_parameters(definition, TINY), execution={})
    hyperparameters = {key: render(evaluate(value, scope)) for key, value in arguments["HyperParameters"].items()}
    channels = {c["ChannelName"]: {"ContentType": c.get("ContentType", "application/x-image"),
                                   "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
                                   "RecordWrapperType": "None"} for c in arguments["InputDataConfig"]}
    config = opt_ml / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0",
         "current_group_name": "homogeneousCluster", "current_instance_type": "ml.m5.xlarge",
         "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": "ml.m5.xlarge",
                              "hosts": ["algo-1"]}]}))


def training_container(image: str, opt_ml: Path, *options: str) -> list[str]:
    """``docker run`` of a training job: the same job name each time (a spot restart keeps it)."""
    return ["run", *options, "--network", "none", "--shm-size", "1g", "-e", "TRAINING_JOB_NAME=container-test",
            "-v", f"{opt_ml}:/opt/ml", image, "train"]


@pytest.fixture(scope="session")
def training_job(images, definition, prepared, tmp_path_factory) -> dict:
    """TrainYOLO in its image, stopped with SIGTERM after its first epoch, then run again (a spot restart)."""
    opt_ml = tmp_path_factory.mktemp("train-image") / "opt_ml"
    for channel in (c["ChannelName"] for c in step(definition, "TrainYOLO")["InputDataConfig"]):
        if channel == "weights":  # PretrainedWeightsUri left empty: train from the YAML
            no_model(opt_ml / "input" / "data" / channel)
        else:
            place_tree(prepared / channel, opt_ml / "input" / "data" / channel)
    training_config(definition, opt_ml)
    name = f"train-test-{time.monotonic_ns()}"
    process = subprocess.Popen([docker_binary(), *training_container(images["training"], opt_ml, "--name", name)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first_run = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            first_run.append(line)
            if line.startswith("[metrics] epoch=1 "):
                break
        # docker stop: SIGTERM to PID 1, SIGKILL (exit 137) if the container still runs 10 s later.
        stop = docker("stop", "-t", "10", name, check=False)
        first_run.append(process.stdout.read())
        process.wait(timeout=60)
        exit_code = int(docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout)
    finally:
        process.kill()
        docker("rm", "-f", name, check=False)
    rerun = docker(*training_container(images["training"], opt_ml, "--rm"), check=False, timeout=3600)
    return {"opt_ml": opt_ml, "stop": stop, "exit_code": exit_code, "first_log": "".join(first_run),
            "rerun": rerun}


def test_sigterm_stops_training_promptly_and_the_rerun_resumes(training_job):
    log = training_job["first_log"]
    assert training_job["stop"].returncode == 0
    assert training_job["exit_code"] == 143, f"exit {training_job['exit_code']} (137: SIGKILLed after 10 s)\n{log}"
    assert "Stopped by SIGTERM" in log and "Traceback" not in log
    assert not (training_job["opt_ml"] / "output" / "failure").exists()  # stopped is not failed
    rerun = training_job["rerun"]
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Resuming the interrupted run" in rerun.stdout + rerun.stderr
    epochs = re.findall(r"^\[metrics\] epoch=(\d+) ", rerun.stdout, re.MULTILINE)
    assert epochs and int(epochs[0]) >= 2 and epochs[-1] == str(TINY["Epochs"]), epochs


@pytest.fixture(scope="session")
def model_archive(training_job, tmp_path_factory) -> Path:
    """model.tar.gz as SageMaker makes it from /opt/ml/model (files at the archive root)."""
    archive = tmp_path_factory.mktemp("model-archive") / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted((training_job["opt_ml"] / "model").iterdir()):
            tar.add(path, arcname=path.name)
    return archive


def test_the_model_archive_holds_the_model_files(model_archive):
    with tarfile.open(model_archive) as tar:
        names = set(tar.getnames())
        card = json.loads(tar.extractfile("model.json").read())  # type: ignore[union-attr]
    assert {"best.pt", "best.onnx", "model.json"} <= names
    assert card["epochs"] == TINY["Epochs"] and card["imgsz"] == TINY["ImageSize"]
    assert card["training_job_name"] == "container-test"


def test_evaluate_in_the_training_image_writes_a_schema_valid_evaluation(images, definition, model_archive,
                                                                         prepared, tmp_path):
    """EvaluateYOLO on the image's Python (Debian's 3.11.2 here: no tarfile extraction filters)."""
    version = docker("run", "--rm", "--network", "none", "--entrypoint", "python3", images["training"], "-c",
                     "import sys; print(sys.version.split()[0])").stdout.strip()
    print(f"\ntraining image python {version}")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.tar.gz").write_bytes(model_archive.read_bytes())
    mounts = {"model": model_dir, "test": prepared / "test", "baseline": no_model(tmp_path / "baseline"),
              "evaluation": tmp_path / "evaluation"}
    code, log = processing_run(definition, "EvaluateYOLO", mounts, tmp_path / "opt_ml")
    assert code == 0, log[-3000:]
    evaluation = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    jsonschema.validate(evaluation, json.loads((REPO / "containers/training/evaluation.schema.json").read_text()))
    assert evaluation["dataset"]["images"] == len(list((prepared / "test" / "images").iterdir()))


CLIENT = """
import base64, json, sys, time, urllib.request
image = base64.b64decode(sys.argv[1])
for _ in range(240):
    try:
        ping = urllib.request.urlopen("http://127.0.0.1:8080/ping", timeout=5)
        break
    except OSError:
        time.sleep(0.5)
request = urllib.request.Request("http://127.0.0.1:8080/invocations", data=image, method="POST",
                                 headers={"Content-Type": "image/jpeg"})
reply = urllib.request.urlopen(request, timeout=60)
print(json.dumps({"ping": ping.status, "status": reply.status, "body": json.loads(reply.read())}))
"""


def test_serve_on_a_read_only_root_filesystem(images, training_job, prepared):
    """Hosting as SageMaker runs it: ``<image> serve``, the model in /opt/ml/model, here with a read-only root and a
    tmpfs /tmp; the HTTP calls come from inside the container (no network)."""
    name = f"serve-test-{time.monotonic_ns()}"
    docker("run", "-d", "--name", name, "--network", "none", "--read-only", "--tmpfs", "/tmp",
           "-e", "MODEL_SERVER_WORKERS=1", "-v", f"{training_job['opt_ml'] / 'model'}:/opt/ml/model:ro",
           images["inference"], "serve")
    try:
        jpeg = sorted((prepared / "test" / "images").iterdir())[0].read_bytes()
        result = docker("exec", name, "python3", "-c", CLIENT, base64.b64encode(jpeg).decode(), check=False,
                        timeout=180)
        assert result.returncode == 0, result.stderr + docker("logs", name, check=False).stderr[-3000:]
        reply = json.loads(result.stdout)
        assert reply["ping"] == 200 and reply["status"] == 200
        assert isinstance(reply["body"]["predictions"], list)
        docker("stop", "-t", "20", name)
        assert docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        docker("rm", "-f", name, check=False)
