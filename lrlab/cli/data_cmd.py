"""``lrlab data import``: put a local copy of a data set where lrlab looks for it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lrlab.cli.common import user_errors
from lrlab.cli.help_text import PlainHelpCommand

# lrlab.experiment.config's NAMED_DATASETS, spelled out: importing the config schema
# (pydantic) costs every command half a second (tests/cli/test_cli.py keeps them equal).
NAMED_DATASETS = ("mnist", "fashion_mnist")

data_app = typer.Typer(help="Manage the data sets lrlab trains on.", no_args_is_help=True)


@data_app.command("import", cls=PlainHelpCommand)
def data_import(
    path: Annotated[Path, typer.Argument(
        help="A Keras-style .npz, or a folder with the four MNIST IDX files (.gz or not).")],
    dataset: Annotated[str, typer.Option(
        help=f"Which data set this is: {' or '.join(NAMED_DATASETS)}.")] = "mnist",
    to: Annotated[Optional[Path], typer.Option(metavar="DIR",
        help="Destination folder (default: $LRLAB_DATA_DIR, else Keras's cache).")] = None,
) -> None:
    """Validate a local copy of a data set and put it where lrlab looks for it.

    Example: lrlab data import ~/Downloads/mnist/ --dataset mnist
    """
    from lrlab.training.data import import_dataset

    with user_errors():
        target = import_dataset(path, dataset=dataset, dest=to)
    typer.echo(f"imported {path} -> {target}")
