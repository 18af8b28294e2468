"""What SageMaker's step cache sees across executions of the definition the factory emits.

SageMaker keys a cached step on the attributes listed in the AWS doc "Default cache key attributes by pipeline step
type" (``KEY_ATTRIBUTES``), taken from the step's resolved arguments. Outputs are in no key. These executions run
through local mode, which resolves the arguments exactly as an execution does, and record them; the assertions are
about SageMaker's keys, not about local mode's stricter cache.
"""

from __future__ import annotations

import shutil

import pytest

from pipelines.local import executor, run_local
from pipelines.local.cache import KEY_ATTRIBUTES
from tests.local.conftest import SMALL_PARAMETERS, with_fakes

JOBS = {"TrainYOLO": "Training", "EvaluateYOLO": "Processing"}


@pytest.fixture
def resolved(monkeypatch):
    """Each step's resolved arguments per execution, as the executor hands them to the cache and the registry."""
    seen: list[dict[str, dict]] = []
    original_key, original_register = executor.cache_key, executor.register_model

    def cache_key(step_name, step_type, arguments):
        seen[-1][step_name] = arguments
        return original_key(step_name, step_type, arguments)

    def register_model(arguments, **kwargs):
        seen[-1]["RegisterYOLO"] = arguments
        return original_register(arguments, **kwargs)

    monkeypatch.setattr(executor, "cache_key", cache_key)
    monkeypatch.setattr(executor, "register_model", register_model)

    def execute(definition, state, input_dir):
        seen.append({})
        record = run_local(definition, {**SMALL_PARAMETERS, "InputDataUri": str(input_dir), "MapThreshold": 0.0},
                           state)
        assert record.status == "Succeeded", record.failure_reason
        return seen[-1]

    return execute


def key_attributes(arguments: dict, step: str) -> dict:
    return {name: arguments.get(name) for name in KEY_ATTRIBUTES[JOBS[step]]}


def test_new_input_data_changes_the_downstream_keys_and_a_rerun_changes_none(
        factory_definition, fake_scripts, raw_dir, state_dir, tmp_path, resolved):
    definition = with_fakes(factory_definition, fake_scripts)
    first = resolved(definition, state_dir, raw_dir)
    rerun = resolved(definition, state_dir, raw_dir)
    other_data = tmp_path / "raw-v2"
    shutil.copytree(raw_dir, other_data)
    new_input = resolved(definition, state_dir, other_data)

    for step in JOBS:
        assert key_attributes(rerun[step], step) == key_attributes(first[step], step), step
        assert key_attributes(new_input[step], step) != key_attributes(first[step], step), step
    # the same data under a new URI: PrepareData reruns, and its new outputs reach training through InputDataConfig
    assert new_input["TrainYOLO"]["InputDataConfig"] != first["TrainYOLO"]["InputDataConfig"]
    assert new_input["TrainYOLO"]["CheckpointConfig"] != first["TrainYOLO"]["CheckpointConfig"]
    assert rerun["TrainYOLO"]["CheckpointConfig"] == first["TrainYOLO"]["CheckpointConfig"]

    metrics = [run["RegisterYOLO"]["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
               for run in (first, new_input)]
    assert metrics[0] != metrics[1] and all(uri.endswith("/evaluation/evaluation.json") for uri in metrics)
