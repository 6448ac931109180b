"""``lrlab compare``: load run directories, print the comparison, export, plot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lrlab.cli.common import stderr_console, stdout_console, user_errors

METRIC_HELP = "loss, accuracy, val_loss, val_accuracy, test_loss or test_accuracy."


def compare(
    paths: Annotated[list[Path], typer.Argument(
        help="Runs folders, sweep directories or trial directories.")],
    metric: Annotated[Optional[str], typer.Option(
        help=f"What to compare (default val_accuracy, or test_accuracy without "
             f"validation): {METRIC_HELP}")] = None,
    at: Annotated[str, typer.Option(
        help="Which epoch's value: best, last, or an epoch number.")] = "best",
    where: Annotated[Optional[list[str]], typer.Option(
        help="Keep trials matching COLUMN=VALUE (also !=, <, <=, >, >=); repeatable.")] = None,
    sort: Annotated[Optional[str], typer.Option(
        help="Sort by a column of the table; 'mean' sorts best first.")] = None,
    top: Annotated[Optional[int], typer.Option(help="Show only the K best settings.")] = None,
    tolerance: Annotated[float, typer.Option(
        help="Good range: rates within this much of the best (metric units).")] = 0.01,
    output_format: Annotated[str, typer.Option(
        "--format", help="table, csv, markdown, json or latex.")] = "table",
    output: Annotated[Optional[Path], typer.Option(
        help="Write the table to this file instead of the terminal.")] = None,
    plots: Annotated[Optional[Path], typer.Option(
        help="Folder for the plots (default: <sweep>/plots).")] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Draw no plots.")] = False,
    svg: Annotated[bool, typer.Option("--svg", help="Also write SVG plots.")] = False,
) -> None:
    """Rank learning rates per optimizer across seeds; export the table; plot the curves.

    Example: lrlab compare runs/ --where optimizer=sgd --format markdown
    """
    from lrlab.compare import CompareError, default_metric, summarize, verdicts
    from lrlab.files import atomic_write_text
    from lrlab.render import FORMATS, render
    from lrlab.runs import scan_runs

    console, errors = stdout_console(), stderr_console()
    with user_errors():
        if output_format not in FORMATS:
            raise CompareError(f"--format {output_format!r}: expected one of: "
                               f"{', '.join(FORMATS)}")
        scan = scan_runs(paths)
        frame = scan.frame
        if frame.empty:
            raise CompareError(f"{', '.join(map(str, paths))}: every trial is unreadable")
        chosen = metric or default_metric(frame)
        summary = summarize(frame, metric=chosen, at=at, where=where or (), sort=sort, top=top)
        found = verdicts(summary, tolerance=tolerance)
        text = render(summary, found, output_format, tolerance=tolerance, unreadable=[
            {"path": str(b.path), "reason": b.reason} for b in scan.unreadable])
        if output is not None:
            atomic_write_text(output, text)
        written = []
        if not no_plots:
            from lrlab.plots import default_plot_dir, write_plots

            written = write_plots(frame, summary, out_dir=plots or default_plot_dir(
                scan.sweep_dirs), svg=svg)
    if output is None:
        console.print(text, markup=False, end="")
    else:
        errors.print(f"wrote {output}")
    for bad in scan.unreadable:
        errors.print(f"skipped unreadable trial {bad.path}: {bad.reason}", markup=False)
    for path in written:
        errors.print(f"plot: {path}", markup=False)
