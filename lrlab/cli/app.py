"""The ``lrlab`` command line: the Typer app and its commands, one module each.

Each command is thin: it parses arguments, calls the library, prints, and maps the
library's errors to one line and exit code 2 (:mod:`lrlab.cli.common`). TensorFlow is
imported only by the code that trains, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lrlab._version import __version__
from lrlab.cli.compare_cmd import compare
from lrlab.cli.data_cmd import data_app
from lrlab.cli.findlr_cmd import find_lr
from lrlab.cli.report_cmd import report
from lrlab.cli.status_cmd import status
from lrlab.cli.sweep_cmd import sweep
from lrlab.cli.tensorboard_cmd import tensorboard

app = typer.Typer(
    help="lrlab: learning-rate and optimizer experiments on the classic Keras MNIST network.",
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
) -> None:
    """lrlab: learning-rate and optimizer experiments on the classic Keras MNIST network."""


app.command()(sweep)
app.command()(compare)
app.command("find-lr")(find_lr)
app.command()(status)
app.command()(report)
app.command()(tensorboard)
app.add_typer(data_app, name="data")
