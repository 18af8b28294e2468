"""The pipeline factory: one configuration in, one SageMaker Pipeline out, with no AWS call on the way.

``build_pipeline`` is pure: the same configuration gives a byte-identical definition on any machine.
``get_pipeline`` is the SageMaker Projects seed-code entry point (``run-pipeline --module-name pipelines.factory``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines import aws, images
from pipelines.config import PipelineConfig, load_config

if TYPE_CHECKING:
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline

# Placeholder so a definition can be built (and diffed) without a role; upsert refuses to send it.
UNSET_ROLE_ARN = "arn:aws:iam::000000000000:role/SET-role_arn-TO-UPSERT"


def build_pipeline(config: PipelineConfig, session: PipelineSession | None = None) -> Pipeline:
    """Assemble the five step modules into one Pipeline: PrepareData -> TrainYOLO -> EvaluateYOLO -> CheckQuality."""
    session = session or aws.pipeline_session(config.region, bucket=config.bucket)
    from sagemaker.core.workflow.pipeline_definition_config import PipelineDefinitionConfig
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from steps.context import Images, StepContext
    from steps.deployment import build_staging_deployment
    from steps.evaluation import build_evaluation_step
    from steps.parameters import PipelineParameters
    from steps.processing import build_prepare_data_step
    from steps.registration import build_quality_gate, build_register_step
    from steps.training import build_training_step

    defaults = config.parameters.model_dump()
    defaults["input_data_uri"] = config.input_data_uri
    defaults["pretrained_weights_uri"] = config.parameters.pretrained_weights_uri or config.no_model_uri
    defaults["baseline_model_uri"] = config.parameters.baseline_model_uri or config.no_model_uri
    params = PipelineParameters.with_defaults(**defaults)
    tags = {**config.tags, **project_tags(config)}
    context = StepContext(
        session=session,
        role_arn=config.role_arn or UNSET_ROLE_ARN,
        s3_root=config.s3_root,
        base_job_prefix=config.base_job_prefix,
        images=Images(**{name: images.image_uri(config, name) for name in images.IMAGE_NAMES}),
        kms_key_id=config.kms_key_id,
        subnets=tuple(config.network.subnets),
        security_group_ids=tuple(config.network.security_group_ids),
        enable_network_isolation=config.network.enable_network_isolation,
        cache_enabled=config.cache.enabled,
        cache_expire_after=config.cache.expire_after,
        tags=tuple(sorted(tags.items())),
    )

    prepare = build_prepare_data_step(context, params, train_ratio=config.data.train_ratio,
                                      val_ratio=config.data.val_ratio,
                                      max_invalid_fraction=config.data.max_invalid_fraction,
                                      resplit=config.data.resplit, label_attribute=config.data.label_attribute)
    outputs = prepare.properties.ProcessingOutputConfig.Outputs
    environment = {"GIT_SHA": config.git_sha} if config.git_sha else {}
    if config.training.mlflow_tracking_uri:
        environment |= {"MLFLOW_TRACKING_URI": config.training.mlflow_tracking_uri,
                        "MLFLOW_EXPERIMENT_NAME": config.pipeline_name}
    train = build_training_step(
        context, params, train_data=outputs["train"].S3Output.S3Uri, val_data=outputs["val"].S3Output.S3Uri,
        checkpoint_key=prepare.properties.ProcessingJobName, use_spot=config.training.use_spot,
        max_runtime_seconds=config.training.max_runtime_seconds, max_wait_seconds=config.training.max_wait_seconds,
        volume_size_gb=config.training.volume_size_gb, seed=config.training.seed, environment=environment)
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts
    evaluate, report = build_evaluation_step(context, params, model_data=model_data,
                                             test_data=outputs["test"].S3Output.S3Uri)
    # One key per image: metadata values allow no commas (CreateModelPackage CustomerMetadataProperties pattern).
    metadata = {f"{name.capitalize()}ImageTag": images.image_uri(config, name).rsplit(":", 1)[-1]
                for name in images.IMAGE_NAMES}
    if config.git_sha:
        metadata["GitSha"] = config.git_sha
    register = build_register_step(context, params, model_package_group_name=config.model_package_group_name,
                                   model_data=model_data, evaluation_step=evaluate, report=report, metadata=metadata)
    staging = build_staging_deployment(
        context, params, endpoint_name=f"{config.pipeline_name}-staging", model_data=model_data,
        instance_type=config.staging.instance_type, instance_count=config.staging.initial_instance_count,
        capture_percentage=config.staging.data_capture_percentage, after=[register])
    gate = build_quality_gate(params, evaluation_step=evaluate, report=report, if_steps=[register, staging])

    return Pipeline(
        name=config.pipeline_name,
        parameters=params.as_list(),
        steps=[prepare, train, evaluate, gate],
        sagemaker_session=session,
        pipeline_definition_config=PipelineDefinitionConfig(use_custom_job_prefix=True),
    )


def project_tags(config: PipelineConfig) -> dict[str, str]:
    """The tags SageMaker Projects puts on the resources of a project."""
    tags = {}
    if config.project.name:
        tags["sagemaker:project-name"] = config.project.name
    if config.project.id:
        tags["sagemaker:project-id"] = config.project.id
    return tags


# kwargs the SageMaker Projects built-in buildspec passes to get_pipeline, mapped to config keys.
SEED_KWARGS = {
    "region": "region",
    "role": "role_arn",
    "default_bucket": "bucket",
    "pipeline_name": "pipeline_name",
    "model_package_group_name": "model_package_group_name",
    "base_job_prefix": "base_job_prefix",
    "sagemaker_project_name": "project.name",
    "sagemaker_project_id": "project.id",
}


def seed_config(region: str | None = None, role: str | None = None, default_bucket: str | None = None,
                config_file: str | None = None, sagemaker_project_arn: str | None = None,
                **kwargs: Any) -> PipelineConfig:
    """The configuration the seed-code kwargs describe (see ``get_pipeline``).

    In a SageMaker Project the step images live in the ECR registry of the pipeline role's account and region; when
    no registry is configured (``images.registry``, ``IMAGE_REGISTRY``), that is the one used.

    Raises:
        ConfigError: a kwarg is not a known setting or has an invalid value.
    """
    named = {"region": region, "role": role, "default_bucket": default_bucket}
    overrides: dict[str, Any] = {}
    for key, value in {**named, **kwargs}.items():
        if value is not None:
            overrides[SEED_KWARGS.get(key, key)] = value
    if sagemaker_project_arn and "project.id" not in overrides:
        overrides["project.name"] = overrides.get("project.name") or sagemaker_project_arn.rsplit("/", 1)[-1]
    config = load_config(config_file, overrides=overrides)
    if config.images.registry is None and config.role_arn:
        account = config.role_arn.split(":")[4]
        suffix = ".cn" if config.region.startswith("cn-") else ""
        config = load_config(config_file, overrides={
            **overrides, "images.registry": f"{account}.dkr.ecr.{config.region}.amazonaws.com{suffix}"})
    return config


def get_pipeline(**kwargs: Any) -> Pipeline:
    """Seed-code entry point: ``run-pipeline --module-name pipelines.factory --kwargs '{...}'``.

    Accepts the kwargs the SageMaker Projects buildspec passes (region, role, default_bucket, pipeline_name,
    model_package_group_name, base_job_prefix, sagemaker_project_name/arn), ``config_file``, plus any dotted
    config key.

    Raises:
        ConfigError: a kwarg is not a known setting or has an invalid value.
    """
    return build_pipeline(seed_config(**kwargs))
