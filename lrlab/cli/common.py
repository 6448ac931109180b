"""What every command shares: the consoles (stdout's survives being closed), exit codes,
one-line user errors, and stop signals handled like Ctrl-C."""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import sys
from collections.abc import Iterator
from typing import Annotated, Optional

import typer
from rich.console import Console

from lrlab.engines import ENGINE_NAMES
from lrlab.errors import Interrupted, LrlabError

EXIT_USER_ERROR, EXIT_INTERRUPTED = 2, 130


# Options that several commands take, declared once: compare, report and tensorboard read
# trials alike (lrlab.analysis.selection parses --where for all three).
WhereOption = Annotated[Optional[list[str]], typer.Option(
    metavar="COLUMN=VALUE",
    help="Only trials matching COLUMN=VALUE (also !=, <, <=, >, >=; numbers match as the "
         "table shows them); repeatable.")]
MetricOption = Annotated[Optional[str], typer.Option(
    help="What to compare: any column the sweeps' objective records (loss, val_loss, "
         "test_loss and each metric's: accuracy, val_auc, test_mae...); by default its "
         "verdict's (val_accuracy unless the config names another), or the test value "
         "without validation.")]
AtOption = Annotated[str, typer.Option(
    help="Which epoch's value: best, last, or an epoch number.")]

# ``--engine``'s choices: the registry's engines (the config's ``training.engine``).
EngineName = enum.Enum("EngineName", {name: name for name in ENGINE_NAMES}, type=str)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn an error the user can fix into one line on stderr (a line per mistake, when a
    config has several) and exit code 2."""
    try:
        yield
    except LrlabError as exc:
        if exc.debug and debugging():
            sys.stderr.write(exc.debug.rstrip("\n") + "\n")
        for line in exc.as_options().splitlines():
            stderr_console().print(f"error: {line}", markup=False)
        raise typer.Exit(EXIT_USER_ERROR) from None


# `lrlab --debug ...` sets it, so that worker processes see it too; setting it by hand works.
DEBUG_VARIABLE = "LRLAB_DEBUG"


def debugging() -> bool:
    """Whether errors show what led to them (the traceback of the user's code) above
    their one line."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


class _StdoutConsole(Console):
    """rich's Console, except that a closed stdout (``lrlab sweep ... | head``) stops the
    printing, not the program: rich's own ``on_broken_pipe`` raises SystemExit(1), which
    would end a sweep because nobody reads its progress any more."""

    pipe_closed = False

    def on_broken_pipe(self) -> None:
        if self.pipe_closed:
            return
        self.pipe_closed = True
        # Point fd 1 at /dev/null, so that later writes and Python's flush at exit succeed.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        with contextlib.suppress(OSError):
            stderr_console().print("note: standard output was closed; lrlab goes on without "
                                   "printing (the run directory has everything)", markup=False)


def stdout_console() -> Console:
    console = _StdoutConsole(highlight=False, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = max(console.width, 140)  # logs and pipes: not squeezed into 80
    return console


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


class StopSignals:
    """SIGTERM and SIGHUP (a scheduler, ``timeout``, a closed terminal) stop a command the
    way Ctrl-C does, so that whatever is running records itself as interrupted; the exit
    code then says which it was (130, 143, 129)."""

    HANDLED = {"SIGTERM": signal.SIGTERM, "SIGHUP": signal.SIGHUP}

    def __init__(self) -> None:
        self.received: Interrupted | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        for name, number in self.HANDLED.items():
            self._previous[number] = signal.signal(number, self._handler(name, number))
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handler(self, name: str, number: int):  # noqa: ANN202 - a signal handler
        def handle(signum: int, frame: object) -> None:
            if self.received is None:  # the first stop counts; a second finds cleanup busy
                self.received = Interrupted(name, 128 + number)
                raise self.received
        return handle

    @property
    def exit_code(self) -> int:
        return self.received.exit_code if self.received else EXIT_INTERRUPTED
