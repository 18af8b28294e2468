"""The exceptions of local mode: what the CLI turns into one clear line instead of a traceback."""

from __future__ import annotations

import signal

__all__ = ["ExpressionError", "Interrupted", "LocalModeError", "NoSpaceLeft", "StepFailure", "UnsupportedConstruct"]


class LocalModeError(Exception):
    """Base class: a local run, the local registry or a local endpoint cannot do what was asked."""


class UnsupportedConstruct(LocalModeError):
    """The definition uses a step type, argument or expression that local mode cannot execute."""


class ExpressionError(LocalModeError):
    """An expression cannot be evaluated: a missing parameter, step property, JSON path or file."""


class StepFailure(LocalModeError):
    """A step failed; the message is its failure reason (as SageMaker's FailureReason)."""


class NoSpaceLeft(LocalModeError):
    """The disk filled up during a run: the execution is recorded as Failed where the disk allows it."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived during a local run; the CLI exits with 128 + the signal's number."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)
        self.signal_name = signal.Signals(signum).name
