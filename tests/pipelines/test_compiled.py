"""Compiled definitions on disk: a hit is byte for byte what the factory builds; any input that matters misses."""

from __future__ import annotations

import pytest

from pipelines import compiled
from pipelines.config import load_config
from pipelines.factory import build_pipeline


def test_a_hit_is_the_factorys_json_and_builds_nothing(tmp_path, monkeypatch):
    config = load_config(environ={})
    first = compiled.compiled_definition(config, tmp_path)
    assert first == build_pipeline(config).definition()
    monkeypatch.setattr("pipelines.factory.build_pipeline", lambda *a, **k: pytest.fail("built again"))
    assert compiled.compiled_definition(config, tmp_path) == first
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_the_key_follows_what_the_definition_depends_on():
    key = compiled.definition_key(load_config(environ={}))
    assert compiled.definition_key(load_config(environ={})) == key
    assert compiled.definition_key(load_config(overrides={"parameters.epochs": 5}, environ={})) != key
    assert compiled.definition_key(load_config(overrides={"images.tag": "v2"}, environ={})) != key
    assert compiled.definition_key(load_config(overrides={"local.parameters": {"Epochs": 3}}, environ={})) == key


def test_the_key_follows_the_builders_code(tmp_path, monkeypatch):
    root = tmp_path / "root"
    for source in compiled._BUILDER_SOURCES:
        target = root / source
        if source.endswith(".py"):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("# builder\n")
        else:
            target.mkdir(parents=True)
            (target / "training.py").write_text("# step\n")
    monkeypatch.setattr(compiled, "_PACKAGE_ROOT", root)
    config = load_config(environ={})
    key = compiled.definition_key(config)
    (root / "steps" / "training.py").write_text("# step, changed\n")
    assert compiled.definition_key(config) != key
