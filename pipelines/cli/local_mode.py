"""Local-mode commands: ``run --local``, ``executions/status --local``, ``serve``, ``endpoints``, ``invoke``.

``run --local`` compiles the definition with the same factory that feeds ``upsert`` and executes that JSON here.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines.cli.common import EXIT_CHECK_FAILED, EXIT_OK, UsageError, fail, load, print_json, require_valid
from pipelines.cli.model_inputs import settle_locally
from pipelines.config import PipelineConfig

SAMPLE_IMAGE_CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def _state_dir(args: argparse.Namespace, config: PipelineConfig | None = None) -> str | None:
    return getattr(args, "state_dir", None) or (config.local.state_dir if config else None)


def _seed_sample_data(config: PipelineConfig, parameters: dict[str, Any], state_dir: str | None) -> str | None:
    """When the input is the default store location and it is empty, put the sample dataset there."""
    from pipelines.local import LocalStore, StateDir
    from pipelines.sample_data import generate

    uri = str(parameters.get("InputDataUri", config.input_data_uri))
    if not uri.startswith("s3://"):
        return None
    store = LocalStore(StateDir.at(state_dir).store)
    target = store.path(uri)
    if target.exists() and any(target.iterdir()):
        return None
    generate(target, fmt="yolo")
    return str(target)


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.compiled import compiled_definition
    from pipelines.definition import parse_parameters
    from pipelines.local import ConsoleProgress, Interrupted, StateDir, exclusive_run, get_execution, run_local

    if not args.local:
        raise UsageError("`run` executes locally: add --local (to run on SageMaker: `yolo-pipeline upsert` + `start`)")
    config = load(args.config, args.sets)
    state_dir = _state_dir(args, config)
    state = StateDir.at(state_dir)
    # the lock first: a second run is refused before it compiles, seeds data or starts anything
    with exclusive_run(state, "yolo-pipeline run --local", preparing=True), _signals_interrupt():
        definition = compiled_definition(config, state.root / "definitions")
        local_defaults = [f"{name}={value}" for name, value in config.local.parameters.items()]
        parameters = {**parse_parameters(definition, local_defaults), **parse_parameters(definition, args.params)}
        parameters = settle_locally(definition, parameters, state_dir=state_dir,
                                    warm_start=args.warm_start or config.training.warm_start)
        require_valid(definition, config, parameters, deployable=False)  # what SageMaker would refuse fails here too
        seeded = _seed_sample_data(config, parameters, state_dir)
        if seeded:
            print(f"input: wrote the sample dataset to {seeded}", file=sys.stderr)
        try:
            record = run_local(definition, parameters, state, pipeline_name=config.pipeline_name,
                               no_cache=args.no_cache, on_event=ConsoleProgress(verbose=args.verbose),
                               repository_prefix=config.images.repository_prefix)
        except KeyboardInterrupt as exc:
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            stopped = get_execution(state)
            return fail(f"{signal.Signals(signum).name}: execution {stopped.execution_id} {stopped.status}, the "
                        "running job was stopped", 128 + signum)
    summary = summarize(record, config, state_dir)
    if args.json:
        print_json(summary)
    else:
        print_summary(summary)
    return EXIT_OK if record.succeeded else EXIT_CHECK_FAILED


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM (what ``kill``, systemd and CI send) stop the run the same way: the running job is
    stopped and the execution recorded as Stopped. Further signals are ignored while that happens."""
    from pipelines.local import Interrupted

    def interrupt(signum: int, _frame: object) -> None:
        for stop in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop, signal.SIG_IGN)
        raise Interrupted(signum)

    previous = {stop: signal.signal(stop, interrupt) for stop in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def summarize(record, config: PipelineConfig, state_dir: str | None) -> dict[str, Any]:
    """What a person wants after a run: metrics, gate, registered version, endpoint and one real detection."""
    from pipelines.local import LocalRegistry, mlflow_ui_command

    summary: dict[str, Any] = {"execution_id": record.execution_id, "status": record.status,
                               "elapsed_s": record.elapsed_s, "failure_reason": record.failure_reason,
                               "steps": [{"name": s.name, "status": s.status, "elapsed_s": s.elapsed_s,
                                          "cache_hit": s.cache_hit, "log": s.log_path} for s in record.steps]}
    gate = record.step("CheckQuality")
    if gate and "Condition" in gate.metadata:
        summary["quality_gate"] = gate.metadata["Condition"]
    regression = record.step("CheckRegression")
    if regression and "Condition" in regression.metadata:
        summary["regression_gate"] = regression.metadata["Condition"]
    register = record.step("RegisterYOLO")
    if register and "RegisterModel" in register.metadata:
        info = register.metadata["RegisterModel"]
        version = LocalRegistry(state_dir).get(config.model_package_group_name, info["Version"])
        summary["registered"] = {"group": config.model_package_group_name, "version": version.version,
                                 "approval_status": version.approval_status, "metrics": version.metrics}
    endpoint = record.step("StagingEndpoint")
    if endpoint and "Endpoint" in endpoint.metadata:
        url = endpoint.metadata["Endpoint"]["Url"]
        summary["endpoint"] = {"name": endpoint.metadata["Endpoint"]["Arn"].rsplit("/", 1)[-1], "url": url,
                               "example": _one_detection(url, state_dir)}
    summary["mlflow_ui"] = mlflow_ui_command(state_dir)
    return summary


def _one_detection(url: str, state_dir: str | None, tries: int = 8) -> dict[str, Any] | None:
    """POST sample images to the local endpoint until one comes back with a detection; return the best one."""
    from pipelines.sample_data import generate

    images = sorted((Path(generate(_scratch(state_dir), fmt="yolo", n_images=tries)) / "images").glob("*"))
    result: dict[str, Any] | None = None
    for image in images:
        try:
            predictions = invoke(url, image).get("predictions", [])
        except (OSError, ValueError) as exc:
            return {"error": str(exc)}
        best = max(predictions, key=lambda p: p["confidence"], default=None)
        result = {"image": image.name, "detections": len(predictions), "first": best}
        if best:
            break
    return result


def _scratch(state_dir: str | None) -> Path:
    from pipelines.local import StateDir

    return StateDir.at(state_dir).root / "sample-images"


def invoke(url: str, image: Path, timeout: float = 30) -> dict[str, Any]:
    """POST an image file to ``<url>/invocations`` and decode the JSON answer."""
    content_type = SAMPLE_IMAGE_CONTENT_TYPES.get(image.suffix.lower())
    if content_type is None:
        raise UsageError(f"{image}: not a .jpg/.jpeg/.png image")
    request = urllib.request.Request(url.rstrip("/") + "/invocations", data=image.read_bytes(),
                                     headers={"Content-Type": content_type, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ValueError(f"endpoint answered {exc.code}: {exc.read().decode(errors='replace')}") from None


def print_summary(summary: dict[str, Any]) -> None:
    lines = [f"\nExecution {summary['execution_id']}: {summary['status']} in {summary['elapsed_s'] or 0:.1f} s"]
    if summary.get("failure_reason"):
        lines.append(f"  reason: {summary['failure_reason']}")
        failed = [s for s in summary["steps"] if s["status"] == "Failed"]
        if failed and failed[0]["log"]:
            lines.append(f"  log:    {failed[0]['log']}")
    gate = summary.get("quality_gate")
    if gate:
        lines.append(f"  quality gate (mAP50-95 >= MapThreshold): {gate.get('Outcome')}")
    regression = summary.get("regression_gate")
    if regression:
        lines.append(f"  regression gate (mAP50-95 >= approved baseline - RegressionTolerance): "
                     f"{regression.get('Outcome')}")
    registered = summary.get("registered")
    if registered:
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in registered["metrics"].items())
        lines.append(f"  test metrics: {metrics}")
        lines.append(f"  registered: {registered['group']} version {registered['version']} "
                     f"({registered['approval_status']})")
    endpoint = summary.get("endpoint")
    if endpoint:
        lines.append(f"  endpoint: {endpoint['url']}/invocations")
        example = endpoint.get("example") or {}
        first = example.get("first")
        if first:
            lines.append(f"  one real detection on {example['image']}: {first['class_name']} "
                         f"{first['confidence']:.2f} at {json.dumps(first['box'])} "
                         f"({example['detections']} in the image)")
        elif example:
            lines.append(f"  invocation: {example}")
    lines.append("\nNext:")
    if registered:
        lines.append(f"  yolo-pipeline registry approve {registered['version']} --local   # approve the version")
        lines.append(f"  yolo-pipeline registry show {registered['version']} --local")
    lines.append("  yolo-pipeline executions --local | yolo-pipeline status --local")
    if endpoint:
        lines.append(f"  yolo-pipeline invoke {endpoint['name']} IMAGE.jpg   # the endpoint keeps serving")
        lines.append(f"  yolo-pipeline endpoints --local --stop {endpoint['name']}")
    lines.append(f"  {summary['mlflow_ui']}")
    print("\n".join(lines))


def cmd_executions_local(args: argparse.Namespace) -> int:
    from pipelines.local import list_executions

    records = list_executions(_state_dir(args))[: args.limit]
    if args.json:
        print_json([r.to_dict() for r in records])
        return EXIT_OK
    for r in records:
        print(f"{r.status:<10} {r.started_at:<26} {r.elapsed_s or 0:>7.1f}s  {r.execution_id}")
    if not records:
        print("no local executions yet: `yolo-pipeline run --local`", file=sys.stderr)
    return EXIT_OK


def cmd_status_local(args: argparse.Namespace) -> int:
    from pipelines.local import LocalModeError, get_execution

    try:
        record = get_execution(_state_dir(args), args.execution)
    except LocalModeError as exc:
        raise UsageError(str(exc)) from None
    if record is None:
        raise UsageError("no local executions yet: `yolo-pipeline run --local`")
    if args.json:
        print_json(record.to_dict())
        return EXIT_OK
    print(f"execution  {record.execution_id}\nstatus     {record.status}")
    if record.failure_reason:
        print(f"reason     {record.failure_reason}")
    for step in record.steps:
        cache = " (cache hit)" if step.cache_hit else ""
        print(f"  {step.name:<22} {step.status:<10} {step.elapsed_s or 0:>7.1f}s{cache}"
              f"{'  ' + step.failure_reason if step.failure_reason else ''}")
        if step.log_path:
            print(f"  {'':<22} log {step.log_path}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the inference server in the foreground on a model folder or model.tar.gz.

    It listens on loopback unless ``--host`` says otherwise (the image itself binds 0.0.0.0, as SageMaker requires).
    The server is a child process: SIGINT, SIGTERM and SIGHUP stop it before this command exits, so none outlives it.
    """
    import os
    import tarfile
    import tempfile
    import zlib

    model = Path(args.model)
    if not model.exists():
        raise UsageError(f"--model {model}: no such file or folder (a model folder or a model.tar.gz)")
    with tempfile.TemporaryDirectory() as root:
        model_dir = Path(root) / "model"
        if model.is_dir():
            model_dir.symlink_to(model.resolve(), target_is_directory=True)
        else:
            try:
                with tarfile.open(model) as archive:
                    archive.extractall(model_dir, filter="data")
            except (tarfile.TarError, EOFError, zlib.error) as exc:  # a truncated gzip ends in EOFError
                raise UsageError(f"--model {model}: not a model archive that can be extracted safely: {exc}") from None
        env = {**os.environ, "OPT_ML_ROOT": root, "SAGEMAKER_BIND_TO_PORT": str(args.port),
               "MODEL_SERVER_HOST": args.host}
        where = " (every interface: reachable from the network)" if args.host in ("0.0.0.0", "") else ""
        print(f"serving {model} on http://{args.host}:{args.port}{where} (Ctrl-C to stop)", file=sys.stderr)
        return _run_in_foreground([sys.executable, "-m", "containers.inference.serve", "serve"], env)


def _run_in_foreground(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` until it exits; a stop signal to us is passed on as SIGTERM (gunicorn's graceful stop) and we
    wait for it to finish. Returns its exit code, or 128 + the signal when we were stopped."""
    import signal
    import subprocess

    received: list[int] = []
    process: subprocess.Popen | None = None

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)

    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, stop) for sig in stops}  # before the child exists: no window to orphan it
    try:
        process = subprocess.Popen(command, env=env)
        if received:
            process.send_signal(signal.SIGTERM)
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 + received[0] if received else code


def cmd_endpoints_local(args: argparse.Namespace) -> int:
    from pipelines.local import list_endpoints, stop_endpoint

    if args.stop:
        if not stop_endpoint(_state_dir(args), args.stop):
            raise UsageError(f"no running local endpoint {args.stop!r}; see `yolo-pipeline endpoints --local`")
        print(f"stopped {args.stop}", file=sys.stderr)
        return EXIT_OK
    records = list_endpoints(_state_dir(args))
    for r in records:
        print(f"{r.name:<32} {r.status:<12} {r.url}")
    if not records:
        print("no local endpoints", file=sys.stderr)
    return EXIT_OK


def cmd_invoke(args: argparse.Namespace) -> int:
    target = args.endpoint
    if not target.startswith("http"):
        from pipelines.local import get_endpoint

        record = get_endpoint(_state_dir(args), target)
        if record is None:
            raise UsageError(f"no local endpoint {target!r}; see `yolo-pipeline endpoints --local`")
        target = record.url
    image = Path(args.image)
    if not image.is_file():
        raise UsageError(f"{image}: no such image file")
    print_json(invoke(target, image))
    return EXIT_OK
