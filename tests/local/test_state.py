"""The state directory: owner-only permissions, and a copy or a move refused instead of writing into the original
(MLflow keeps absolute paths)."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

from pipelines.cli.main import main
from pipelines.local import LocalModeError, LocalRegistry, StateDir, tracking


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_state_directory_and_its_mlflow_store_are_owner_only(tmp_path):
    state = StateDir.at(tmp_path / "fresh")
    tracking.client(state)  # creates the directory and the store's file (SQLite keeps the mode of a file it opens)
    assert mode(state.root) == 0o700
    assert mode(state.mlflow_db) == 0o600


def test_a_copied_or_moved_state_directory_is_refused(state_dir, tmp_path, capsys):
    original = StateDir.at(state_dir).ensure()
    copy = tmp_path / "copy"
    shutil.copytree(original.root, copy)
    with pytest.raises(LocalModeError, match=f"is a copy or a move of {original.root}: MLflow keeps absolute paths"):
        LocalRegistry(copy).groups()
    assert main(["run", "--local", "--state-dir", str(copy)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: the local state directory {copy} is a copy or a move of {original.root}: MLflow keeps "
                   f"absolute paths there, so it would write into the original; use {original.root}, or start afresh "
                   "in an empty state directory"]
    assert not (copy / "definitions").exists()
    assert StateDir.at(state_dir).ensure() == original  # the original still works


def test_a_state_directory_that_is_a_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "state"
    path.write_text("not a directory")
    assert main(["run", "--local", "--state-dir", str(path)]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: the local state directory {path} is a file: remove it or choose another directory (--state-dir or "
        "YOLO_PIPELINE_HOME)"]


def test_a_damaged_compiled_definition_is_discarded_with_a_warning_and_rebuilt(factory_definition, tmp_path, capsys):
    from pipelines.compiled import compiled_definition, definition_key
    from pipelines.config import load_config

    config = load_config()
    damaged = tmp_path / f"{definition_key(config)}.json"
    damaged.write_text('{"Version": "2020-12-01", "Steps": [')
    rebuilt = compiled_definition(config, tmp_path)
    assert json.loads(rebuilt)["Steps"] and json.loads(damaged.read_text()) == json.loads(rebuilt)
    assert capsys.readouterr().err.startswith(f"warning: discarded the damaged compiled definition {damaged} (")
