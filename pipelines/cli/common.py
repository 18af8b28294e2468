"""What every command shares: error reporting (one line, exit codes) and building the definition."""

from __future__ import annotations

import errno
import functools
import json
import signal
import sys
import tarfile
from collections.abc import Callable
from typing import Any

from pipelines.aws.pipeline_service import PipelineNotFound
from pipelines.config import ConfigError, PipelineConfig, load_config, parse_assignments
from pipelines.definition import ParameterError

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    """A command was called in a way that cannot work (exit 2)."""


class DefinitionRejected(ValueError):
    """SageMaker would refuse the definition, or run it wrongly; nothing was sent (exit 2)."""


def fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _local_mode_error(exc: Exception) -> bool:
    """Whether ``exc`` is local mode's (LocalModeError); looked up without importing local mode (~50 ms) into
    commands that never use it: if it is not imported, it raised nothing."""
    errors = sys.modules.get("pipelines.local.errors")
    return errors is not None and isinstance(exc, errors.LocalModeError)


def os_error(exc: OSError) -> str:
    """One line for a failed file operation: what went wrong and on which path."""
    where = f" while writing {exc.filename}" if exc.errno == errno.ENOSPC else f": {exc.filename}"
    what = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror or type(exc).__name__
    return f"{what}{where if exc.filename else ''}"


def _aws_error(exc: Exception) -> str | None:
    """One line for the AWS errors people actually hit, or None for anything else."""
    try:
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError
    except ImportError:  # pragma: no cover - boto3 is a base dependency
        return None
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found: configure a profile (aws configure) or set AWS_PROFILE / AWS_ACCESS_KEY_ID"
    if isinstance(exc, NoRegionError):
        return "no AWS region: set AWS_REGION or the config's region"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS: {exc}"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Error")
        message = exc.response.get("Error", {}).get("Message", str(exc))
        hints = {
            "AccessDenied": " (the caller's IAM policy does not allow this action)",
            "AccessDeniedException": " (the caller's IAM policy does not allow this action)",
            "ThrottlingException": " (throttled by AWS: retry in a moment)",
            "ExpiredTokenException": " (credentials expired: refresh them)",
            "UnrecognizedClientException": " (credentials are not valid for this account/region)",
        }
        return f"AWS {exc.operation_name} failed: {code}: {message}{hints.get(code, '')}"
    return None


def cli_errors(command: Callable[..., int]) -> Callable[..., int]:
    """Turn expected failures into one line on stderr and an exit code instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return command(*args, **kwargs)
        except (ConfigError, ParameterError, UsageError, DefinitionRejected) as exc:
            return fail(str(exc), EXIT_USAGE)
        except PipelineNotFound as exc:
            return fail(str(exc), EXIT_CHECK_FAILED)
        except tarfile.TarError as exc:
            return fail(f"cannot extract the archive: {exc}", EXIT_CHECK_FAILED)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM where a command turns it into an Interrupted
            signum = getattr(exc, "signum", signal.SIGINT)
            return fail(f"interrupted ({signal.Signals(signum).name})", 128 + signum)
        except Exception as exc:
            message = (str(exc) if _local_mode_error(exc) else _aws_error(exc)
                       or (os_error(exc) if isinstance(exc, OSError) else None))
            if message is None:
                raise
            return fail(message, EXIT_CHECK_FAILED)

    return wrapper


def load(config_file: str | None, assignments: list[str] | None = None,
         overrides: dict[str, Any] | None = None) -> PipelineConfig:
    return load_config(config_file, overrides={**parse_assignments(assignments or []), **(overrides or {})})


def definition_json(config: PipelineConfig) -> str:
    """The definition exactly as ``upsert`` sends it."""
    from pipelines.factory import build_pipeline

    return build_pipeline(config).definition()


def definition_problems(definition: str, config: PipelineConfig, parameters: dict[str, Any] | None = None,
                        deployable: bool = True) -> list:
    """What SageMaker would refuse in ``definition`` (see ``pipelines.aws.validation``)."""
    from pipelines.aws.validation import validate_definition

    return validate_definition(definition, parameters=parameters, base_job_prefix=config.base_job_prefix,
                               pipeline_name=config.pipeline_name, deployable=deployable)


def require_valid(definition: str, config: PipelineConfig, parameters: dict[str, Any] | None = None,
                  deployable: bool = True) -> None:
    """Refuse, before any AWS call or job, a definition that SageMaker would refuse or run wrongly.

    Raises:
        DefinitionRejected: with one line per problem (``yolo-pipeline validate`` lists the same).
    """
    problems = definition_problems(definition, config, parameters, deployable)
    if problems:
        raise DefinitionRejected(f"the definition would fail on SageMaker ({len(problems)} problem(s)); nothing was "
                                 "sent:\n  " + "\n  ".join(str(p) for p in problems))


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))
