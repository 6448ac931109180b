"""``lrlab report``: one self-contained HTML page of sweeps and range tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lrlab.cli.common import AtOption, MetricOption, WhereOption, stderr_console, user_errors


def report(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH",
        help="Runs folders, sweep or trial directories, range-test directories.")],
    output: Annotated[Path, typer.Option(
        metavar="FILE", help="The HTML file to write.")] = Path("report.html"),
    metric: MetricOption = None,
    at: AtOption = "best",
    where: WhereOption = None,
) -> None:
    """Write one HTML page (verdicts, plots, trials, configs, sessions) that opens from
    disk and fetches nothing; it reads run directories only.

    Example: lrlab report runs/mnist-lr-3seeds-* --output report.html
    """
    from lrlab.present.report import write_report

    with user_errors():
        written = write_report(paths, output, where=where or (), metric=metric, at=at)
    stderr_console().print(f"report: {written}", markup=False)
