"""EvaluateYOLO: score the trained model on the held-out test split, on the training image as a processor.

evaluation.json is a PropertyFile, so the quality gate reads it with static JsonGet paths.
"""

from __future__ import annotations

from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.steps import ProcessingStep

from steps.context import StepContext
from steps.parameters import PipelineParameters
from steps.processing import PROCESSING_ROOT, processing_input, processing_output, processor

STEP_NAME = "EvaluateYOLO"
ENTRYPOINT = ["python3", "-m", "containers.training.evaluate"]
REPORT_NAME = "evaluation"
REPORT_FILE = "evaluation.json"
MAP50_95_PATH = "object_detection_metrics.mAP50_95.value"


def build_evaluation_step(context: StepContext, params: PipelineParameters, *, model_data,
                          test_data) -> tuple[ProcessingStep, PropertyFile]:
    """The EvaluateYOLO step and the PropertyFile through which later steps read evaluation.json."""
    report = PropertyFile(name="EvaluationReport", output_name=REPORT_NAME, path=REPORT_FILE)
    step_args = processor(context, image_uri=context.images.training, entrypoint=ENTRYPOINT,
                          instance_type=params.evaluation_instance_type, job="evaluate").run(
        inputs=[
            processing_input("model", model_data, f"{PROCESSING_ROOT}/model"),
            processing_input("test", test_data, f"{PROCESSING_ROOT}/test"),
        ],
        outputs=[processing_output(REPORT_NAME, f"{PROCESSING_ROOT}/evaluation",
                                   context.execution_s3_uri("evaluation"))],
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
