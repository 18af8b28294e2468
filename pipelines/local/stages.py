"""Local rehearsal of the model deploy pipeline: staging and prod endpoints of the newest Approved version.

On AWS an approval starts the model deploy CodePipeline: build.py picks the newest Approved package, CloudFormation
deploys the staging endpoint ``<project>-staging``, the smoke test runs against it, a person approves, and prod
``<project>-prod`` follows. A rejection starts the same pipeline, which then picks the previous approved version.
Here the same steps run against local endpoints of the same names: ``deploy`` for one stage (prod only with
``approve=True`` and only the version staging serves and has tested), ``after_rejection`` for what the EventBridge
rule does. The smoke test is injected (the seed code's own ``test/smoke_test.py``). Each stage's deployment is
recorded in ``<state>/deployments/<stage>.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.local.endpoint import get_endpoint, start_endpoint
from pipelines.local.errors import LocalModeError
from pipelines.local.records import now_iso
from pipelines.local.registry import LocalRegistry, ModelVersion
from pipelines.local.state import StateDir

__all__ = ["STAGES", "Deployment", "SmokeTest", "after_rejection", "deploy", "deployment", "endpoint_name"]

STAGES = ("staging", "prod")
# (invocations URL, deployed model.tar.gz) -> (passed, summary)
SmokeTest = Callable[[str, Path], tuple[bool, str]]


@dataclass(frozen=True)
class Deployment:
    stage: str
    endpoint: str
    url: str
    group: str
    version: int
    smoke_test: str
    passed: bool
    deployed_at: str


def endpoint_name(project: str, stage: str) -> str:
    """The CloudFormation template's ``${SageMakerProjectName}-${StageName}``."""
    return f"{project}-{stage}"


def _record(state: StateDir, stage: str) -> Path:
    return state.root / "deployments" / f"{stage}.json"


def deployment(state_dir: str | os.PathLike[str] | StateDir | None, stage: str) -> Deployment | None:
    """What ``stage`` was last deployed with, or None."""
    path = _record(StateDir.at(state_dir), stage)
    return Deployment(**json.loads(path.read_text())) if path.is_file() else None


def _newest_approved(registry: LocalRegistry, group: str) -> ModelVersion:
    newest = registry.latest(group, "Approved")
    if newest is None:
        raise LocalModeError(f"model package group {group!r} has no Approved version: approve one "
                             "(yolo-pipeline registry approve VERSION --local) to deploy it")
    return newest


def deploy(state_dir: str | os.PathLike[str] | StateDir | None, *, group: str, project: str, stage: str,
           smoke_test: SmokeTest, approve: bool = False) -> Deployment:
    """Deploy the newest Approved version of ``group`` to ``stage`` and smoke-test it.

    Raises:
        LocalModeError: nothing approved; prod without ``approve`` or before staging served and passed that
            version; the endpoint does not start; or the smoke test fails (the message says why; the endpoint is
            left running to be looked at, as a failed CodePipeline stage leaves it).
    """
    if stage not in STAGES:
        raise LocalModeError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    state = StateDir.at(state_dir)
    version = _newest_approved(LocalRegistry(state), group)
    if stage == "prod":
        staged = deployment(state, "staging")
        if staged is None or staged.group != group or staged.version != version.version or not staged.passed:
            raise LocalModeError(f"prod deploys what staging serves and has tested: version {version.version} of "
                                 f"{group} is not on staging with a passed smoke test yet; run "
                                 "`yolo-pipeline deploy --stage staging --local` first")
        if not approve:
            raise LocalModeError(f"version {version.version} passed its staging smoke test; prod waits for the "
                                 "manual approval: run again with --approve")
    name = endpoint_name(project, stage)
    endpoint = start_endpoint(state, name, version.model_path)
    passed, summary = smoke_test(endpoint.invocations_url, version.model_path)
    record = Deployment(stage=stage, endpoint=name, url=endpoint.url, group=group, version=version.version,
                        smoke_test=summary, passed=passed, deployed_at=now_iso())
    path = _record(state, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=2))
    if not passed:
        raise LocalModeError(f"smoke test of {name} (version {version.version}) failed: {summary}")
    return record


def after_rejection(state_dir: str | os.PathLike[str] | StateDir | None, *, group: str, version: int,
                    project: str, smoke_test: SmokeTest) -> list[str]:
    """What the model package rule does when ``version`` is rejected: staging, if it serves that version, gets the
    newest version still approved (and its smoke test); prod keeps serving until a person approves the new one.
    Returns what was done, one line each."""
    state = StateDir.at(state_dir)
    done = []
    staged = deployment(state, "staging")
    if staged and staged.group == group and staged.version == version and get_endpoint(state, staged.endpoint):
        try:
            redeployed = deploy(state, group=group, project=project, stage="staging", smoke_test=smoke_test)
            done.append(f"{redeployed.endpoint} redeployed with version {redeployed.version} "
                        f"(smoke test passed: {redeployed.smoke_test})")
        except LocalModeError as exc:
            done.append(f"staging still serves rejected version {version}: {exc}")
    served = deployment(state, "prod")
    if served and served.group == group and served.version == version:
        done.append(f"{served.endpoint} still serves rejected version {version}: the deploy pipeline waits for the "
                    "manual approval, run `yolo-pipeline deploy --stage prod --local --approve`")
    return done
