"""``lrlab tensorboard``: TensorBoard event files (scalars and HParams) for sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lrlab.cli.common import WhereOption, stderr_console, user_errors


def tensorboard(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH",
        help="Runs folders, sweep directories or trial directories.")],
    logdir: Annotated[Path, typer.Option(metavar="DIR", help="Where to write the event files.")]
    = Path("tensorboard"),
    where: WhereOption = None,
) -> None:
    """Write TensorBoard event files, a run per trial, with per-epoch scalars and HParams;
    then: tensorboard --logdir DIR. Running it again rewrites the same files.

    Example: lrlab tensorboard runs/ --logdir tb
    """
    from lrlab.present.tensorboard_export import export

    with user_errors():
        written = export(paths, logdir, where=where or ())
    stderr_console().print(f"wrote {len(written) - 1} trial runs and the HParams experiment "
                           f"under {logdir}; view them with: tensorboard --logdir {logdir}",
                           markup=False)
