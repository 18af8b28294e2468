"""Step caching: SageMaker's key attributes, hits that return the cached run's outputs (per-execution output prefixes
included), misses (arguments, and where local mode is stricter than SageMaker: input data, image content, modified
outputs, each with a notice), damaged entries, expiry and ``no_cache``."""

from __future__ import annotations

import copy
import json
import os
import time
from datetime import timedelta

import pytest

from pipelines.local import LocalStore, StateDir, StepNotice, run_local
from pipelines.local.cache import KEY_ATTRIBUTES, CacheEntry, StepCache, cache_key, parse_duration
from tests.local.conftest import SMALL_PARAMETERS, steps_by_name, with_fakes

JOBS = ("PrepareData", "TrainYOLO", "EvaluateYOLO")


def run(definition, state, raw_dir, no_cache=False, events=None, **parameters):
    return run_local(definition, {**SMALL_PARAMETERS, "InputDataUri": str(raw_dir), **parameters}, state,
                     no_cache=no_cache, on_event=None if events is None else events.append)


def notices(events) -> list[tuple[str, str]]:
    return [(e.step, e.message) for e in events if isinstance(e, StepNotice)]


def hits(record) -> dict[str, bool]:
    return {name: record.step(name).cache_hit for name in JOBS if record.step(name)}


@pytest.fixture
def fake(factory_definition, fake_scripts):
    return with_fakes(factory_definition, fake_scripts)


def test_an_identical_rerun_reuses_every_job_and_its_outputs(fake, raw_dir, state_dir):
    first = run(fake, state_dir, raw_dir)
    second = run(fake, state_dir, raw_dir)
    assert second.status == "Succeeded"
    assert hits(first) == dict.fromkeys(JOBS, False)
    assert hits(second) == dict.fromkeys(JOBS, True)
    assert second.step("TrainYOLO").metadata["TrainingJob"] == first.step("TrainYOLO").metadata["TrainingJob"]
    assert second.step("TrainYOLO").metadata["Cache"] == f"reused the outputs of execution {first.execution_id}"
    assert second.step("TrainYOLO").log_path is None  # nothing ran
    assert second.step("RegisterYOLO").metadata["RegisterModel"]["Version"] == 2  # not a job: runs every time


def test_a_changed_parameter_reruns_the_job_that_reads_it_and_everything_downstream(fake, raw_dir, state_dir):
    run(fake, state_dir, raw_dir)
    changed = run(fake, state_dir, raw_dir, Epochs=4)
    assert hits(changed) == {"PrepareData": True, "TrainYOLO": False, "EvaluateYOLO": False}
    assert changed.step("TrainYOLO").metadata["Cache"] == "no earlier successful run with these arguments"


def test_changed_data_under_an_unchanged_input_uri_is_a_miss_with_a_notice(fake, raw_dir, state_dir):
    first = run(fake, state_dir, raw_dir)
    (raw_dir / "images" / "b.jpg").write_bytes(b"another image")
    events: list = []
    second = run(fake, state_dir, raw_dir, events=events)
    assert hits(second) == dict.fromkeys(JOBS, False)
    said = notices(events)
    assert said[0] == ("PrepareData", f"local mode differs from SageMaker: the data under input {raw_dir} changed "
                                      f"since the cached run ({first.execution_id}); SageMaker would reuse the cached "
                                      "run, local mode runs the step again")
    assert second.step("PrepareData").metadata["Notices"] == [said[0][1]]
    # the new splits are under this execution's prefix: TrainYOLO's arguments changed, as on SageMaker (no notice)
    assert len(said) == 1
    assert second.step("TrainYOLO").metadata["Cache"] == "no earlier successful run with these arguments"


def test_changed_image_content_is_a_miss(fake, raw_dir, state_dir, monkeypatch):
    from pipelines import images

    run(fake, state_dir, raw_dir)
    real = images.content_hash
    monkeypatch.setattr(images, "content_hash", lambda name: "edited" if name == "training" else real(name))
    events: list = []
    assert hits(run(fake, state_dir, raw_dir, events=events)) == {"PrepareData": True, "TrainYOLO": False,
                                                                  "EvaluateYOLO": False}
    step, message = notices(events)[0]
    image_uri = steps_by_name(fake)["TrainYOLO"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert step == "TrainYOLO" and f"the code of image {image_uri} changed since the cached run" in message


def test_outputs_rewritten_since_are_a_miss(fake, raw_dir, state_dir):
    first = run(fake, state_dir, raw_dir)
    store = LocalStore(StateDir.at(state_dir).store)
    report = store.path(first.step("EvaluateYOLO").metadata["ProcessingJob"]["Outputs"]["evaluation"])
    (report / "evaluation.json").write_text("{}")
    second = run(fake, state_dir, raw_dir)
    assert hits(second) == {"PrepareData": True, "TrainYOLO": True, "EvaluateYOLO": False}
    evaluation = first.step("EvaluateYOLO").metadata["ProcessingJob"]["Outputs"]["evaluation"]
    assert second.step("EvaluateYOLO").metadata["Cache"] == (
        f"output {evaluation} of the cached run ({first.execution_id}) was modified or removed since (content digest "
        "differs)")


def test_a_model_altered_in_place_with_its_size_and_mtime_kept_is_a_miss(fake, raw_dir, state_dir):
    first = run(fake, state_dir, raw_dir)
    model = LocalStore(StateDir.at(state_dir).store).path(
        first.step("TrainYOLO").metadata["TrainingJob"]["ModelArtifacts"])
    before = model.stat()
    with model.open("r+b") as handle:
        handle.seek(20)
        handle.write(bytes(16))
    os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (model.stat().st_size, model.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    events: list = []
    second = run(fake, state_dir, raw_dir, events=events)
    assert hits(second) == {"PrepareData": True, "TrainYOLO": False, "EvaluateYOLO": False}
    assert ("TrainYOLO", f"local mode differs from SageMaker: output {model_uri(first)} of the cached run "
                         f"({first.execution_id}) was modified or removed since (content digest differs); SageMaker "
                         "would reuse the cached run, local mode runs the step again") in notices(events)


def model_uri(record) -> str:
    return record.step("TrainYOLO").metadata["TrainingJob"]["ModelArtifacts"]


def test_outputs_under_per_execution_prefixes_hit_and_resolve_to_the_cached_runs_outputs(fake, raw_dir, state_dir):
    """Outputs are in no key (SageMaker's key attributes): a hit returns the cached execution's output URIs, so the
    steps downstream read the same URIs and hit too. The factory puts every job output under
    ExecutionVariables.PIPELINE_EXECUTION_ID (checkpoints stay at a cache-stable prefix)."""
    definition = fake
    steps = steps_by_name(definition)
    assert "Execution.PipelineExecutionId" in json.dumps(steps["PrepareData"]["Arguments"]["ProcessingOutputConfig"])
    assert "Execution.PipelineExecutionId" in json.dumps(steps["TrainYOLO"]["Arguments"]["OutputDataConfig"])
    first = run(definition, state_dir, raw_dir)
    store = LocalStore(StateDir.at(state_dir).store)
    train_uri = first.step("PrepareData").metadata["ProcessingJob"]["Outputs"]["train"]
    assert first.execution_id in train_uri and store.path(train_uri).is_dir()

    second = run(definition, state_dir, raw_dir)
    assert hits(second) == dict.fromkeys(JOBS, True)
    for name in ("PrepareData", "EvaluateYOLO"):
        assert second.step(name).metadata["ProcessingJob"] == first.step(name).metadata["ProcessingJob"]
    assert model_uri(second) == model_uri(first)
    assert second.step("RegisterYOLO").status == "Succeeded"

    third = run(definition, state_dir, raw_dir, Epochs=4)  # a new model, under the third execution's prefix
    assert hits(third) == {"PrepareData": True, "TrainYOLO": False, "EvaluateYOLO": False}
    assert third.execution_id in model_uri(third) and store.path(model_uri(third)).is_file()
    assert store.path(model_uri(first)).is_file()  # the first execution's outputs stay where they were
    assert third.execution_id in third.step("EvaluateYOLO").metadata["ProcessingJob"]["Outputs"]["evaluation"]


def test_a_damaged_cache_entry_is_discarded_with_a_notice_and_rebuilt(fake, raw_dir, state_dir):
    run(fake, state_dir, raw_dir)
    (entry,) = (state_dir / "cache" / "TrainYOLO").glob("*.json")
    entry.write_text(entry.read_text()[:40])
    events: list = []
    second = run(fake, state_dir, raw_dir, events=events)
    assert second.status == "Succeeded"
    assert hits(second) == {"PrepareData": True, "TrainYOLO": False, "EvaluateYOLO": False}
    step, message = notices(events)[0]
    assert step == "TrainYOLO" and message.startswith(f"discarded the damaged cache entry {entry} (")
    assert hits(run(fake, state_dir, raw_dir)) == dict.fromkeys(JOBS, True)  # rebuilt


def test_no_cache_runs_every_job(fake, raw_dir, state_dir):
    run(fake, state_dir, raw_dir)
    forced = run(fake, state_dir, raw_dir, no_cache=True)
    assert hits(forced) == dict.fromkeys(JOBS, False)
    assert forced.step("PrepareData").metadata["Cache"] == "not looked up (no_cache)"


def test_expired_entries_and_disabled_caching_are_misses(fake, raw_dir, state_dir):
    edited = copy.deepcopy(fake)
    steps = steps_by_name(edited)
    steps["PrepareData"]["CacheConfig"]["ExpireAfter"] = "PT0S"
    steps["TrainYOLO"]["CacheConfig"]["Enabled"] = False
    run(edited, state_dir, raw_dir)
    second = run(edited, state_dir, raw_dir)
    assert hits(second) == {"PrepareData": False, "TrainYOLO": False, "EvaluateYOLO": False}
    assert "older than ExpireAfter PT0S" in second.step("PrepareData").metadata["Cache"]
    assert "Cache" not in second.step("TrainYOLO").metadata


def test_lookup_honours_expire_after(tmp_path):
    store = LocalStore(tmp_path / "store")
    cache = StepCache(tmp_path / "cache", store)
    created = time.time()
    cache.save(CacheEntry("k", "TrainYOLO", "exec1", created, {"A": 1}, {}))
    assert cache.lookup("TrainYOLO", "k", "P30D", now=created + timedelta(days=29).total_seconds()).entry.properties \
        == {"A": 1}
    expired = cache.lookup("TrainYOLO", "k", "P30D", now=created + timedelta(days=30).total_seconds())
    assert expired.entry is None and expired.reason == "the earlier run (exec1) is older than ExpireAfter P30D"
    assert cache.lookup("TrainYOLO", "k", None, now=created + 1e9).entry is not None  # no ExpireAfter: no expiry
    assert cache.lookup("TrainYOLO", "other", "P30D").entry is None


@pytest.mark.parametrize("kind", ["Processing", "Training"])
def test_the_key_is_sagemakers_documented_attributes(factory_definition, kind):
    """AWS doc "Default cache key attributes by pipeline step type": each listed attribute changes the key; job
    names, outputs, resources and stopping conditions do not."""
    name = {"Processing": "PrepareData", "Training": "TrainYOLO"}[kind]
    arguments = steps_by_name(factory_definition)[name]["Arguments"]
    key = cache_key(name, kind, arguments)
    for attribute in KEY_ATTRIBUTES[kind]:
        assert cache_key(name, kind, {**arguments, attribute: {"changed": True}}) != key, attribute
    for attribute in ("ProcessingJobName", "TrainingJobName", "ProcessingOutputConfig", "OutputDataConfig",
                      "ProcessingResources", "ResourceConfig", "StoppingCondition", "RoleArn"):
        assert cache_key(name, kind, {**arguments, attribute: {"changed": True}}) == key, attribute
    assert cache_key("Other", kind, arguments) != key


@pytest.mark.parametrize(("text", "expected"), [
    ("P30D", timedelta(days=30)), ("PT12H", timedelta(hours=12)), ("P1W", timedelta(days=7)),
    ("P1Y2M", timedelta(days=425)), ("P1DT1H30M5S", timedelta(days=1, hours=1, minutes=30, seconds=5)),
    ("PT0S", timedelta(0)),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["30D", "P", "PT", "P1DT", "P1.5D", ""])
def test_parse_duration_rejects_what_is_not_iso_8601(text):
    with pytest.raises(ValueError, match="is not an ISO 8601 duration such as P30D or PT12H"):
        parse_duration(text)
