"""SageMaker Projects seed code for one project: ``seed_code/`` rendered with jinja2 and zipped per repository.

Output (``render(name, out)``): ``project_template/project.yml`` (the Service Catalog product's template),
``modeldeploy/`` and ``modeldeploy.zip`` (the model deploy repository), ``modelbuild.zip`` (this repository's source:
the model build repository). CodeCommit seeds a repository from a zip in S3 whose entries sit at the repository
root (AWS page: "AWS::CodeCommit::Repository Code"), so the zips have no top-level folder. Only the configuration
files (YAML, JSON, Markdown) are jinja templates; code and images are copied as they are. Entries are written in
sorted order with a fixed timestamp, so the same source gives byte-identical zips.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import zipfile
from pathlib import Path
from types import ModuleType

__all__ = ["RenderError", "load_script", "render", "repository_root"]

TEMPLATE_SUFFIXES = (".yml", ".yaml", ".json", ".md")
PROJECT_NAME = re.compile(r"^[a-zA-Z](-*[a-zA-Z0-9]){0,31}$")  # SageMaker's project name pattern
# The model build repository: the package, its tests and what builds and checks it.
MODEL_BUILD_FILES = ("setup.py", "README.md", "buildspec.yml", "Makefile", "pytest.ini", "ruff.toml", "mypy.ini",
                     ".importlinter", ".hadolint.yaml", ".gitignore", "requirements-iac.txt")
MODEL_BUILD_DIRS = ("pipelines", "steps", "containers", "tests", "benchmarks", "seed_code")
_SKIPPED = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


class RenderError(ValueError):
    """A project name SageMaker would refuse, or no seed code to render."""


def repository_root() -> Path:
    """The source checkout this package runs from (the seed code is not part of an installed wheel)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "seed_code").is_dir():
        raise RenderError(f"no seed_code/ beside {root / 'pipelines'}: render from a source checkout (pip install -e)")
    return root


def load_script(path: Path) -> ModuleType:
    """A standalone seed code script (``modeldeploy/build.py``, ``modeldeploy/test/smoke_test.py``) as a module, so
    local mode and the tests run the very code CodeBuild runs."""
    spec = importlib.util.spec_from_file_location(f"seed_code_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise RenderError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                  and not any(part in _SKIPPED or part.endswith(".egg-info") for part in p.parts)
                  and p.suffix not in (".pyc", ".pyo"))


def _render_tree(source: Path, target: Path, values: dict[str, str]) -> None:
    from jinja2 import Environment, StrictUndefined

    environment = Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    for file in _files(source):
        out = target / file.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        if file.suffix in TEMPLATE_SUFFIXES:
            out.write_text(environment.from_string(file.read_text(encoding="utf-8")).render(values), encoding="utf-8")
        else:
            shutil.copy2(file, out)


def _zip(entries: list[tuple[Path, str]], archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path, name in sorted(entries, key=lambda entry: entry[1]):
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, path.read_bytes())
    return archive


def render(project_name: str, out: Path, *, project_id: str = "p-local", seed_bucket: str = "seed-code-bucket",
           seed_prefix: str = "") -> dict[str, Path]:
    """Render the seed code for ``project_name`` into ``out``; returns what was written by kind.

    Raises:
        RenderError: the project name is not a valid SageMaker project name, or there is no seed code.
    """
    if not PROJECT_NAME.match(project_name):
        raise RenderError(f"project name {project_name!r} is not a SageMaker project name: 1-32 letters, digits and "
                          "hyphens, starting with a letter")
    root = repository_root()
    values = {"project_name": project_name, "project_id": project_id, "seed_bucket": seed_bucket,
              "seed_prefix": seed_prefix}
    out = Path(out)
    for folder in ("project_template", "modeldeploy"):
        shutil.rmtree(out / folder, ignore_errors=True)
        _render_tree(root / "seed_code" / folder, out / folder, values)
    deploy = out / "modeldeploy"
    build_entries = [(root / name, name) for name in MODEL_BUILD_FILES if (root / name).is_file()]
    for folder in MODEL_BUILD_DIRS:
        build_entries += [(file, file.relative_to(root).as_posix()) for file in _files(root / folder)]
    return {
        "project_template": out / "project_template" / "project.yml",
        "modeldeploy": deploy,
        "modeldeploy_zip": _zip([(f, f.relative_to(deploy).as_posix()) for f in _files(deploy)],
                                out / "modeldeploy.zip"),
        "modelbuild_zip": _zip(build_entries, out / "modelbuild.zip"),
    }
