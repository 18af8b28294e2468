"""A PrepareData job run as its real entrypoint (a process with its own /opt/ml), and what tests read back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.containers.conftest import JobResult, place_tree, run_entrypoint

MODULE = "containers.processing.prepare_data"
SPLITS = ("train", "val", "test")


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


class Job:
    """One PrepareData job: a copy of a sample dataset as its raw input, to be altered before it runs."""

    def __init__(self, tmp_path: Path, sample: Path | None):
        self.opt_ml = tmp_path / "opt_ml"
        self.raw = self.opt_ml / "processing" / "input" / "raw"
        self.raw.mkdir(parents=True)
        if sample is not None:
            place_tree(sample, self.raw)

    @property
    def output(self) -> Path:
        return self.opt_ml / "processing" / "output"

    def run(self, *args: str) -> JobResult:
        return run_entrypoint(MODULE, list(args), self.opt_ml, timeout=120)

    def run_with_env(self, env: dict[str, str], *args: str) -> JobResult:
        return run_entrypoint(MODULE, list(args), self.opt_ml, env=env, timeout=120)

    def report(self) -> dict:
        return json.loads((self.output / "report" / "data_report.json").read_text())

    def succeed(self, *args: str) -> dict:
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        assert result.failure is None
        return self.report()

    def fail(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 1, result.stderr
        assert result.failure, "a failed job must leave /opt/ml/output/failure"
        assert result.failure in " ".join(result.stderr.split())
        return result.failure


def labels_of(output: Path) -> dict[str, str]:
    return {f"{split}/{p.name}": p.read_text()
            for split in SPLITS for p in sorted((output / split / "labels").iterdir())}
