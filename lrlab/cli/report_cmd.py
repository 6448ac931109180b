"""``lrlab report``: one self-contained HTML page of sweeps and range tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lrlab.cli.common import stderr_console, user_errors


def report(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH",
        help="Runs folders, sweep or trial directories, range-test directories.")],
    output: Annotated[Path, typer.Option(
        metavar="FILE", help="The HTML file to write.")] = Path("report.html"),
    metric: Annotated[Optional[str], typer.Option(
        help="What to compare (default val_accuracy, or test_accuracy without "
             "validation).")] = None,
    at: Annotated[str, typer.Option(
        help="Which epoch's value: best, last, or an epoch number.")] = "best",
    where: Annotated[Optional[list[str]], typer.Option(metavar="COLUMN=VALUE",
        help="Only trials matching COLUMN=VALUE (as in lrlab compare); repeatable.")] = None,
) -> None:
    """Write one HTML page (verdicts, plots, trials, configs, sessions) that opens from
    disk and fetches nothing; it reads run directories only.

    Example: lrlab report runs/mnist-lr-3seeds-* --output report.html
    """
    from lrlab.present.report import write_report

    with user_errors():
        written = write_report(paths, output, where=where or (), metric=metric, at=at)
    stderr_console().print(f"report: {written}", markup=False)
