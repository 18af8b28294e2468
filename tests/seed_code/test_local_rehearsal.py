"""The deploy lifecycle rehearsed locally through the CLI: approve -> staging (smoke test) -> prod only after
--approve -> reject the deployed version -> staging back on the previous approved version."""

from __future__ import annotations

import json

import pytest

from pipelines.cli.main import main
from pipelines.local import LocalRegistry, get_endpoint, list_endpoints, stop_endpoint
from pipelines.local.stages import deployment
from tests.seed_code.conftest import tiny_model

GROUP = "demo-yolo11"


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "state"
    yield path
    for endpoint in list_endpoints(path):
        stop_endpoint(path, endpoint.name)


def _cli(state, *args: str) -> int:
    return main([*args, "--local", "--state-dir", str(state), "--set", "project.name=demo",
                 "--set", f"model_package_group_name={GROUP}"])


@pytest.mark.slow
def test_approve_staging_prod_then_reject_rolls_staging_back(state, tmp_path, capsys):
    registry = LocalRegistry(state)
    for number in (1, 2):
        registry.register(GROUP, tiny_model(tmp_path / f"model{number}"), approval_status="Approved")
    registry.register(GROUP, tiny_model(tmp_path / "model3"))  # pending: never deployed

    assert _cli(state, "deploy", "--stage", "prod", "--approve") == 1
    assert "prod deploys what staging serves and has tested" in capsys.readouterr().err

    assert _cli(state, "deploy", "--stage", "staging") == 0
    captured = capsys.readouterr()
    assert "demo-staging: version 2 of demo-yolo11" in captured.err and "smoke test passed: 20 requests" in captured.err
    staging = get_endpoint(state, "demo-staging")
    assert staging is not None and staging.status == "InService" and captured.out.strip() == staging.url

    assert _cli(state, "deploy", "--stage", "prod") == 1
    assert "prod waits for the manual approval: run again with --approve" in capsys.readouterr().err
    assert get_endpoint(state, "demo-prod") is None
    assert _cli(state, "deploy", "--stage", "prod", "--approve") == 0
    assert deployment(state, "prod").version == 2

    assert _cli(state, "registry", "reject", "2") == 0
    err = capsys.readouterr().err
    assert "demo-staging redeployed with version 1" in err
    assert "demo-prod still serves rejected version 2" in err
    assert deployment(state, "staging").version == 1 and deployment(state, "staging").passed
    assert json.loads((state / "deployments" / "staging.json").read_text())["version"] == 1
    assert get_endpoint(state, "demo-staging").model_source == str(registry.get(GROUP, 1).model_path)


def test_nothing_approved_is_a_clear_failure(state, tmp_path, capsys):
    LocalRegistry(state).register(GROUP, tiny_model(tmp_path / "model"))
    assert _cli(state, "deploy", "--stage", "staging") == 1
    assert "model package group 'demo-yolo11' has no Approved version: approve one" in capsys.readouterr().err
    assert list_endpoints(state) == []


def test_deploy_without_local_says_what_runs_on_aws(capsys):
    assert main(["deploy", "--stage", "staging"]) == 2
    assert "an approval in the Model Registry starts the model deploy pipeline" in capsys.readouterr().err
