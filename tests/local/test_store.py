"""The local object store: URI mapping, fetch, atomic replace on upload, fingerprints, JSON reads."""

from __future__ import annotations

import os

import pytest

from pipelines.local import LocalStore, StepFailure


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def test_s3_uris_map_into_the_store_and_local_paths_stay_put(store, tmp_path):
    assert store.path("s3://bucket/a/b/") == store.root / "bucket" / "a" / "b"
    assert store.path("s3://bucket") == store.root / "bucket"
    assert store.path(str(tmp_path / "data")) == tmp_path / "data"
    assert store.path(f"file://{tmp_path}/my%20data") == tmp_path / "my data"


@pytest.mark.parametrize("uri", ["s3:///key", "s3://bucket/../../etc/passwd", "s3://../x"])
def test_uris_that_would_leave_the_store_are_refused(store, uri):
    with pytest.raises(StepFailure, match="is not an S3 URI local mode can map"):
        store.path(uri)


def test_put_replaces_a_prefix_and_fetch_copies_it(store, tmp_path):
    first = tmp_path / "first"
    (first / "sub").mkdir(parents=True)
    (first / "sub" / "stale.txt").write_text("old")
    (first / "keep.txt").write_text("v1")
    store.put(first, "s3://b/out")
    second = tmp_path / "second"
    second.mkdir()
    (second / "keep.txt").write_text("v2")
    store.put(second, "s3://b/out")
    assert sorted(p.name for p in store.path("s3://b/out").rglob("*")) == ["keep.txt"]
    assert not [p for p in store.path("s3://b").iterdir() if p.name.startswith(".")]  # no staging leftovers
    fetched = tmp_path / "job" / "input"
    store.fetch("s3://b/out", fetched)
    assert (fetched / "keep.txt").read_text() == "v2"


def test_a_single_object_lands_under_its_name(store, tmp_path):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"tar")
    store.put(archive, "s3://b/models/job/output/model.tar.gz")
    store.fetch("s3://b/models/job/output/model.tar.gz", tmp_path / "in")
    assert (tmp_path / "in" / "model.tar.gz").read_bytes() == b"tar"


def test_missing_data_says_where_it_looked(store, tmp_path):
    expected = r"s3://b/none is not in the local object store \(looked for .*store/b/none\)"
    with pytest.raises(StepFailure, match=expected):
        store.fetch("s3://b/none", tmp_path / "x")
    with pytest.raises(StepFailure, match="/no/such/dir does not exist"):
        store.existing("/no/such/dir")


def test_fingerprint_changes_when_a_file_is_rewritten(store, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    before = store.fingerprint(str(folder))
    assert before == store.fingerprint(str(folder))
    os.utime(folder / "a.txt", ns=(1, 1))
    assert store.fingerprint(str(folder)) != before
    assert store.fingerprint("s3://b/nothing") is None


def test_read_json_reports_a_broken_file(store, tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(StepFailure, match="bad.json is not a readable JSON file"):
        store.read_json(str(tmp_path / "bad.json"))
