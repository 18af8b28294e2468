"""TrainYOLO: YOLO11 training on the training image (GPU by default, managed spot with checkpoints).

Hyperparameters are strings in CreateTrainingJob, so integer and float parameters are rendered with
``.to_string()``. The metric definitions scrape the one line per epoch that the training image prints.

Checkpoints are part of the training step's cache key (AWS doc "Default cache key attributes by pipeline step type"),
so their prefix must not contain the execution id; it is keyed by the PrepareData job that made the training data
instead: the same data gives the same prefix (caching holds), other data another prefix. Within it, the training image
keeps one folder per training job, so concurrent executions never clobber each other and a spot restart (same job
name) resumes its own run.
"""

from __future__ import annotations

from sagemaker.core.shapes import MetricDefinition, StoppingCondition, Tag
from sagemaker.core.training.configs import CheckpointConfig, Compute, InputData, Networking, OutputDataConfig
from sagemaker.core.workflow.functions import Join
from sagemaker.mlops.workflow.steps import TrainingStep
from sagemaker.train import ModelTrainer

from steps.context import StepContext
from steps.instance_storage import has_instance_storage
from steps.parameters import PipelineParameters

STEP_NAME = "TrainYOLO"
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"

# The training image prints: "[metrics] epoch=3 precision=0.51 recall=0.40 mAP50=0.71 mAP50-95=0.40"
_FLOAT = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
METRIC_DEFINITIONS = {
    "precision": rf"\[metrics\].* precision={_FLOAT}",
    "recall": rf"\[metrics\].* recall={_FLOAT}",
    "mAP50": rf"\[metrics\].* mAP50={_FLOAT}",
    "mAP50-95": rf"\[metrics\].* mAP50-95={_FLOAT}",
}


class PrefixedTrainingStep(TrainingStep):
    """A TrainingStep whose job name starts with the configured prefix.

    SDK v3's ModelTrainer drops TrainingJobName under a PipelineSession (aws/sagemaker-python-sdk#5776), so
    ``use_custom_job_prefix`` does nothing for training; with the name put back, SageMaker names the job
    ``<prefix>-<suffix>`` (AWS doc "Access management for SageMaker Pipelines", custom job name prefix).
    """

    def __init__(self, *, job_name_prefix: str, **kwargs):
        super().__init__(**kwargs)
        self.job_name_prefix = job_name_prefix

    @property
    def arguments(self):
        return {"TrainingJobName": self.job_name_prefix, **super().arguments}


def build_training_step(context: StepContext, params: PipelineParameters, *, train_data, val_data, checkpoint_key,
                        use_spot: bool, max_runtime_seconds: int, max_wait_seconds: int, volume_size_gb: int, seed: int,
                        environment: dict[str, str] | None = None) -> TrainingStep:
    """The TrainYOLO training step on the ``train`` and ``val`` splits (S3 URIs or step properties).

    ``checkpoint_key`` names the training data's origin (the PrepareData job name) in the checkpoint prefix.
    """
    stopping = StoppingCondition(max_runtime_in_seconds=max_runtime_seconds,
                                 max_wait_time_in_seconds=max_wait_seconds if use_spot else None)
    networking = None
    if context.subnets or context.enable_network_isolation:
        networking = Networking(subnets=list(context.subnets) or None,
                                security_group_ids=list(context.security_group_ids) or None,
                                enable_network_isolation=context.enable_network_isolation,
                                enable_inter_container_traffic_encryption=True)
    trainer = ModelTrainer(
        sagemaker_session=context.session,
        role=context.role_arn,
        base_job_name=context.job_name("train"),
        training_image=context.images.training,
        compute=Compute(
            instance_type=params.training_instance_type,
            instance_count=params.training_instance_count,
            volume_size_in_gb=volume_size_gb,
            volume_kms_key_id=None if has_instance_storage(params.training_instance_type.default_value)
            else context.kms_key_id,
            enable_managed_spot_training=use_spot,
        ),
        networking=networking,
        stopping_condition=stopping,
        output_data_config=OutputDataConfig(s3_output_path=context.execution_s3_uri("models"),
                                            kms_key_id=context.kms_key_id),
        checkpoint_config=CheckpointConfig(s3_uri=Join(on="/", values=[context.s3_uri("checkpoints"), checkpoint_key]),
                                           local_path=CHECKPOINT_LOCAL_PATH),
        hyperparameters={
            "model_variant": params.model_variant,
            "epochs": params.epochs.to_string(),
            "imgsz": params.image_size.to_string(),
            "batch": params.batch_size.to_string(),
            "patience": params.patience.to_string(),
            "optimizer": params.optimizer,
            "lr0": params.learning_rate.to_string(),
            "warmup_epochs": params.warmup_epochs.to_string(),
            "workers": params.data_loader_workers.to_string(),
            "seed": str(seed),
        },
        environment=dict(sorted((environment or {}).items())),
        tags=[Tag(key=key, value=value) for key, value in context.tags] or None,
    ).with_metric_definitions([MetricDefinition(name=name, regex=regex) for name, regex in METRIC_DEFINITIONS.items()])
    step_args = trainer.train(
        input_data_config=[
            InputData(channel_name="train", data_source=train_data),
            InputData(channel_name="val", data_source=val_data),
        ],
        wait=False,
        logs=False,
    )
    return PrefixedTrainingStep(
        job_name_prefix=context.job_name("train"),
        name=STEP_NAME,
        step_args=step_args,
        cache_config=context.cache_config,
        retry_policies=context.job_retry_policies,
        description="Train YOLO11 on the train split, validating on val each epoch (DDP across the instance's GPUs).",
    )
