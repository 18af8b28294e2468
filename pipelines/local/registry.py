"""The local model registry on MLflow: model package group = registered model, model package = model version.

A version carries what SageMaker's model package does, as tags: ``ModelApprovalStatus`` (PendingManualApproval,
Approved, Rejected), the headline metrics of evaluation.json (``metric.mAP50_95`` ...), the customer metadata
(``PipelineExecutionId``, ``TrainingImageTag`` ...), the inference image and the artefact's store URI. The
artefact itself (model.tar.gz, with evaluation.json beside it) is copied into the MLflow artifact root, so a version
stays servable whatever happens to the store. When the training job that made the model logged an MLflow run, the
version is attached to that run (its epochs show next to the version in the MLflow UI). The newest version that is
Approved carries the alias ``approved``. Writes (register, approve, reject) hold a file lock, one at a time, so a
version's status and the alias always agree. MLflow is imported on first use only.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from pipelines.local import tracking
from pipelines.local.errors import LocalModeError
from pipelines.local.naming import arn
from pipelines.local.state import StateDir
from pipelines.registry import (
    APPROVAL_STATUSES,
    ModelVersionSummary,
    RegistryError,
    evaluation_details,
    headline_metrics,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion

__all__ = ["APPROVAL_STATUSES", "Comparison", "LocalModelRegistry", "LocalRegistry", "ModelVersion", "headline_metrics"]

APPROVED_ALIAS = "approved"
METRIC_TAG = "metric."
NOTE_TAG = "ApprovalDescription"  # UpdateModelPackage's field for the reason of an approval or a rejection
MODEL_FILE = "model.tar.gz"
EVALUATION_FILE = "evaluation.json"


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version (a model package)."""

    group: str
    version: int
    approval_status: str
    metrics: dict[str, float]
    created_at: str
    model_path: Path  # the registered model.tar.gz
    run_id: str | None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return arn("model-package", f"{self.group}/{self.version}")

    @property
    def execution_id(self) -> str | None:
        return self.tags.get("PipelineExecutionId")

    @property
    def image_tags(self) -> dict[str, str]:
        """``{"processing": tag, "training": tag, "inference": tag}`` from the ``<Image>ImageTag`` metadata."""
        return {key.removesuffix("ImageTag").lower(): value for key, value in self.tags.items()
                if key.endswith("ImageTag")}

    @property
    def model_data_url(self) -> str | None:
        """Where the pipeline wrote the artefact (an ``s3://`` URI of the local store)."""
        return self.tags.get("ModelDataUrl")

    @property
    def evaluation_path(self) -> Path:
        return self.model_path.with_name(EVALUATION_FILE)


@dataclass(frozen=True)
class Comparison:
    """Two versions side by side: ``rows`` are ``(metric, value in a, value in b, b - a)``."""

    a: ModelVersion
    b: ModelVersion
    rows: list[tuple[str, float | None, float | None, float | None]]


class LocalRegistry:
    """Model package groups and versions in the state directory's MLflow store."""

    def __init__(self, state_dir: str | os.PathLike[str] | StateDir | None = None):
        self.state = StateDir.at(state_dir)
        self._client: MlflowClient | None = None

    @property
    def tracking_uri(self) -> str:
        return self.state.tracking_uri

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = tracking.client(self.state)
        return self._client

    def register(self, group: str, model_file: Path, *, approval_status: str = "PendingManualApproval",
                 evaluation: dict[str, Any] | None = None, metadata: dict[str, str] | None = None,
                 model_data_url: str | None = None, image: str | None = None,
                 training_job_name: str | None = None, description: str | None = None,
                 attachments: dict[str, Path] | None = None) -> ModelVersion:
        """Add a version to ``group`` (created when new) from a model archive and its evaluation.json content.

        ``attachments`` (relative name -> file: the plots evaluation.json lists) are kept beside evaluation.json.

        Raises:
            LocalModeError: an unknown approval status, or the model file is missing.
        """
        _check_status(approval_status)
        if not Path(model_file).is_file():
            raise LocalModeError(f"cannot register {model_file}: no such model file")
        from mlflow.exceptions import MlflowException

        client = self.client
        with self._writing():
            try:
                client.get_registered_model(group)
            except MlflowException:
                client.create_registered_model(group, description=f"Model package group {group} (local mode)")
            return self._register(group, model_file, approval_status, evaluation, metadata, model_data_url, image,
                                  training_job_name, description, attachments or {})

    def _register(self, group: str, model_file: Path, approval_status: str, evaluation: dict[str, Any] | None,
                  metadata: dict[str, str] | None, model_data_url: str | None, image: str | None,
                  training_job_name: str | None, description: str | None,
                  attachments: dict[str, Path]) -> ModelVersion:
        from mlflow.entities import Metric

        client = self.client
        run_id, own_run = self._run_for(group, training_job_name)
        folder = f"registrations/{(metadata or {}).get('PipelineExecutionId') or _stamp()}"
        with tempfile.TemporaryDirectory(prefix="register-") as staging:
            (Path(staging) / MODEL_FILE).symlink_to(Path(model_file).resolve())  # copied once, by MLflow
            if evaluation is not None:
                (Path(staging) / EVALUATION_FILE).write_text(json.dumps(evaluation, indent=2))
            for name, file in attachments.items():
                (Path(staging) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(staging) / name).symlink_to(Path(file).resolve())
            client.log_artifacts(run_id, staging, artifact_path=folder)
        metrics = headline_metrics(evaluation)
        now = int(datetime.now(timezone.utc).timestamp() * 1000)
        if metrics:
            client.log_batch(run_id, metrics=[Metric(f"test_{name}", value, now, 0) for name, value in metrics.items()])
        if own_run:
            client.set_terminated(run_id, "FINISHED")
        tags = {
            **{key: str(value) for key, value in (metadata or {}).items()},
            **{f"{METRIC_TAG}{name}": repr(value) for name, value in metrics.items()},
            "ModelApprovalStatus": approval_status,
            **({"ModelDataUrl": model_data_url} if model_data_url else {}),
            **({"InferenceImage": image} if image else {}),
        }
        source = f"{client.get_run(run_id).info.artifact_uri}/{folder}"
        created = client.create_model_version(group, source=source, run_id=run_id, tags=tags, description=description)
        if approval_status == "Approved":
            self._move_alias(group)
        return self._version(created)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One registry write at a time, across processes (MLflow has no transaction spanning tags and aliases)."""
        self.state.ensure()
        with (self.state.root / "registry.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _move_alias(self, group: str) -> None:
        """``approved`` names the newest version that is Approved, or nothing when none is."""
        approved = self.latest(group, "Approved")
        if approved is not None:
            self.client.set_registered_model_alias(group, APPROVED_ALIAS, str(approved.version))
        elif APPROVED_ALIAS in (self.client.get_registered_model(group).aliases or {}):
            self.client.delete_registered_model_alias(group, APPROVED_ALIAS)

    def _run_for(self, group: str, training_job_name: str | None) -> tuple[str, bool]:
        """The training job's MLflow run when it logged one, else a new run in the group's experiment."""
        client = self.client
        if training_job_name:
            experiments = [e.experiment_id for e in client.search_experiments()]
            runs = client.search_runs(experiments, f"tags.`{tracking.TRAINING_JOB_TAG}` = '{training_job_name}'",
                                      max_results=1) if experiments else []
            if runs:
                return runs[0].info.run_id, False
        experiment_id = tracking.ensure_experiment(self.state, group)
        run = client.create_run(experiment_id, run_name=f"register-{group}",
                                tags={"ModelPackageGroupName": group})
        return run.info.run_id, True

    def groups(self) -> list[str]:
        """Every model package group, by name."""
        if not self.state.mlflow_db.exists():
            return []
        return sorted(model.name for model in self.client.search_registered_models())

    def list_versions(self, group: str) -> list[ModelVersion]:
        """The versions of ``group``, newest first.

        Raises:
            LocalModeError: no such group (the message lists the groups there are).
        """
        self._require_group(group)
        found = self.client.search_model_versions(f"name='{group}'")
        return sorted((self._version(v) for v in found), key=lambda v: v.version, reverse=True)

    def get(self, group: str, version: int | str) -> ModelVersion:
        """One version.

        Raises:
            LocalModeError: no such group or version (the message lists the versions there are).
        """
        number = _number(version)
        from mlflow.exceptions import MlflowException

        self._require_group(group)
        try:
            return self._version(self.client.get_model_version(group, str(number)))
        except MlflowException:
            known = ", ".join(str(v.version) for v in self.list_versions(group)) or "none"
            raise LocalModeError(f"model package group {group!r} has no version {number} (versions: {known})") from None

    def latest(self, group: str, approval_status: str | None = None) -> ModelVersion | None:
        """The newest version (with that approval status, when given), or None."""
        if approval_status:
            _check_status(approval_status)
        if group not in self.groups():
            return None
        return next((v for v in self.list_versions(group)
                     if approval_status is None or v.approval_status == approval_status), None)

    def set_approval(self, group: str, version: int | str, status: str, note: str | None = None) -> ModelVersion:
        """Approve or reject a version, with an optional note (kept as its ApprovalDescription); the ``approved``
        alias then names the newest version still Approved.

        Raises:
            LocalModeError: an unknown status, group or version.
        """
        _check_status(status)
        with self._writing():
            current = self.get(group, version)
            client = self.client
            client.set_model_version_tag(group, str(current.version), "ModelApprovalStatus", status)
            client.set_model_version_tag(group, str(current.version), "ApprovalUpdatedAt", _stamp())
            if note is not None:
                client.set_model_version_tag(group, str(current.version), NOTE_TAG, note)
            self._move_alias(group)
            return self.get(group, current.version)

    def compare(self, group: str, a: int | str, b: int | str) -> Comparison:
        """The metrics of versions ``a`` and ``b`` side by side, with ``b - a``.

        Raises:
            LocalModeError: an unknown group or version.
        """
        first, second = self.get(group, a), self.get(group, b)
        rows = []
        for name in sorted(set(first.metrics) | set(second.metrics)):
            left, right = first.metrics.get(name), second.metrics.get(name)
            rows.append((name, left, right, None if left is None or right is None else right - left))
        return Comparison(first, second, rows)

    def _require_group(self, group: str) -> None:
        known = self.groups()
        if group not in known:
            raise LocalModeError(f"no model package group {group!r} in the local registry ({self.tracking_uri}); "
                                 f"groups: {', '.join(known) or 'none yet: run the pipeline locally first'}")

    def _version(self, version: MlflowModelVersion) -> ModelVersion:
        tags = dict(version.tags or {})
        metrics = {key[len(METRIC_TAG):]: float(value) for key, value in tags.items() if key.startswith(METRIC_TAG)}
        created = datetime.fromtimestamp(version.creation_timestamp / 1000, timezone.utc)
        return ModelVersion(
            group=version.name,
            version=_number(version.version),  # an int through SQLite, a str through a REST server
            approval_status=tags.get("ModelApprovalStatus", "PendingManualApproval"),
            metrics=metrics,
            created_at=created.isoformat(timespec="seconds").replace("+00:00", "Z"),
            model_path=_local_path(version.source or "") / MODEL_FILE,
            run_id=version.run_id,
            tags=tags,
        )


def _number(version: int | str) -> int:
    try:
        return int(version)
    except (TypeError, ValueError):
        raise LocalModeError(f"a model version is a number like 3, not {version!r}") from None


def _check_status(status: str) -> None:
    if status not in APPROVAL_STATUSES:
        raise LocalModeError(f"approval status {status!r} is not one of {', '.join(APPROVAL_STATUSES)}")


def _local_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path)) if uri.startswith("file:") else Path(uri)


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


class LocalModelRegistry:
    """Local mode's MLflow registry behind the same interface."""

    def __init__(self, state_dir: str | None = None):
        self.local = LocalRegistry(state_dir)

    def list_versions(self, group: str) -> list[ModelVersionSummary]:
        return [self._summary(v) for v in self._call(self.local.list_versions, group)]

    def get(self, group: str, version: int) -> ModelVersionSummary:
        return self._summary(self._call(self.local.get, group, version))

    def latest(self, group: str, approval_status: str) -> ModelVersionSummary | None:
        found = self._call(self.local.latest, group, approval_status)
        return self._summary(found) if found else None

    def set_approval(self, group: str, version: int, status: str, note: str | None = None) -> ModelVersionSummary:
        return self._summary(self._call(self.local.set_approval, group, version, status, note))

    @staticmethod
    def _call(function, *args):
        try:
            return function(*args)
        except LocalModeError as exc:
            raise RegistryError(str(exc)) from None

    @staticmethod
    def _summary(version) -> ModelVersionSummary:
        path = version.evaluation_path
        evaluation = json.loads(path.read_text()) if path.is_file() else None
        return ModelVersionSummary(group=version.group, version=version.version,
                                   approval_status=version.approval_status, created_at=version.created_at,
                                   arn=version.arn, metrics=dict(version.metrics),
                                   model_data=str(version.model_path),
                                   details={"model": str(version.model_path), **version.tags,
                                            **evaluation_details(evaluation, str(path.parent))})
