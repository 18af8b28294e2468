"""EvaluateYOLO: score the trained model on the held-out test split, on the training image as a processor.

evaluation.json is a PropertyFile, so the quality gate reads it with static JsonGet paths.
"""

from __future__ import annotations

from sagemaker.core.processing import Processor
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.steps import ProcessingStep

from steps.context import StepContext
from steps.network import network_config
from steps.parameters import PipelineParameters
from steps.processing import PROCESSING_ROOT, processing_input, processing_output

STEP_NAME = "EvaluateYOLO"
ENTRYPOINT = ["python3", "-m", "containers.training.evaluate"]
REPORT_NAME = "evaluation"
REPORT_FILE = "evaluation.json"
MAP50_95_PATH = "object_detection_metrics.mAP50_95.value"


def build_evaluation_step(context: StepContext, params: PipelineParameters, *, model_data, test_data,
                          ) -> tuple[ProcessingStep, PropertyFile]:
    """The EvaluateYOLO step and the PropertyFile through which later steps read evaluation.json."""
    processor = Processor(
        role=context.role_arn,
        image_uri=context.images.training,
        entrypoint=ENTRYPOINT,
        instance_count=1,
        instance_type=params.evaluation_instance_type,
        volume_kms_key=context.kms_key_id,
        output_kms_key=context.kms_key_id,
        base_job_name=f"{context.base_job_prefix}-evaluate",
        sagemaker_session=context.session,
        network_config=network_config(context),
        tags=context.tag_list or None,
    )
    report = PropertyFile(name="EvaluationReport", output_name=REPORT_NAME, path=REPORT_FILE)
    step_args = processor.run(
        inputs=[
            processing_input("model", model_data, f"{PROCESSING_ROOT}/model"),
            processing_input("test", test_data, f"{PROCESSING_ROOT}/test"),
        ],
        outputs=[processing_output(REPORT_NAME, f"{PROCESSING_ROOT}/evaluation", context.s3_uri("evaluation"))],
    )
    step = ProcessingStep(
        name=STEP_NAME,
        step_args=step_args,
        property_files=[report],
        cache_config=context.cache_config,
        retry_policies=context.job_retry_policies,
        description="Evaluate the trained model on the test split; writes evaluation.json.",
    )
    return step, report
