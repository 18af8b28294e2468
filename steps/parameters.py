"""The runtime parameters of the pipeline: what an execution may change without a new definition."""

from __future__ import annotations

from dataclasses import dataclass, fields

from sagemaker.core.workflow.parameters import (
    Parameter,
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)

_KINDS = {
    "ParameterString": (ParameterString, str),
    "ParameterInteger": (ParameterInteger, int),
    "ParameterFloat": (ParameterFloat, float),
    "ParameterBoolean": (ParameterBoolean, bool),
}


@dataclass(frozen=True)
class PipelineParameters:
    """One attribute per pipeline parameter; the attribute's name in CamelCase is the parameter's name."""

    input_data_uri: ParameterString
    processing_instance_type: ParameterString
    training_instance_type: ParameterString
    training_instance_count: ParameterInteger
    evaluation_instance_type: ParameterString
    model_variant: ParameterString
    epochs: ParameterInteger
    image_size: ParameterInteger
    batch_size: ParameterInteger
    patience: ParameterInteger
    optimizer: ParameterString
    learning_rate: ParameterFloat
    warmup_epochs: ParameterFloat
    data_loader_workers: ParameterInteger
    map_threshold: ParameterFloat
    regression_tolerance: ParameterFloat
    pretrained_weights_uri: ParameterString
    baseline_model_uri: ParameterString
    model_approval_status: ParameterString
    deploy_staging: ParameterBoolean

    @classmethod
    def with_defaults(cls, **defaults) -> PipelineParameters:
        """Create every parameter with its default value (keyword names as the attributes)."""
        made = {}
        for item in fields(cls):
            kind, cast = _KINDS[str(item.type)]  # a string: annotations are postponed
            made[item.name] = kind(name=_camel(item.name), default_value=cast(defaults[item.name]))
        return cls(**made)

    def as_list(self) -> list[Parameter]:
        return [getattr(self, item.name) for item in fields(self)]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
