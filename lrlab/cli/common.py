"""What every command shares: the consoles, exit codes, and the one-line user errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console

from lrlab.errors import LrlabError

EXIT_USER_ERROR, EXIT_INTERRUPTED = 2, 130


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn an error the user can fix into one line on stderr and exit code 2."""
    try:
        yield
    except LrlabError as exc:
        stderr_console().print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_USER_ERROR) from None


def stdout_console() -> Console:
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:  # logs and pipes: do not squeeze tables into 80 columns
        console.width = max(console.width, 140)
    return console


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)
