"""Step caching: hits, misses (arguments, inputs, image content, rewritten outputs), expiry and ``no_cache``."""

from __future__ import annotations

import copy
import time
from datetime import timedelta

import pytest

from pipelines.local import LocalStore, StateDir, run_local
from pipelines.local.cache import CacheEntry, StepCache, cache_key, parse_duration
from tests.local.conftest import SMALL_PARAMETERS, steps_by_name, with_fakes

JOBS = ("PrepareData", "TrainYOLO", "EvaluateYOLO")


def run(definition, state, raw_dir, no_cache=False, **parameters):
    return run_local(definition, {**SMALL_PARAMETERS, "InputDataUri": str(raw_dir), **parameters}, state,
                     no_cache=no_cache)


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
    assert changed.step("TrainYOLO").metadata["Cache"] == \
        "no earlier successful run with these arguments, inputs and image"


def test_changed_input_data_is_a_miss(fake, raw_dir, state_dir):
    run(fake, state_dir, raw_dir)
    (raw_dir / "images" / "b.jpg").write_bytes(b"another image")
    assert hits(run(fake, state_dir, raw_dir)) == dict.fromkeys(JOBS, False)


def test_changed_image_content_is_a_miss(fake, raw_dir, state_dir, monkeypatch):
    from pipelines import images

    run(fake, state_dir, raw_dir)
    real = images.content_hash
    monkeypatch.setattr(images, "content_hash", lambda name: "edited" if name == "training" else real(name))
    assert hits(run(fake, state_dir, raw_dir)) == {"PrepareData": True, "TrainYOLO": False, "EvaluateYOLO": False}


def test_outputs_rewritten_since_are_a_miss(fake, raw_dir, state_dir):
    first = run(fake, state_dir, raw_dir)
    store = LocalStore(StateDir.at(state_dir).store)
    report = store.path(first.step("EvaluateYOLO").metadata["ProcessingJob"]["Outputs"]["evaluation"])
    (report / "evaluation.json").write_text("{}")
    second = run(fake, state_dir, raw_dir)
    assert hits(second) == {"PrepareData": True, "TrainYOLO": True, "EvaluateYOLO": False}
    assert second.step("EvaluateYOLO").metadata["Cache"].startswith(
        "s3://yolo-pipelines-artifacts/yolo11-detection/evaluation changed since the earlier run")


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


def test_the_key_ignores_the_job_name_only():
    arguments = {"ProcessingJobName": "a", "AppSpecification": {"ImageUri": "x"}}
    key = cache_key("S", "Processing", arguments, "digest", {"s3://b/in": "f1"})
    assert key == cache_key("S", "Processing", {**arguments, "ProcessingJobName": "b"}, "digest", {"s3://b/in": "f1"})
    assert key != cache_key("S", "Processing", arguments, "digest", {"s3://b/in": "f2"})
    assert key != cache_key("S", "Processing", arguments, "digest2", {"s3://b/in": "f1"})
    assert key != cache_key("T", "Processing", arguments, "digest", {"s3://b/in": "f1"})


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
