"""What every step builder shares: the session, the role, encryption, networking, caching and retries.

The factory fills a ``StepContext`` from the pipeline configuration, so the step modules stay independent of how
configuration is loaded (the ``steps`` layer never imports ``pipelines``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.mlops.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import CacheConfig


@dataclass(frozen=True)
class Images:
    """Image URIs of the three step images."""

    processing: str
    training: str
    inference: str


@dataclass(frozen=True)
class StepContext:
    """Settings shared by the job steps of one pipeline."""

    session: PipelineSession
    role_arn: str
    s3_root: str
    base_job_prefix: str
    images: Images
    kms_key_id: str | None = None
    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    enable_network_isolation: bool = False
    cache_enabled: bool = True
    cache_expire_after: str = "P30D"
    tags: tuple[tuple[str, str], ...] = ()

    def s3_uri(self, *parts: str) -> str:
        return "/".join([self.s3_root.rstrip("/"), *parts])

    def execution_s3_uri(self, *parts: str) -> Join:
        """``<s3_root>/executions/<execution id>/<parts>``: where a job of this execution writes its outputs.

        Outputs are not part of SageMaker's step cache keys (AWS doc "Default cache key attributes by pipeline step
        type"), so per-execution prefixes keep caching: a cache hit returns the outputs of the execution that produced
        them. A fixed prefix would make a new upstream output look identical downstream (a stale cache hit), and
        EndOfJob uploads never delete, so files of an earlier split would linger under it.
        """
        return Join(on="/", values=[self.s3_uri("executions"), ExecutionVariables.PIPELINE_EXECUTION_ID, *parts])

    def job_name(self, job: str) -> str:
        """The name prefix of a job: IAM policies that scope jobs by name rely on ``base_job_prefix``."""
        return f"{self.base_job_prefix}-{job}"

    @property
    def cache_config(self) -> CacheConfig:
        return CacheConfig(enable_caching=self.cache_enabled, expire_after=self.cache_expire_after)

    @property
    def tag_list(self) -> list[dict[str, str]]:
        return [{"Key": key, "Value": value} for key, value in self.tags]

    @property
    def job_retry_policies(self) -> list:
        """Retry throttling and capacity shortages (spot and GPU capacity come and go); never user errors."""
        return [
            StepRetryPolicy(
                exception_types=[StepExceptionTypeEnum.THROTTLING, StepExceptionTypeEnum.SERVICE_FAULT],
                interval_seconds=30, backoff_rate=2.0, max_attempts=5,
            ),
            SageMakerJobStepRetryPolicy(
                exception_types=[SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                                 SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
                                 SageMakerJobExceptionTypeEnum.INTERNAL_ERROR],
                interval_seconds=60, backoff_rate=2.0, max_attempts=5,
            ),
        ]
