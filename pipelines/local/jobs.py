"""Processing and training jobs on this machine: the /opt/ml contract laid out in a work dir, the image's code run as
a subprocess, outputs uploaded to the local store.

What SageMaker does around a container, done here with the job's resolved arguments (CreateProcessingJob /
CreateTrainingJob request shapes): inputs and channels copied in (so jobs can write beside their data and user data
stays untouched), ``hyperparameters.json``, ``inputdataconfig.json`` and ``resourceconfig.json``, checkpoints
restored from and synced back to their S3 URI, the model directory tarred to
``<S3OutputPath>/<job name>/output/model.tar.gz``, and the failure reason read from ``/opt/ml/output/failure``.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.local.errors import StepFailure, UnsupportedConstruct
from pipelines.local.expressions import render
from pipelines.local.imagespec import ImageSpec, image_spec_for_uri
from pipelines.local.metrics import MetricScraper
from pipelines.local.naming import arn
from pipelines.local.process import ProcessResult, run_logged
from pipelines.local.state import StateDir
from pipelines.local.store import LocalStore

__all__ = ["JobRun", "container_path", "run_processing", "run_training"]

OPT_ML = PurePosixPath("/opt/ml")
_HOST = "algo-1"


@dataclass
class JobRun:
    """One job's place on this machine and what it adds to the image's environment.

    ``defaults`` yield to the image's ENV and the job's Environment; ``overrides`` win over both (local mode's MLflow
    store replaces a remote tracking server, for instance).
    """

    state: StateDir
    work_dir: Path
    log_path: Path
    job_name: str
    repository_prefix: str
    defaults: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, str] = field(default_factory=dict)
    on_line: Callable[[str], None] | None = None
    on_start: Callable[[int], None] | None = None  # gets the job's process id

    @property
    def store(self) -> LocalStore:
        return LocalStore(self.state.store)

    @property
    def opt_ml(self) -> Path:
        return self.work_dir / "opt_ml"

    @property
    def tmp_dir(self) -> Path:
        """The job's own /tmp (``TMPDIR``): on SageMaker each job's container has one, gone when the job ends."""
        return self.work_dir / "tmp"


def container_path(opt_ml: Path, path: str) -> Path:
    """Where a path of the container's /opt/ml tree lives locally.

    Raises:
        UnsupportedConstruct: the path is outside /opt/ml (local mode roots a job's filesystem there only).
    """
    posix = PurePosixPath(path)
    if posix != OPT_ML and OPT_ML not in posix.parents:
        raise UnsupportedConstruct(f"local path {path!r} is outside /opt/ml; local mode maps only the /opt/ml tree")
    return opt_ml.joinpath(*posix.relative_to(OPT_ML).parts)


def run_processing(arguments: Mapping[str, Any], job: JobRun) -> dict[str, Any]:
    """Run a processing job (CreateProcessingJob arguments, resolved); returns its DescribeProcessingJob-like
    properties.

    Raises:
        StepFailure: an input is missing or the job failed (the reason is the job's failure file when it wrote one).
        UnsupportedConstruct: an input or output kind other than S3, or a path outside /opt/ml.
    """
    app = arguments["AppSpecification"]
    spec = image_spec_for_uri(app["ImageUri"], job.repository_prefix)
    opt_ml = _fresh(job.opt_ml)
    _write_json(opt_ml / "config" / "processingjobconfig.json", arguments)
    _write_json(opt_ml / "config" / "resourceconfig.json", _resource_config())
    for item in arguments.get("ProcessingInputs", []):
        source = item.get("S3Input")
        if source is None:
            raise UnsupportedConstruct(f"processing input {item.get('InputName')!r}: only S3Input is supported "
                                       f"locally, not {sorted(set(item) - {'InputName', 'AppManaged'})}")
        _fetch(job.store, f"input {item['InputName']!r}", source["S3Uri"],
               container_path(opt_ml, source["LocalPath"]))
    outputs: list[tuple[Path, str]] = []
    for item in arguments.get("ProcessingOutputConfig", {}).get("Outputs", []):
        target = item.get("S3Output")
        if target is None:
            raise UnsupportedConstruct(f"processing output {item.get('OutputName')!r}: only S3Output is supported "
                                       "locally")
        local = container_path(opt_ml, target["LocalPath"])
        local.mkdir(parents=True, exist_ok=True)
        outputs.append((local, target["S3Uri"]))
    command = spec.command(app.get("ContainerEntrypoint"), [render(a) for a in app.get("ContainerArguments", [])])
    result = _run(command, spec, arguments, job, {"PROCESSING_JOB_NAME": job.job_name})
    if result.returncode != 0:
        raise StepFailure(_failure_reason(opt_ml, result, arguments, job.log_path))
    for local, uri in outputs:
        job.store.put(local, uri)
    shutil.rmtree(opt_ml)  # everything worth keeping is in the store now
    return {**arguments, "ProcessingJobName": job.job_name, "ProcessingJobArn": arn("processing-job", job.job_name),
            "ProcessingJobStatus": "Completed", "ExitMessage": ""}


def run_training(arguments: Mapping[str, Any], job: JobRun) -> dict[str, Any]:
    """Run a training job (CreateTrainingJob arguments, resolved); returns its DescribeTrainingJob-like properties,
    ``ModelArtifacts.S3ModelArtifacts`` and ``FinalMetricDataList`` (from the MetricDefinitions) included.

    Raises:
        StepFailure: a channel is missing, the job asks for more than one instance, or the job failed.
        UnsupportedConstruct: an algorithm instead of an image, a non-S3 channel, or a path outside /opt/ml.
    """
    algorithm = arguments["AlgorithmSpecification"]
    if "TrainingImage" not in algorithm:
        raise UnsupportedConstruct("training jobs need a TrainingImage locally (AlgorithmName is not supported)")
    spec = image_spec_for_uri(algorithm["TrainingImage"], job.repository_prefix)
    count = arguments.get("ResourceConfig", {}).get("InstanceCount", 1)
    if count != 1:
        raise StepFailure(f"local mode runs a training job on one instance, this one asks for InstanceCount={count}: "
                          "set it to 1")
    opt_ml = _fresh(job.opt_ml)
    config = opt_ml / "input" / "config"
    _write_json(config / "hyperparameters.json",
                {key: render(value) for key, value in arguments.get("HyperParameters", {}).items()})
    _write_json(config / "resourceconfig.json", _resource_config())
    channels = arguments.get("InputDataConfig", [])
    _write_json(config / "inputdataconfig.json", {
        c["ChannelName"]: {"TrainingInputMode": c.get("InputMode", algorithm.get("TrainingInputMode", "File")),
                           "S3DistributionType": c.get("DataSource", {}).get("S3DataSource", {})
                           .get("S3DataDistributionType", "FullyReplicated"), "RecordWrapperType": "None"}
        for c in channels})
    for channel in channels:
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source is None:
            raise UnsupportedConstruct(f"channel {channel['ChannelName']!r}: only S3DataSource is supported locally")
        _fetch(job.store, f"channel {channel['ChannelName']!r}", source["S3Uri"],
               opt_ml / "input" / "data" / channel["ChannelName"])
    checkpoint = arguments.get("CheckpointConfig")
    checkpoint_dir = container_path(opt_ml, (checkpoint or {}).get("LocalPath") or "/opt/ml/checkpoints")
    if checkpoint and job.store.path(checkpoint["S3Uri"]).exists():  # a restarted job finds its checkpoints
        job.store.fetch(checkpoint["S3Uri"], checkpoint_dir)
    for folder in ("model", "output/data", "checkpoints"):
        (opt_ml / folder).mkdir(parents=True, exist_ok=True)

    scraper = MetricScraper(algorithm.get("MetricDefinitions", []))
    relay = job.on_line

    def on_line(line: str) -> None:
        scraper.feed(line)
        if relay:
            relay(line)

    entrypoint = algorithm.get("ContainerEntrypoint")
    arguments_ = algorithm.get("ContainerArguments") or ([] if entrypoint else ["train"])
    command = spec.command(entrypoint, [render(a) for a in arguments_])
    try:
        result = _run(command, spec, arguments, replace(job, on_line=on_line),
                      {"TRAINING_JOB_NAME": job.job_name, "TRAINING_JOB_ARN": arn("training-job", job.job_name)})
    finally:
        if checkpoint:  # synced however the job ended, as SageMaker syncs them while the job runs
            job.store.put(checkpoint_dir, checkpoint["S3Uri"])
    if result.returncode != 0:
        raise StepFailure(_failure_reason(opt_ml, result, arguments, job.log_path))
    output_prefix = f"{arguments['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{job.job_name}/output"
    model_uri = f"{output_prefix}/model.tar.gz"
    job.store.put(_tar(opt_ml / "model", job.work_dir / "model.tar.gz"), model_uri)
    if any((opt_ml / "output" / "data").iterdir()):
        job.store.put(_tar(opt_ml / "output" / "data", job.work_dir / "output.tar.gz"),
                      f"{output_prefix}/output.tar.gz")
    shutil.rmtree(job.work_dir)
    return {**arguments, "TrainingJobName": job.job_name, "TrainingJobArn": arn("training-job", job.job_name),
            "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": model_uri}, "FinalMetricDataList": scraper.final()}


def _run(command: list[str], spec: ImageSpec, arguments: Mapping[str, Any], job: JobRun,
         job_variables: Mapping[str, str]) -> ProcessResult:
    environment = {
        **os.environ,
        **job.defaults,
        **spec.environment(job.state.image_root(spec.name)),
        **{key: render(value) for key, value in arguments.get("Environment", {}).items()},
        **job.overrides,
        **job_variables,
        "OPT_ML_ROOT": str(job.opt_ml),
        "LOCAL_S3_ROOT": str(job.store.root),  # s3:// URIs a job reads itself resolve in the local store
        "PYTHONUNBUFFERED": "1",  # epoch lines and failures show up live
        "TMPDIR": str(job.tmp_dir),
    }
    limit = arguments.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
    job.tmp_dir.mkdir(parents=True, exist_ok=True)
    try:
        return run_logged(command, env=environment, cwd=spec.workdir, log_path=job.log_path, on_line=job.on_line,
                          timeout_s=float(limit) if limit else None, on_start=job.on_start)
    finally:  # however the job ended: stopped, killed or failed, its /tmp goes with it, as its container's would
        shutil.rmtree(job.tmp_dir, ignore_errors=True)


def _failure_reason(opt_ml: Path, result: ProcessResult, arguments: Mapping[str, Any], log_path: Path) -> str:
    """The job's own reason (/opt/ml/output/failure) when it left one, else what the process did."""
    failure = opt_ml / "output" / "failure"
    if failure.is_file() and failure.read_text().strip():
        return failure.read_text().strip()
    if result.timed_out:
        limit = arguments.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        return f"the job ran past MaxRuntimeInSeconds={limit} and was stopped (log: {log_path})"
    return (f"the job exited with code {result.returncode} and left no /opt/ml/output/failure; last output: "
            f"{result.last_line!r} (log: {log_path})")


def _fetch(store: LocalStore, what: str, uri: str, destination: Path) -> None:
    try:
        store.fetch(uri, destination)
    except StepFailure as exc:
        raise StepFailure(f"{what}: {exc}") from None


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))


def _resource_config() -> dict[str, Any]:
    return {"current_host": _HOST, "hosts": [_HOST], "network_interface_name": "eth0"}


def _tar(folder: Path, archive: Path) -> Path:
    """A gzip tarball of the folder's contents at the archive root, as SageMaker packs /opt/ml/model."""
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for item in sorted(folder.iterdir()):
            tar.add(item, arcname=item.name)
    return archive
