"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class LrlabError(Exception):
    """Base class for every error caused by user input, files or the environment.

    ``about`` names the call's parameters the error is about, each with its value as the
    message should show it: the library says ``at=0: epochs are numbered from 1`` and the
    command line, which knows its flags, ``--at 0: epochs are numbered from 1``.
    ``mentions`` are parameter names the message itself uses, in backquotes (a remedy:
    "choose another `runs_dir`"), which the command line spells as its options.
    """

    def __init__(self, message: str, *, about: Mapping[str, str] | None = None,
                 mentions: Sequence[str] = (), debug: str = "") -> None:
        super().__init__(message)
        self.problem = message
        self.about = dict(about or {})
        self.mentions = tuple(mentions)
        # What ``--debug`` adds above the one line: the traceback of the user's code that
        # raised, and what it printed to stderr ("" when there is nothing more to show).
        self.debug = debug

    def __str__(self) -> str:
        if not self.about:
            return self.problem
        named = ", ".join(f"{name}={value}" for name, value in self.about.items())
        return f"{named}: {self.problem}"

    def as_options(self) -> str:
        """The message with each parameter spelled as the command line's option."""
        problem = self.problem
        for name in self.mentions:
            problem = problem.replace(f"`{name}`", _option(name))
        if not self.about:
            return problem
        named = " ".join(f"{_option(name)} {value}" for name, value in self.about.items())
        return f"{named}: {problem}"


def _option(parameter: str) -> str:
    return "--" + parameter.replace("_", "-")


class ParameterError(LrlabError):
    """A value given to a call (or on the command line) that it cannot take."""

    def __init__(self, parameter: str, value: object, problem: str) -> None:
        super().__init__(problem, about={parameter: str(value)})


class ConfigError(LrlabError):
    """The experiment config is missing, unreadable, malformed or invalid."""


class DataError(LrlabError):
    """A data set cannot be found, read or validated."""


class UserCodeError(LrlabError):
    """A user's data loader or model factory cannot be imported, called, or returns what
    lrlab cannot use."""


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
