"""PrepareData's parallel decoding (decoding.py): the same results, in the same order, as one process; a worker
that dies fails the job instead of hanging it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from containers.common.contract import JobFailure
from containers.processing import decoding
from containers.processing.dataset import load
from containers.processing.readers import yolo
from containers.processing.safepath import InputRoot
from pipelines.sample_data import CLASS_NAMES
from tests.containers.conftest import place_tree

IDS = {name: index for index, name in enumerate(CLASS_NAMES)}


@pytest.fixture
def dataset(tmp_path, sample_raw):
    """The YOLO sample (48 images) with one corrupt image and one bad label, read as PrepareData reads it."""
    raw = tmp_path / "raw"
    place_tree(sample_raw("yolo"), raw)
    images = sorted((raw / "images").iterdir())
    images[5].write_bytes(images[5].read_bytes()[:300])
    label = next((raw / "labels").iterdir())
    label.write_text("0 0.5 0.5 0.2\n")

    def read():
        return yolo.read(InputRoot(raw))
    return read


def outcome(items, stage: Path) -> list:
    """What load() decided for every item, with the bytes of the image it staged (the names differ by run only)."""
    found = []
    for item in items:
        staged = Path(item.staged).read_bytes() if item.staged else None
        found.append((item.name, item.info, item.boxes, item.problem, staged, item.yolo_labels))
    return found


def test_workers_give_the_results_of_one_process_in_input_order(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(decoding, "CHUNK", 4)  # 48 images: 12 chunks, so both workers take several
    single, parallel = dataset(), dataset()
    load(single.items, 1, tmp_path / "one", IDS)
    load(parallel.items, 2, tmp_path / "two", IDS)
    assert outcome(parallel.items, tmp_path / "two") == outcome(single.items, tmp_path / "one")
    problems = [item.problem for item in parallel.items if item.problem]
    assert len(problems) == 2 and any("corrupt or truncated image" in p for p in problems)


def test_usable_items_are_handed_over_in_input_order_only_when_workers_decode(dataset, tmp_path, monkeypatch):
    """load() calls its ``usable`` hook with each usable item, in input order, where worker processes decode (the
    caller places it meanwhile); in one process it does not (the caller places everything after)."""
    monkeypatch.setattr(decoding, "CHUNK", 4)
    parallel, single = dataset(), dataset()
    handed: list = []
    load(parallel.items, 2, tmp_path / "two", IDS, handed.append)
    assert handed == [item for item in parallel.items if item.problem is None] and len(handed) == 46
    load(single.items, 1, tmp_path / "one", IDS, handed.append)
    assert len(handed) == 46


def test_a_worker_that_dies_fails_the_job_with_a_reason(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(decoding, "CHUNK", 4)
    parent = os.getpid()

    inspect_image = decoding.inspect_image

    def killed(path, copy_to):  # in a worker (forked with this patch): what the kernel's OOM killer does
        if os.getpid() != parent:
            os._exit(137)
        return inspect_image(path, copy_to)
    monkeypatch.setattr(decoding, "inspect_image", killed)
    with pytest.raises(JobFailure, match="worker processes died .* processing_instance_type"):
        load(dataset().items, 2, tmp_path / "stage", IDS)
