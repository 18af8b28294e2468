"""DeployStaging: a staging endpoint (Model + EndpointConfig with data capture + Endpoint), only when asked.

An endpoint created inside the execution serves an unapproved model, so this is for staging only; production
follows an approval in the Model Registry (seed_code/modeldeploy).
"""

from __future__ import annotations

import logging

from sagemaker.core.training.configs import Networking
from sagemaker.core.workflow.conditions import ConditionEquals
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.endpoint_step import EndpointConfigStep, EndpointStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.steps import Step
from sagemaker.serve import ModelBuilder

from steps.context import StepContext
from steps.parameters import PipelineParameters

GATE_STEP_NAME = "CheckDeployStaging"
MODEL_STEP_NAME = "CreateStagingModel"
ENDPOINT_CONFIG_STEP_NAME = "StagingEndpointConfig"
ENDPOINT_STEP_NAME = "StagingEndpoint"
VARIANT_NAME = "AllTraffic"


def _networking(context: StepContext) -> Networking | None:
    """The jobs' VPC and network isolation apply to the staging Model too (CreateModel VpcConfig,
    EnableNetworkIsolation)."""
    if not (context.subnets or context.enable_network_isolation):
        return None
    return Networking(subnets=list(context.subnets) or None,
                      security_group_ids=list(context.security_group_ids) or None,
                      enable_network_isolation=context.enable_network_isolation)


def build_staging_deployment(context: StepContext, params: PipelineParameters, *, endpoint_name: str, model_data,
                             instance_type: str, instance_count: int, capture_percentage: int,
                             after: list[Step]) -> ConditionStep:
    """CheckDeployStaging: when DeployStaging is true, create or update the staging endpoint."""
    model = ModelStep(
        name=MODEL_STEP_NAME,
        step_args=ModelBuilder(
            image_uri=context.images.inference,
            s3_model_data_url=model_data,
            role_arn=context.role_arn,
            sagemaker_session=context.session,
            dependencies={},
            log_level=logging.WARNING,
            instance_type=instance_type,
            network=_networking(context),
        ).build(model_name=endpoint_name, tags=context.tag_list or None),  # a fixed name: a deterministic definition
        description="The staging Model: inference image + the trained artefact.",
    )
    endpoint_config = EndpointConfigStep(
        name=ENDPOINT_CONFIG_STEP_NAME,
        step_args=context.session.create_endpoint_config(
            name=Join(on="-", values=[endpoint_name, ExecutionVariables.PIPELINE_EXECUTION_ID]),
            production_variants=[{"VariantName": VARIANT_NAME, "ModelName": model.properties.ModelName,
                                  "InstanceType": instance_type, "InitialInstanceCount": instance_count}],
            kms_key=context.kms_key_id,
            data_capture_config_dict={
                "EnableCapture": True,
                "InitialSamplingPercentage": capture_percentage,
                "DestinationS3Uri": context.s3_uri("data-capture", endpoint_name),
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                **({"KmsKeyId": context.kms_key_id} if context.kms_key_id else {}),
            },
            tags=context.tag_list or None,
        ),
        description="Staging endpoint configuration with request/response capture to S3.",
    )
    endpoint = EndpointStep(
        name=ENDPOINT_STEP_NAME,
        step_args=context.session.create_endpoint(
            endpoint_name=endpoint_name,
            config_name=endpoint_config.properties.EndpointConfigName,
            tags=context.tag_list or None,
            wait=False,
        ),
        description="Create or update the staging endpoint.",
    )
    return ConditionStep(
        name=GATE_STEP_NAME,
        depends_on=after,
        conditions=[ConditionEquals(left=params.deploy_staging, right=True)],
        if_steps=[model, endpoint_config, endpoint],
        else_steps=[],
        description="Deploy to the staging endpoint only when the DeployStaging parameter is true.",
    )
