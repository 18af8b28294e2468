"""The Model, EndpointConfig and Endpoint steps: resources recorded like SageMaker's, the endpoint served locally.

CreateModel and CreateEndpointConfig only record their (resolved) request under ``<state>/endpoints/{models,configs}/``;
CreateEndpoint looks the configuration and its model up by name, as SageMaker does (so an endpoint can use a
configuration made by an earlier execution), and starts the inference server on a loopback port. Data capture is
not done locally; the step's metadata says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.local.endpoint import start_endpoint
from pipelines.local.errors import StepFailure, UnsupportedConstruct
from pipelines.local.expressions import render
from pipelines.local.imagespec import image_spec_for_uri
from pipelines.local.naming import arn
from pipelines.local.state import StateDir

__all__ = ["create_endpoint", "create_endpoint_config", "create_model"]


def _resource(state: StateDir, kind: str, name: str) -> Path:
    return state.endpoints / kind / f"{name}.json"


def _save(state: StateDir, kind: str, name: str, arguments: Mapping[str, Any]) -> None:
    path = _resource(state, kind, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(arguments, indent=2, default=str))


def _load(state: StateDir, kind: str, name: str, what: str) -> dict[str, Any]:
    path = _resource(state, kind, name)
    if not path.is_file():
        raise StepFailure(f"{what} {name!r} does not exist locally (no {path}); create it first")
    return json.loads(path.read_text())


def create_model(arguments: Mapping[str, Any], state: StateDir) -> dict[str, Any]:
    """Record a Model (one PrimaryContainer, or a one-container Containers list)."""
    containers = [arguments["PrimaryContainer"]] if "PrimaryContainer" in arguments else arguments.get("Containers", [])
    if len(containers) != 1:
        raise UnsupportedConstruct(f"model {arguments.get('ModelName')!r} has {len(containers)} containers; "
                                   "local mode serves a model with exactly one")
    _save(state, "models", arguments["ModelName"], arguments)
    return {**arguments, "ModelArn": arn("model", arguments["ModelName"])}


def create_endpoint_config(arguments: Mapping[str, Any], state: StateDir) -> dict[str, Any]:
    """Record an EndpointConfig (one production variant)."""
    name = arguments["EndpointConfigName"]
    variants = arguments.get("ProductionVariants", [])
    if len(variants) != 1:
        raise UnsupportedConstruct(f"endpoint config {name!r} has {len(variants)} production variants; "
                                   "local mode serves exactly one")
    _save(state, "configs", name, arguments)
    return {**arguments, "EndpointConfigArn": arn("endpoint-config", name)}


def create_endpoint(arguments: Mapping[str, Any], state: StateDir, *, execution_id: str,
                    repository_prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start (or update) the endpoint; returns its properties and the step metadata (URL, data capture note).

    Raises:
        StepFailure: the configuration or model is unknown.
        LocalModeError: the server does not become healthy (the message has the end of its log).
    """
    name = arguments["EndpointName"]
    config = _load(state, "configs", arguments["EndpointConfigName"], "endpoint config")
    variant = config["ProductionVariants"][0]
    model = _load(state, "models", variant["ModelName"], "model")
    container = model.get("PrimaryContainer") or model["Containers"][0]
    image = image_spec_for_uri(container["Image"], repository_prefix).name
    endpoint = start_endpoint(state, name, container["ModelDataUrl"], image=image,
                              environment={k: render(v) for k, v in container.get("Environment", {}).items()},
                              execution_id=execution_id, config_name=config["EndpointConfigName"])
    metadata: dict[str, object] = {"Endpoint": {"Arn": arn("endpoint", name), "Url": endpoint.url, "Pid": endpoint.pid,
                             "Log": endpoint.log_path}}
    if config.get("DataCaptureConfig", {}).get("EnableCapture"):
        metadata["DataCapture"] = "not captured in local mode"
    properties = {**arguments, "EndpointArn": arn("endpoint", name), "EndpointStatus": "InService",
                  "EndpointUrl": endpoint.url}
    return properties, metadata
