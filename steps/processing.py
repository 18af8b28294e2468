"""PrepareData: validate, convert, de-duplicate and split the raw data on the processing image.

The code lives in the image (no ``code=`` upload), so the definition names the entrypoint and arguments explicitly
and building it reaches no AWS API.
"""

from __future__ import annotations

from sagemaker.core.processing import Processor
from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
from sagemaker.mlops.workflow.steps import ProcessingStep

from steps.context import StepContext
from steps.instance_storage import has_instance_storage
from steps.network import network_config
from steps.parameters import PipelineParameters

STEP_NAME = "PrepareData"
ENTRYPOINT = ["python3", "-m", "containers.processing.prepare_data"]
PROCESSING_ROOT = "/opt/ml/processing"
SPLITS = ("train", "val", "test")
OUTPUTS = (*SPLITS, "report")


def processing_input(name: str, source, destination: str) -> ProcessingInput:
    """An S3 prefix downloaded into the job at ``destination`` before it starts."""
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(s3_uri=source, local_path=destination, s3_data_type="S3Prefix",
                                   s3_input_mode="File", s3_data_distribution_type="FullyReplicated"),
    )


def processing_output(name: str, source: str, destination) -> ProcessingOutput:
    """A local folder uploaded to S3 when the job ends."""
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(s3_uri=destination, local_path=source, s3_upload_mode="EndOfJob"),
    )


def processor(context: StepContext, *, image_uri: str, entrypoint: list[str], instance_type,
              job: str) -> Processor:
    """A one-instance processing job on one of our images, encrypted and placed as the context says.

    The volume KMS key is left out when the default instance type has NVMe instance storage (refused there; that
    storage is encrypted by the instance's hardware).
    """
    return Processor(
        role=context.role_arn,
        image_uri=image_uri,
        entrypoint=entrypoint,
        instance_count=1,
        instance_type=instance_type,
        volume_kms_key=None if has_instance_storage(instance_type.default_value) else context.kms_key_id,
        output_kms_key=context.kms_key_id,
        base_job_name=context.job_name(job),
        sagemaker_session=context.session,
        network_config=network_config(context),
        tags=context.tag_list or None,
    )


def build_prepare_data_step(context: StepContext, params: PipelineParameters, *, train_ratio: float,
                            val_ratio: float, max_invalid_fraction: float, resplit: bool = False,
                            label_attribute: str | None = None) -> ProcessingStep:
    """The PrepareData processing step; its outputs ``train``/``val``/``test``/``report`` feed the later steps."""
    step_args = processor(context, image_uri=context.images.processing, entrypoint=ENTRYPOINT,
                          instance_type=params.processing_instance_type, job="prepare-data").run(
        inputs=[processing_input("raw", params.input_data_uri, f"{PROCESSING_ROOT}/input/raw")],
        outputs=[
            processing_output(name, f"{PROCESSING_ROOT}/output/{name}", context.execution_s3_uri("data", name))
            for name in OUTPUTS
        ],
        arguments=[
            "--input-format", "auto",
            "--train-ratio", str(train_ratio),
            "--val-ratio", str(val_ratio),
            "--max-invalid-fraction", str(max_invalid_fraction),
            "--resplit", str(resplit).lower(),
            *(["--label-attribute", label_attribute] if label_attribute else []),
        ],
    )
    return ProcessingStep(
        name=STEP_NAME,
        step_args=step_args,
        cache_config=context.cache_config,
        retry_policies=context.job_retry_policies,
        description="Validate, convert, de-duplicate and split the raw data into YOLO train/val/test.",
    )
