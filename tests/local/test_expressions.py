"""The expression evaluator and the condition logic, on the definition the factory emits and on hand-made edge cases."""

from __future__ import annotations

import copy
import json

import pytest

from pipelines.definition import iter_steps, resolve_parameters
from pipelines.local.errors import ExpressionError
from pipelines.local.expressions import (
    Scope,
    condition_holds,
    condition_problems,
    evaluate,
    json_path,
    problems,
    property_path,
    render,
)
from pipelines.local.store import LocalStore
from pipelines.local.validation import definition_problems
from tests.local.conftest import SMALL_PARAMETERS, steps_by_name

EVALUATION = {"object_detection_metrics": {"mAP50_95": {"value": 0.41}, "mAP50": {"value": 0.7},
                                           "per_class": {"vehicle": {"mAP50_95": 0.5}}},
              "baseline": None, "dataset": {"splits": [{"name": "test", "images": 4}]}}


def gets(value) -> set[str]:
    """Every ``Get`` reference inside ``value``."""
    if isinstance(value, dict):
        return {value["Get"]} if set(value) == {"Get"} else set().union(*(gets(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(gets(v) for v in value)) if value else set()
    return set()


@pytest.fixture
def scope(factory_definition, tmp_path) -> Scope:
    """A scope in which PrepareData, TrainYOLO and EvaluateYOLO have run, with the properties the executor records
    (resolved arguments plus the job's runtime fields) and evaluation.json in a local store."""
    parameters = resolve_parameters(factory_definition, {**SMALL_PARAMETERS, "InputDataUri": "/data/raw"})
    store = LocalStore(tmp_path / "store")
    scope = Scope(parameters=parameters,
                  execution={"PipelineExecutionId": "abc123def456", "PipelineName": "yolo11-detection"},
                  property_files={s["Name"]: {f["PropertyFileName"]: f for f in s.get("PropertyFiles", [])}
                                  for s, _, _ in iter_steps(factory_definition["Steps"])},
                  read_json=store.read_json)
    steps = steps_by_name(factory_definition)
    scope.properties["PrepareData"] = {**evaluate(steps["PrepareData"]["Arguments"], scope),
                                       "ProcessingJobName": "yolo11-prepare-data-abc123def456"}
    scope.properties["TrainYOLO"] = {**evaluate(steps["TrainYOLO"]["Arguments"], scope),
                                     "TrainingJobName": "trainyolo-abc123def456",
                                     "ModelArtifacts": {"S3ModelArtifacts": "s3://b/models/t/output/model.tar.gz"}}
    scope.properties["EvaluateYOLO"] = evaluate(steps["EvaluateYOLO"]["Arguments"], scope)
    report = scope.properties["EvaluateYOLO"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    path = store.path(f"{report}/evaluation.json")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(EVALUATION))
    return scope


def test_the_factory_definition_has_nothing_local_mode_cannot_run(factory_definition):
    assert definition_problems(factory_definition) == []


def test_hyperparameters_become_the_strings_create_training_job_takes(factory_definition, scope):
    hyperparameters = evaluate(steps_by_name(factory_definition)["TrainYOLO"]["Arguments"]["HyperParameters"], scope)
    assert hyperparameters == {"model_variant": "yolo11n", "epochs": "3", "imgsz": "128", "batch": "4",
                               "patience": "50", "optimizer": "AdamW", "lr0": "0.004", "warmup_epochs": "1.0",
                               "workers": "8", "seed": "0",
                               "weights_uri": scope.parameters["PretrainedWeightsUri"]}


def test_every_property_reference_the_factory_emits_resolves(factory_definition, scope):
    """Each ``Get`` in the definition: parameters, execution variables and step properties with list indexing."""
    steps = steps_by_name(factory_definition)
    references = gets(factory_definition["Steps"]) | gets(factory_definition["PipelineExperimentConfig"])
    step_references = {r for r in references if r.startswith("Steps.") and ".PropertyFiles." not in r}
    assert step_references >= {
        "Steps.PrepareData.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri",
        "Steps.PrepareData.ProcessingOutputConfig.Outputs['val'].S3Output.S3Uri",
        "Steps.PrepareData.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri",
        "Steps.TrainYOLO.ModelArtifacts.S3ModelArtifacts",
        "Steps.EvaluateYOLO.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri",
        "Steps.PrepareData.ProcessingJobName",
    }
    scope.properties["CreateStagingModel"] = steps["CreateStagingModel"]["Arguments"]
    scope.properties["StagingEndpointConfig"] = evaluate(steps["StagingEndpointConfig"]["Arguments"], scope)
    for reference in references:
        if ".PropertyFiles." not in reference:
            assert evaluate({"Get": reference}, scope) is not None, reference
    channels = evaluate(steps["TrainYOLO"]["Arguments"]["InputDataConfig"], scope)
    assert [c["DataSource"]["S3DataSource"]["S3Uri"] for c in channels] == [
        "s3://yolo-pipelines-artifacts/yolo11-detection/executions/abc123def456/data/train",
        "s3://yolo-pipelines-artifacts/yolo11-detection/executions/abc123def456/data/val",
        scope.parameters["PretrainedWeightsUri"]]
    training = evaluate(steps["TrainYOLO"]["Arguments"], scope)
    assert training["CheckpointConfig"]["S3Uri"] == \
        "s3://yolo-pipelines-artifacts/yolo11-detection/checkpoints/yolo11-prepare-data-abc123def456"
    assert training["OutputDataConfig"]["S3OutputPath"] == \
        "s3://yolo-pipelines-artifacts/yolo11-detection/executions/abc123def456/models"
    inputs = evaluate(steps["EvaluateYOLO"]["Arguments"]["ProcessingInputs"], scope)
    assert inputs[0]["S3Input"]["S3Uri"] == "s3://b/models/t/output/model.tar.gz"
    register = evaluate(steps["RegisterYOLO"]["Arguments"], scope)
    assert register["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == \
        "s3://yolo-pipelines-artifacts/yolo11-detection/executions/abc123def456/evaluation/evaluation.json"
    assert register["CustomerMetadataProperties"]["PipelineExecutionId"] == "abc123def456"
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    config = evaluate(steps["StagingEndpointConfig"]["Arguments"], scope)
    assert config["EndpointConfigName"] == "yolo11-detection-staging-abc123def456"
    assert config["ProductionVariants"][0]["ModelName"] == steps["CreateStagingModel"]["Arguments"]["ModelName"]
    assert evaluate(steps["StagingEndpoint"]["Arguments"]["EndpointConfigName"], scope) == config["EndpointConfigName"]


@pytest.mark.parametrize(("threshold", "registers"), [(0.3, True), (0.41, True), (0.42, False), (0.99, False)])
def test_the_quality_gate_compares_json_get_on_the_property_file_with_the_threshold(factory_definition, scope,
                                                                                    threshold, registers):
    scope.parameters = {**scope.parameters, "MapThreshold": threshold}
    gate = steps_by_name(factory_definition)["CheckQuality"]["Arguments"]
    assert all(condition_holds(c, scope) for c in gate["Conditions"]) is registers


def test_the_fail_step_message_carries_the_measured_value_and_the_threshold(factory_definition, scope):
    message = steps_by_name(factory_definition)["QualityGateFailed"]["Arguments"]["ErrorMessage"]
    assert evaluate(message, scope) == ("Quality gate failed: mAP50-95 on the test split is 0.41, below "
                                        "MapThreshold 0.3; the model was not registered.")


@pytest.mark.parametrize(("deploy", "expected"), [(True, True), (False, False), ("true", True), ("false", False)])
def test_deploy_staging_condition_follows_the_boolean_parameter(factory_definition, scope, deploy, expected):
    scope.parameters = resolve_parameters(factory_definition, {"DeployStaging": deploy})
    gate = steps_by_name(factory_definition)["CheckDeployStaging"]["Arguments"]
    assert condition_holds(gate["Conditions"][0], scope) is expected


def comparison(kind: str, left, right) -> dict:
    return {"Type": kind, "LeftValue": left, "RightValue": right}


@pytest.mark.parametrize(("condition", "expected"), [
    (comparison("Equals", 1, 1.0), True),
    (comparison("Equals", "1", 1), False),
    (comparison("Equals", True, 1), False),
    (comparison("GreaterThan", 0.5, 0.5), False),
    (comparison("GreaterThan", 0.6, 0.5), True),
    (comparison("GreaterThanOrEqualTo", 0.5, 0.5), True),
    (comparison("LessThan", 2, 3), True),
    (comparison("LessThanOrEqualTo", 3, 3), True),
    (comparison("LessThanOrEqualTo", 4, 3), False),
    ({"Type": "In", "QueryValue": {"Get": "Parameters.ModelVariant"}, "Values": ["yolo11s", "yolo11n"]}, True),
    ({"Type": "In", "QueryValue": {"Get": "Parameters.ModelVariant"}, "Values": ["yolo11x"]}, False),
    ({"Type": "Not", "Condition": comparison("Equals", {"Get": "Parameters.Epochs"}, 3)}, False),
    ({"Type": "Or", "Conditions": [comparison("LessThan", 5, 1), comparison("Equals", "a", "a")]}, True),
    ({"Type": "Or", "Conditions": [comparison("LessThan", 5, 1), comparison("Equals", "a", "b")]}, False),
])
def test_every_condition_type(scope, condition, expected):
    assert condition_holds(condition, scope) is expected


def test_an_ordering_of_a_number_and_a_string_is_an_error(scope):
    with pytest.raises(ExpressionError, match="compares 0.5 with 'high': both must be numbers"):
        condition_holds(comparison("GreaterThan", 0.5, "high"), scope)


def test_std_join_renders_like_the_service(scope):
    joined = evaluate({"Std:Join": {"On": "/", "Values": [True, 3, 0.5, None, {"Get": "Parameters.Optimizer"}]}},
                      scope)
    assert joined == "true/3/0.5//AdamW"
    assert render(False) == "false"


@pytest.mark.parametrize(("reference", "message"), [
    ("Parameters.Epoch", "the pipeline has no parameter 'Epoch'"),
    ("Execution.PipelineExecutionArn", "no execution variable 'PipelineExecutionArn' here"),
    ("Steps.RegisterYOLO.ModelPackageArn", "step 'RegisterYOLO' has not run in this execution"),
    ("Steps.PrepareData.ProcessingOutputConfig.Outputs['validation'].S3Output.S3Uri",
     r"Steps.PrepareData.ProcessingOutputConfig.Outputs\['validation'\] does not exist"),
    ("Steps.TrainYOLO.ModelArtifacts.S3Uri", "Steps.TrainYOLO.ModelArtifacts.S3Uri does not exist"),
    ("Steps.EvaluateYOLO.PropertyFiles.EvaluationReport", "read with Std:JsonGet"),
    ("Lambda.Output", "unknown namespace 'Lambda'"),
])
def test_unresolvable_references_name_what_is_missing(scope, reference, message):
    with pytest.raises(ExpressionError, match=message):
        evaluate({"Get": reference}, scope)


def test_json_get_with_a_path_that_is_not_in_the_file(scope):
    expression = {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.EvaluateYOLO.PropertyFiles.EvaluationReport"},
                                  "Path": "object_detection_metrics.mAP75.value"}}
    with pytest.raises(ExpressionError, match=r"\$.object_detection_metrics has no 'mAP75'"):
        evaluate(expression, scope)


def test_json_get_by_s3_uri_and_json_path_forms(scope):
    uri = {"Std:Join": {"On": "/", "Values": [
        {"Get": "Steps.EvaluateYOLO.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
        "evaluation.json"]}}
    assert evaluate({"Std:JsonGet": {"S3Uri": uri, "Path": "dataset.splits[0].name"}}, scope) == "test"
    assert json_path(EVALUATION, "$.object_detection_metrics['per_class'].vehicle.mAP50_95") == 0.5


def test_property_path_indexes_lists_by_name_or_position():
    properties = {"FinalMetricDataList": [{"MetricName": "mAP50", "Value": 0.7}, {"MetricName": "recall", "Value": 1}]}
    assert property_path(properties, "FinalMetricDataList['recall'].Value") == 1
    assert property_path(properties, "FinalMetricDataList[0].Value") == 0.7
    with pytest.raises(ExpressionError, match="cannot parse property path"):
        property_path(properties, "FinalMetricDataList[zero]")


def test_problems_name_the_step_and_the_construct(factory_definition):
    edited = copy.deepcopy(factory_definition)
    steps = steps_by_name(edited)
    steps["TrainYOLO"]["Arguments"]["HyperParameters"]["epochs"] = {"Std:Concat": ["1", "2"]}
    steps["RegisterYOLO"]["Arguments"]["CustomerMetadataProperties"]["Started"] = {"Get": "Execution.Weather"}
    steps["CheckQuality"]["Arguments"]["Conditions"].append({"Type": "Matches", "LeftValue": 1, "RightValue": 2})
    steps["EvaluateYOLO"]["Arguments"]["Environment"] = {"LR": {"Get": "Parameters.LearningRateX"}}
    found = definition_problems(edited)
    assert found == [
        "step TrainYOLO Arguments.HyperParameters.epochs: unsupported expression 'Std:Concat' (local mode evaluates "
        "Get, Std:Join, Std:JsonGet)",
        "step EvaluateYOLO Arguments.Environment.LR: Get Parameters.LearningRateX names no parameter of the pipeline",
        "step CheckQuality Conditions[1]: unsupported condition type 'Matches' (local mode knows Equals, "
        "GreaterThan, GreaterThanOrEqualTo, LessThan, LessThanOrEqualTo, In, Not, Or)",
        "step RegisterYOLO Arguments.CustomerMetadataProperties.Started: unsupported execution variable "
        "'Execution.Weather' (local mode knows PipelineExecutionId, PipelineExecutionArn, PipelineName, PipelineArn, "
        "StartDateTime, CurrentDateTime, TrainingJobName, ProcessingJobName)",
    ]


def test_condition_problems_look_inside_not_and_or():
    nested = {"Type": "Not", "Condition": {"Type": "Or", "Conditions": [
        {"Type": "Equals", "LeftValue": {"Get": "Steps.Nope.Outcome"}, "RightValue": True}]}}
    assert condition_problems(nested, set(), {"CheckQuality"}, "step X") == [
        "step X.Condition.Conditions[0].LeftValue: Get Steps.Nope.Outcome names no step of the pipeline"]
    assert problems({"Std:JsonGet": {"PropertyFile": {"Get": "Steps.A.Report"}, "Path": "a"}}, set(), {"A"}, "w") == [
        "w: Std:JsonGet PropertyFile 'Steps.A.Report' is not Steps.<step>.PropertyFiles.<name>"]
