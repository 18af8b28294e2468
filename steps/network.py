"""VPC placement of the jobs, from the shared step context."""

from __future__ import annotations

from sagemaker.core.network import NetworkConfig

from steps.context import StepContext


def network_config(context: StepContext) -> NetworkConfig | None:
    """A processing NetworkConfig, or None when the jobs run outside a VPC and without isolation."""
    if not (context.subnets or context.enable_network_isolation):
        return None
    return NetworkConfig(
        subnets=list(context.subnets) or None,
        security_group_ids=list(context.security_group_ids) or None,
        enable_network_isolation=context.enable_network_isolation,
        encrypt_inter_container_traffic=True,
    )
