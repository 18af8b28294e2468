"""The executor on the factory's definition with fake job entrypoints: order, branches, properties flowing between
steps, registration, and failure handling (failing and crashing jobs, missing inputs, time limits, unsupported
constructs). Each run is a few seconds of real subprocesses."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import tarfile
import threading

import pytest

from pipelines.definition import ParameterError, resolve_parameters
from pipelines.local import LocalRegistry, LocalStore, StateDir, get_execution, list_executions, run_local
from pipelines.local.events import ExecutionFinished, ExecutionStarted, StepEpoch, StepFinished, StepStarted
from tests.local.conftest import SMALL_PARAMETERS, steps_by_name, with_fakes

GATE_BRANCH = ["PrepareData", "TrainYOLO", "EvaluateYOLO", "CheckQuality", "CheckRegression"]


def run(definition, state, raw_dir, **parameters):
    events = []
    record = run_local(definition, {**SMALL_PARAMETERS, "InputDataUri": str(raw_dir), **parameters}, state,
                       pipeline_name="yolo11-detection", on_event=events.append)
    return record, events


def test_a_passing_run_registers_the_model_with_its_metrics(factory_definition, fake_scripts, raw_dir, state_dir):
    state = state_dir
    record, events = run(with_fakes(factory_definition, fake_scripts, map_value=0.42), state, raw_dir)

    assert record.status == "Succeeded", record.failure_reason
    assert [s.name for s in record.steps] == [*GATE_BRANCH, "RegisterYOLO", "CheckDeployStaging"]
    assert all(s.status == "Succeeded" and not s.cache_hit for s in record.steps)
    assert record.step("CheckQuality").metadata["Condition"] == {"Outcome": "True", "Evaluated": [
        {"Type": "GreaterThanOrEqualTo", "LeftValue": 0.42, "RightValue": 0.3, "Holds": True}]}
    assert record.step("CheckDeployStaging").metadata["Condition"]["Outcome"] == "False"  # DeployStaging default

    training = record.step("TrainYOLO").metadata["TrainingJob"]
    assert training["Name"] == f"trainyolo-{record.execution_id}"
    assert training["ModelArtifacts"] == (f"s3://yolo-pipelines-artifacts/yolo11-detection/executions/"
                                          f"{record.execution_id}/models/trainyolo-{record.execution_id}/output/"
                                          "model.tar.gz")
    assert training["FinalMetrics"] == {"precision": 0.5, "recall": 0.4, "mAP50": 0.3, "mAP50-95": 0.15}
    store = LocalStore(StateDir.at(state).store)
    with tarfile.open(store.path(training["ModelArtifacts"])) as archive:
        assert sorted(archive.getnames()) == ["best.onnx", "model.json"]
        card = json.loads(archive.extractfile("model.json").read())
    assert card["channels"] == ["train", "val", "weights"]  # weights: the no-model placeholder by default
    assert card["hyperparameters"]["epochs"] == "3" and card["hyperparameters"]["lr0"] == "0.004"
    prepared_by = record.step("PrepareData").metadata["ProcessingJob"]["Name"]
    assert store.path(f"s3://yolo-pipelines-artifacts/yolo11-detection/checkpoints/{prepared_by}/run/last.pt").is_file()

    epochs = [e for e in events if isinstance(e, StepEpoch)]
    assert [(e.step, e.epoch, e.epochs) for e in epochs] == [("TrainYOLO", n, 3) for n in (1, 2, 3)]
    assert epochs[-1].metrics == {"precision": 0.5, "recall": 0.4, "mAP50": 0.3, "mAP50-95": 0.15}
    assert isinstance(events[0], ExecutionStarted) and isinstance(events[-1], ExecutionFinished)
    assert events[0].steps[:6] == (*GATE_BRANCH, "RegisterYOLO")
    assert [e.record.name for e in events if isinstance(e, StepStarted)] == [s.name for s in record.steps]
    assert len([e for e in events if isinstance(e, StepFinished)]) == len(record.steps)

    versions = LocalRegistry(state).list_versions("yolo11-detection")
    assert [v.version for v in versions] == [1]
    version = versions[0]
    assert version.approval_status == "PendingManualApproval"
    assert version.metrics == {"mAP50_95": 0.42, "mAP50": 0.7, "precision": 0.6, "recall": 0.5}
    assert version.execution_id == record.execution_id
    assert version.model_data_url == training["ModelArtifacts"]
    assert set(version.image_tags) == {"processing", "training", "inference"}
    assert version.tags["InferenceImage"].startswith("yolo-pipelines-inference:")
    assert version.model_path.is_file() and json.loads(version.evaluation_path.read_text())["dataset"]["images"] == 4
    assert record.step("RegisterYOLO").metadata["RegisterModel"]["Arn"] == version.arn

    log = (StateDir.at(state).execution_dir(record.execution_id) / "logs" / "TrainYOLO.log").read_text()
    assert "tracking: sqlite:///" in log and "[metrics] epoch=3" in log
    assert get_execution(state).to_dict() == record.to_dict()


def test_a_failing_job_fails_the_execution_with_its_reason_and_nothing_downstream_runs(
        factory_definition, fake_scripts, raw_dir, state_dir):
    record, events = run(with_fakes(factory_definition, fake_scripts, prepare="fail"), state_dir, raw_dir)
    assert record.status == "Failed"
    assert [(s.name, s.status) for s in record.steps] == [("PrepareData", "Failed")]
    reason = "invalid dataset: 3 of 4 label files reference class 7"
    assert record.step("PrepareData").failure_reason == reason
    assert record.failure_reason == f"PrepareData: {reason}"
    assert "fake prepare" in open(record.step("PrepareData").log_path).read()
    assert events[-1].record.status == "Failed"
    assert list_executions(state_dir)[0].failure_reason == record.failure_reason


def test_a_crash_without_a_failure_file_reports_the_exit_code_and_last_output(
        factory_definition, fake_scripts, raw_dir, state_dir):
    record, _ = run(with_fakes(factory_definition, fake_scripts, prepare="crash"), state_dir, raw_dir)
    step = record.step("PrepareData")
    assert step.status == "Failed"
    assert step.failure_reason.startswith("the job exited with code 3 and left no /opt/ml/output/failure; "
                                          "last output: 'something went badly wrong' (log: ")
    assert (state_dir / "executions" / record.execution_id / "jobs" / "PrepareData" / "opt_ml").is_dir()


@pytest.mark.parametrize(("uri", "message"), [
    ("s3://yolo-pipelines-artifacts/nothing/here/", "input 'raw': s3://yolo-pipelines-artifacts/nothing/here/ is "
                                                   "not in the local object store"),
    ("/definitely/not/a/dataset", "input 'raw': /definitely/not/a/dataset does not exist"),
])
def test_a_missing_input_uri_fails_the_step_naming_the_input(factory_definition, fake_scripts, raw_dir, state_dir,
                                                             uri, message):
    record, _ = run(with_fakes(factory_definition, fake_scripts), state_dir, raw_dir, InputDataUri=uri)
    assert record.status == "Failed"
    assert record.step("PrepareData").failure_reason.startswith(message)
    assert record.step("TrainYOLO") is None


def test_an_input_in_the_store_is_read_by_its_s3_uri(factory_definition, fake_scripts, raw_dir, state_dir):
    state = StateDir.at(state_dir)
    LocalStore(state.store).put(raw_dir, "s3://my-data/datasets/raw")
    record, _ = run(with_fakes(factory_definition, fake_scripts), state, raw_dir, InputDataUri="s3://my-data/datasets/raw/")
    assert record.status == "Succeeded", record.failure_reason


def test_a_job_past_its_max_runtime_is_stopped(factory_definition, fake_scripts, raw_dir, state_dir):
    definition = with_fakes(factory_definition, fake_scripts, prepare="sleep")
    steps_by_name(definition)["PrepareData"]["Arguments"]["StoppingCondition"] = {"MaxRuntimeInSeconds": 1}
    record, _ = run(definition, state_dir, raw_dir)
    assert record.step("PrepareData").failure_reason.startswith(
        "the job ran past MaxRuntimeInSeconds=1 and was stopped")


def test_a_training_failure_keeps_finished_outputs_and_the_next_run_resumes_from_the_cache(
        factory_definition, fake_scripts, raw_dir, state_dir):
    state = state_dir
    failed, _ = run(with_fakes(factory_definition, fake_scripts, train="fail"), state, raw_dir)
    assert [(s.name, s.status) for s in failed.steps] == [("PrepareData", "Succeeded"), ("TrainYOLO", "Failed")]
    assert failed.failure_reason == "TrainYOLO: CUDA out of memory (fake)"
    assert LocalStore(StateDir.at(state).store).path(
        f"s3://yolo-pipelines-artifacts/yolo11-detection/executions/{failed.execution_id}/data/test").is_dir()

    resumed, _ = run(with_fakes(factory_definition, fake_scripts), state, raw_dir)
    assert resumed.status == "Succeeded"
    assert resumed.step("PrepareData").cache_hit
    assert resumed.step("PrepareData").metadata["CacheHitResult"] == {"SourceExecutionId": failed.execution_id}
    assert not resumed.step("TrainYOLO").cache_hit


def test_the_else_branch_runs_the_fail_step(factory_definition, fake_scripts, raw_dir, state_dir):
    record, _ = run(with_fakes(factory_definition, fake_scripts, map_value=0.1), state_dir, raw_dir)
    assert [(s.name, s.status) for s in record.steps][-2:] == [("CheckQuality", "Succeeded"),
                                                               ("QualityGateFailed", "Failed")]
    assert record.failure_reason == ("QualityGateFailed: Quality gate failed: mAP50-95 on the test split is 0.1, "
                                     "below MapThreshold 0.3; the model was not registered.")
    assert LocalRegistry(state_dir).groups() == []


def test_an_unsupported_step_type_fails_the_run_before_any_step(factory_definition, fake_scripts, raw_dir, state_dir):
    definition = with_fakes(factory_definition, fake_scripts)
    definition["Steps"].append({"Name": "NotifyTeam", "Type": "Lambda", "DependsOn": ["TrainYOLO"],
                                "Arguments": {"payload": {"Get": "Steps.TrainYOLO.TrainingJobName"}}})
    record, events = run(definition, state_dir, raw_dir)
    assert record.status == "Failed" and record.steps == []
    assert record.failure_reason == ("the definition uses what local mode cannot run: step NotifyTeam: unsupported "
                                     "step type 'Lambda' (local mode runs Processing, Training, Condition, Fail, "
                                     "RegisterModel, Model, EndpointConfig, Endpoint)")
    assert [type(e).__name__ for e in events] == ["ExecutionStarted", "ExecutionFinished"]


def test_an_unsupported_expression_fails_the_run_before_any_step(factory_definition, fake_scripts, raw_dir, state_dir):
    definition = with_fakes(factory_definition, fake_scripts)
    steps_by_name(definition)["TrainYOLO"]["Arguments"]["HyperParameters"]["seed"] = {"Std:Random": {}}
    record, _ = run(definition, state_dir, raw_dir)
    assert record.steps == []
    assert "step TrainYOLO Arguments.HyperParameters.seed: unsupported expression 'Std:Random'" in record.failure_reason


def test_a_foreign_image_fails_the_run_before_any_step(factory_definition, fake_scripts, raw_dir, state_dir):
    definition = with_fakes(factory_definition, fake_scripts)
    app = steps_by_name(definition)["EvaluateYOLO"]["Arguments"]["AppSpecification"]
    app["ImageUri"] = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-gpu"
    record, _ = run(definition, state_dir, raw_dir)
    assert record.steps == []
    assert "step EvaluateYOLO: image '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-gpu' is " \
           "not one of this pipeline's images" in record.failure_reason


def test_a_dependency_cycle_fails_the_run_before_any_step(factory_definition, fake_scripts, raw_dir, state_dir):
    definition = with_fakes(factory_definition, fake_scripts)
    steps_by_name(definition)["PrepareData"]["DependsOn"] = ["EvaluateYOLO"]
    record, _ = run(definition, state_dir, raw_dir)
    assert record.steps == []
    assert "the steps PrepareData, TrainYOLO, EvaluateYOLO, CheckQuality" in record.failure_reason
    assert "depend on each other in a cycle" in record.failure_reason


def test_bad_parameters_are_refused_before_anything_is_recorded(factory_definition, state_dir):
    with pytest.raises(ParameterError, match="unknown parameter 'Epoch'; the pipeline's parameters are: InputDataUri"):
        run_local(factory_definition, {"Epoch": 3}, state_dir)
    with pytest.raises(ParameterError, match="parameter Epochs is Integer: 'many' is not an integer"):
        run_local(json.dumps(factory_definition), {"Epochs": "many"}, state_dir)
    assert list_executions(state_dir) == []


def test_a_second_run_on_the_same_state_directory_is_refused_while_one_runs(factory_definition, fake_scripts,
                                                                           raw_dir, state_dir):
    state = state_dir
    outcome = {}

    def nested_run(event):
        if isinstance(event, StepStarted) and event.record.name == "PrepareData" and not outcome:
            try:
                run(with_fakes(factory_definition, fake_scripts), state, raw_dir)
            except Exception as exc:  # noqa: BLE001 - the refusal is what this test looks at
                outcome["error"] = str(exc)

    definition = copy.deepcopy(with_fakes(factory_definition, fake_scripts, prepare="fail"))
    run_local(definition, {**SMALL_PARAMETERS, "InputDataUri": str(raw_dir)}, state, on_event=nested_run)
    assert "is in use by another local run (execution " in outcome["error"]


def test_an_interrupted_run_stops_its_job_and_is_recorded_as_stopped(factory_definition, fake_scripts, raw_dir,
                                                                     state_dir):
    main = threading.main_thread().ident

    def interrupt_once_the_job_runs(event):  # Ctrl-C: SIGINT to this process, whose main thread waits on the job
        if isinstance(event, StepStarted):
            threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT)).start()

    with pytest.raises(KeyboardInterrupt):
        run_local(with_fakes(factory_definition, fake_scripts, prepare="sleep"),
                  {**SMALL_PARAMETERS, "InputDataUri": str(raw_dir)}, state_dir, on_event=interrupt_once_the_job_runs)
    record = get_execution(state_dir)
    assert (record.status, record.failure_reason) == ("Stopped", "interrupted by SIGINT: the running job was stopped")
    assert [(s.name, s.status) for s in record.steps] == [("PrepareData", "Stopped")]
    assert "fake prepare" in open(record.step("PrepareData").log_path).read()
    job_processes = subprocess.run(["pgrep", "-f", str(fake_scripts["prepare"])], capture_output=True, text=True)
    assert job_processes.stdout == ""


@pytest.mark.parametrize(("values", "expected"), [
    ({"Epochs": "7", "DeployStaging": "TRUE", "LearningRate": 1}, {"Epochs": 7, "DeployStaging": True,
                                                                    "LearningRate": 1.0}),
    ({}, {"Epochs": 100, "DeployStaging": False, "LearningRate": 0.01}),
])
def test_parameters_are_typed_as_the_definition_declares(factory_definition, values, expected):
    resolved = resolve_parameters(factory_definition, values)
    assert {name: resolved[name] for name in expected} == expected
    assert len(resolved) == len(factory_definition["Parameters"])


@pytest.mark.parametrize(("values", "message"), [
    ({"Epochs": True}, "parameter Epochs is Integer: True \\(bool\\) is not allowed"),
    ({"ModelVariant": 11}, "parameter ModelVariant is String: 11 \\(int\\) is not allowed"),
    ({"DeployStaging": "maybe"}, "parameter DeployStaging is Boolean: 'maybe' is not true or false"),
])
def test_parameters_of_the_wrong_type_are_refused(factory_definition, values, message):
    with pytest.raises(ParameterError, match=message):
        resolve_parameters(factory_definition, values)
