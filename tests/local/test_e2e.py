"""End to end: the factory's real definition executed locally on the sample data with the real step images' code.

One module-scoped sequence on one state directory: a first run (every step, the model registered, the staging
endpoint serving it), the same run again (the jobs served from the cache), and a run whose MapThreshold the model
cannot reach (it ends in the FailStep and registers nothing). About a minute and a half on 2 CPU cores, almost all of
it the first run's 12 training epochs.
"""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest

from pipelines.cli.model_inputs import settle_locally
from pipelines.config import load_config
from pipelines.local import (
    LocalRegistry,
    LocalStore,
    StateDir,
    get_endpoint,
    list_endpoints,
    list_executions,
    run_local,
    stop_endpoint,
)
from pipelines.local.events import StepEpoch
from pipelines.sample_data import CLASS_NAMES, generate

pytestmark = pytest.mark.slow

INPUT_URI = "s3://local-samples/aerial/raw/"
# What `yolo-pipeline run --local` runs with (the config's local.parameters), on the sample data in the store.
PARAMETERS = {**load_config(environ={}).local.parameters, "InputDataUri": INPUT_URI}
JOBS = ("PrepareData", "TrainYOLO", "EvaluateYOLO")
ALL_STEPS = [*JOBS, "CheckQuality", "CheckRegression", "RegisterYOLO", "CheckDeployStaging", "CreateStagingModel",
             "StagingEndpointConfig", "StagingEndpoint"]
GROUP = "yolo11-detection"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """The definition, a state directory with the sample data in its store, and the record and events of the first
    run. Endpoints are stopped at the end."""
    from pipelines.factory import build_pipeline

    config = load_config(environ={})
    definition = build_pipeline(config).definition()
    state = StateDir.at(tmp_path_factory.mktemp("e2e") / "state")
    LocalStore(state.store).put(generate(tmp_path_factory.mktemp("sample") / "raw"), INPUT_URI)
    settle_locally(definition, PARAMETERS, state_dir=str(state.root), warm_start=False)  # as run --local: no-model
    events: list = []
    try:
        record = run_local(definition, PARAMETERS, state, pipeline_name=config.pipeline_name, on_event=events.append)
        yield {"definition": definition, "state": state, "first": record, "events": events,
               "name": config.pipeline_name}
    finally:
        for endpoint in list_endpoints(state):
            stop_endpoint(state, endpoint.name)


@pytest.fixture(scope="module")
def cached(pipeline):
    return run_local(pipeline["definition"], PARAMETERS, pipeline["state"], pipeline_name=pipeline["name"])


@pytest.fixture(scope="module")
def below_threshold(pipeline, cached):
    return run_local(pipeline["definition"], {**PARAMETERS, "MapThreshold": 0.99}, pipeline["state"],
                     pipeline_name=pipeline["name"])


def evaluation_of(pipeline, record) -> dict:
    uri = record.step("EvaluateYOLO").metadata["ProcessingJob"]["Outputs"]["evaluation"]
    return LocalStore(pipeline["state"].store).read_json(f"{uri}/evaluation.json")


def invoke(url: str, body: bytes, content_type: str) -> dict:
    request = urllib.request.Request(f"{url}/invocations", data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_every_step_succeeds_and_training_reports_its_epochs(pipeline):
    record = pipeline["first"]
    assert record.status == "Succeeded", record.failure_reason
    assert [(s.name, s.status, s.cache_hit) for s in record.steps] == [(n, "Succeeded", False) for n in ALL_STEPS]
    epochs = [e for e in pipeline["events"] if isinstance(e, StepEpoch)]
    assert [(e.epoch, e.epochs) for e in epochs] == [(n, 12) for n in range(1, 13)]
    assert set(epochs[-1].metrics) == {"precision", "recall", "mAP50", "mAP50-95"}
    final = record.step("TrainYOLO").metadata["TrainingJob"]["FinalMetrics"]
    assert final == epochs[-1].metrics  # the definition's MetricDefinitions scrape the same lines


def test_the_model_is_registered_with_its_evaluation(pipeline):
    record = pipeline["first"]
    evaluation = evaluation_of(pipeline, record)
    measured = evaluation["object_detection_metrics"]["mAP50_95"]["value"]
    assert measured >= PARAMETERS["MapThreshold"]
    gate = record.step("CheckQuality").metadata["Condition"]["Evaluated"][0]
    assert (gate["LeftValue"], gate["RightValue"], gate["Holds"]) == (measured, PARAMETERS["MapThreshold"], True)
    version = LocalRegistry(pipeline["state"]).get(GROUP, 1)
    assert version.approval_status == "PendingManualApproval"
    assert version.metrics["mAP50_95"] == measured
    assert version.execution_id == record.execution_id
    assert version.model_data_url == record.step("TrainYOLO").metadata["TrainingJob"]["ModelArtifacts"]
    assert version.model_path.stat().st_size > 1_000_000  # best.pt + best.onnx + model.json


def test_training_is_tracked_in_the_local_mlflow_store(pipeline):
    registry = LocalRegistry(pipeline["state"])
    version = registry.get(GROUP, 1)
    run = registry.client.get_run(version.run_id)  # the training job's own run
    assert run.data.tags["sagemaker.training_job_name"] == \
        pipeline["first"].step("TrainYOLO").metadata["TrainingJob"]["Name"]
    assert len(registry.client.get_metric_history(version.run_id, "mAP50-95")) == 12
    assert run.data.metrics["test_mAP50_95"] == version.metrics["mAP50_95"]


def test_the_staging_endpoint_answers_invocations(pipeline):
    endpoint = get_endpoint(pipeline["state"], "yolo11-detection-staging")
    assert endpoint.status == "InService"
    assert pipeline["first"].step("StagingEndpoint").metadata["Endpoint"]["Url"] == endpoint.url
    store = LocalStore(pipeline["state"].store)
    test_split = pipeline["first"].step("PrepareData").metadata["ProcessingJob"]["Outputs"]["test"]  # per execution
    images = sorted(store.path(f"{test_split.rstrip('/')}/images").glob("*.jpg"))
    assert images
    answers = [invoke(endpoint.url, image.read_bytes(), "image/jpeg") for image in images]
    detections = [p for answer in answers for p in answer["predictions"]]
    assert detections, answers
    assert {d["class_name"] for d in detections} <= set(CLASS_NAMES)
    assert set(detections[0]["box"]) == {"x1", "y1", "x2", "y2"}
    as_json = invoke(endpoint.url, json.dumps({"image": base64.b64encode(images[0].read_bytes()).decode()}).encode(),
                     "application/json")
    assert as_json == answers[0]


def test_a_second_run_is_served_from_the_cache(pipeline, cached):
    assert cached.status == "Succeeded", cached.failure_reason
    assert [(s.name, s.cache_hit) for s in cached.steps] == [(n, n in JOBS) for n in ALL_STEPS]
    first = pipeline["first"]
    assert cached.step("TrainYOLO").metadata["TrainingJob"] == first.step("TrainYOLO").metadata["TrainingJob"]
    assert cached.step("RegisterYOLO").metadata["RegisterModel"]["Version"] == 2
    assert cached.step("StagingEndpoint").metadata["Endpoint"]["Pid"] == \
        first.step("StagingEndpoint").metadata["Endpoint"]["Pid"]  # same model: the running server is kept
    assert get_endpoint(pipeline["state"], "yolo11-detection-staging").execution_id == cached.execution_id


def test_a_run_below_the_threshold_ends_in_the_fail_step_and_registers_nothing(pipeline, below_threshold):
    record = below_threshold
    measured = evaluation_of(pipeline, record)["object_detection_metrics"]["mAP50_95"]["value"]
    assert record.status == "Failed"
    assert [s.name for s in record.steps] == [*JOBS, "CheckQuality", "QualityGateFailed"]
    message = (f"Quality gate failed: mAP50-95 on the test split is {measured}, below MapThreshold 0.99; "
               "the model was not registered.")
    assert record.step("QualityGateFailed").failure_reason == message
    assert record.failure_reason == f"QualityGateFailed: {message}"
    assert [v.version for v in LocalRegistry(pipeline["state"]).list_versions(GROUP)] == [2, 1]
    assert [r.status for r in list_executions(pipeline["state"])] == ["Failed", "Succeeded", "Succeeded"]


def test_the_cli_runs_the_same_definition_and_summarizes(pipeline, below_threshold, capsys):
    """`yolo-pipeline run --local` compiles the same definition (so its jobs come from the cache), then reports the
    gate, the registered version and one real detection from the endpoint."""
    from pipelines.cli.main import main

    state = ["--state-dir", str(pipeline["state"].root)]
    assert main(["run", "--local", *state, "--param", f"InputDataUri={INPUT_URI}", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "Succeeded"
    assert {s["name"]: s["cache_hit"] for s in summary["steps"] if s["name"] in JOBS} == dict.fromkeys(JOBS, True)
    assert summary["quality_gate"]["Outcome"] == "True"
    assert summary["registered"]["version"] == 3 and summary["registered"]["approval_status"] == \
        "PendingManualApproval"
    detection = summary["endpoint"]["example"]["first"]
    assert detection["class_name"] in CLASS_NAMES and 0 < detection["confidence"] <= 1

    assert main(["run", *state]) == 2
    assert "`run` executes locally: add --local" in capsys.readouterr().err
    assert main(["status", "--local", *state]) == 0
    assert f"execution  {summary['execution_id']}" in capsys.readouterr().out
