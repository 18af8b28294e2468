"""The quality gate: register the model when mAP50-95 clears MapThreshold, otherwise fail with both values.

Registration goes through ModelBuilder.register() into the model package group, with the approval status as a
parameter (PendingManualApproval by default: approvers decide), evaluation.json as ModelMetrics and the execution's
identity as customer metadata.
"""

from __future__ import annotations

import logging

from sagemaker.core.shapes import MetricsSource, ModelMetrics, ModelQuality
from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.steps import ProcessingStep, Step
from sagemaker.serve import ModelBuilder

from steps.context import StepContext
from steps.evaluation import MAP50_95_PATH, REPORT_FILE
from steps.parameters import PipelineParameters

GATE_STEP_NAME = "CheckQuality"
REGISTER_STEP_NAME = "RegisterYOLO"
FAIL_STEP_NAME = "QualityGateFailed"
CONTENT_TYPES = ["image/jpeg", "image/png", "application/x-image", "application/json"]
RESPONSE_TYPES = ["application/json"]
# The inference image runs ONNX Runtime on CPU only: advertise CPU instance types, never GPU ones.
INFERENCE_INSTANCES = ["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.c6i.large", "ml.c6i.xlarge"]


def build_register_step(context: StepContext, params: PipelineParameters, *, model_package_group_name: str,
                        model_data, evaluation_step: ProcessingStep, report: PropertyFile,
                        metadata: dict[str, str]) -> ModelStep:
    """RegisterYOLO: a model package version with the inference image, the model artefact and its metrics."""
    evaluation_uri = Join(on="/", values=[
        evaluation_step.properties.ProcessingOutputConfig.Outputs[report.output_name].S3Output.S3Uri, REPORT_FILE])
    builder = ModelBuilder(
        image_uri=context.images.inference,
        s3_model_data_url=model_data,
        role_arn=context.role_arn,
        sagemaker_session=context.session,
        dependencies={},  # the defaults would reach S3 and inject empty SAGEMAKER_* variables
        log_level=logging.WARNING,
    )
    step_args = builder.register(
        model_package_group_name=model_package_group_name,
        content_types=CONTENT_TYPES,
        response_types=RESPONSE_TYPES,
        inference_instances=INFERENCE_INSTANCES,
        transform_instances=INFERENCE_INSTANCES,
        approval_status=params.model_approval_status,
        model_metrics=ModelMetrics(model_quality=ModelQuality(
            statistics=MetricsSource(content_type="application/json", s3_uri=evaluation_uri))),
        customer_metadata_properties={"PipelineExecutionId": ExecutionVariables.PIPELINE_EXECUTION_ID,
                                      **dict(sorted(metadata.items()))},
    )
    if context.tags:  # ModelBuilder.register() takes no tags; CreateModelPackage does
        step_args.create_model_package_request["Tags"] = context.tag_list
    return ModelStep(name=REGISTER_STEP_NAME, step_args=step_args,
                     description="Register the model in the model package group with its evaluation metrics.")


def build_quality_gate(params: PipelineParameters, *, evaluation_step: ProcessingStep, report: PropertyFile,
                       if_steps: list[Step]) -> ConditionStep:
    """CheckQuality: mAP50-95 >= MapThreshold -> ``if_steps`` (RegisterYOLO, ...), else QualityGateFailed."""
    measured = JsonGet(step_name=evaluation_step.name, property_file=report, json_path=MAP50_95_PATH)
    fail = FailStep(
        name=FAIL_STEP_NAME,
        error_message=Join(on="", values=[
            "Quality gate failed: mAP50-95 on the test split is ", measured,
            ", below MapThreshold ", params.map_threshold, "; the model was not registered."]),
        description="Stop the execution when the model is not good enough to register.",
    )
    return ConditionStep(
        name=GATE_STEP_NAME,
        conditions=[ConditionGreaterThanOrEqualTo(left=measured, right=params.map_threshold)],
        if_steps=if_steps,
        else_steps=[fail],
        description="Register only a model whose test mAP50-95 reaches MapThreshold.",
    )
