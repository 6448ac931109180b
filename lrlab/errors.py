"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


class LrlabError(Exception):
    """Base class for every error caused by user input, files or the environment."""


class ConfigError(LrlabError):
    """The experiment config is missing, unreadable, malformed or invalid."""


class DataError(LrlabError):
    """A data set cannot be found, read or validated."""


class StoreError(LrlabError):
    """A run directory cannot be created, written, or read back."""


class Interrupted(KeyboardInterrupt):
    """A stop asked for from outside, by Ctrl-C or a signal (SIGTERM, SIGHUP): handled
    everywhere a KeyboardInterrupt is, and says which it was."""

    def __init__(self, signal_name: str = "SIGINT", exit_code: int = 130) -> None:
        super().__init__(signal_name)
        self.signal_name, self.exit_code = signal_name, exit_code


def stop_reason(exc: BaseException) -> str:
    """How a trial's ``error`` and a session's end name a stop: ``interrupted (SIGTERM)``."""
    name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
    return f"interrupted ({name})"
