"""The ``lrlab`` command line: the Typer app and its commands, one module each.

Each command is thin: it parses arguments, calls the library, prints, and maps the
library's errors to one line and exit code 2 (:mod:`lrlab.cli.common`). TensorFlow is
imported only by the code that trains, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from lrlab._version import __version__
from lrlab.cli.common import DEBUG_VARIABLE
from lrlab.cli.compare_cmd import compare
from lrlab.cli.coord_cmd import coord_check
from lrlab.cli.data_cmd import data_app
from lrlab.cli.findlr_cmd import find_lr
from lrlab.cli.help_text import PlainHelpCommand
from lrlab.cli.path_cmd import path
from lrlab.cli.report_cmd import report
from lrlab.cli.status_cmd import status
from lrlab.cli.sweep_cmd import sweep
from lrlab.cli.tensorboard_cmd import tensorboard

app = typer.Typer(
    help="lrlab: which learning rate, which optimizer, and why, for Keras models: sweeps "
         "with verdicts paired by seed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lrlab {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Above an error's one line, show what led to it: the traceback of "
                        "your loader or factory, and what it wrote to stderr (also "
                        "LRLAB_DEBUG=1).")] = False,
) -> None:
    """lrlab: which learning rate, which optimizer, and why, for Keras models: sweeps with
    verdicts paired by seed."""
    if debug:
        os.environ[DEBUG_VARIABLE] = "1"


app.command(cls=PlainHelpCommand)(sweep)
app.command(cls=PlainHelpCommand)(compare)
app.command("find-lr", cls=PlainHelpCommand)(find_lr)
app.command(cls=PlainHelpCommand)(status)
app.command(cls=PlainHelpCommand)(report)
app.command(cls=PlainHelpCommand)(path)
app.command("coord-check", cls=PlainHelpCommand)(coord_check)
app.command(cls=PlainHelpCommand)(tensorboard)
app.add_typer(data_app, name="data")
