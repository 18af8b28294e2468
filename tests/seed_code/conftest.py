"""Fixtures of the seed code tests: the seed code rendered for one project (what is linted, zipped and deployed),
and its standalone scripts (build.py, the smoke test) loaded from there."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from pipelines.seed_code import render

PROJECT = "demo"


def load_script(path: Path) -> ModuleType:
    """A seed code script as a module (it is not part of the package: CodeBuild runs it as a file)."""
    spec = importlib.util.spec_from_file_location(f"seed_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, Path]:
    return render(PROJECT, tmp_path_factory.mktemp("seed"), project_id="p-demo123")


@pytest.fixture(scope="session")
def build_script(rendered) -> ModuleType:
    return load_script(rendered["modeldeploy"] / "build.py")


@pytest.fixture(scope="session")
def smoke_test(rendered) -> ModuleType:
    return load_script(rendered["modeldeploy"] / "test" / "smoke_test.py")
