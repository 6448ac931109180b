"""``lrlab compare``: load run directories, print the comparison, export, plot."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from lrlab.cli.common import (
    AtOption,
    MetricOption,
    WhereOption,
    stderr_console,
    stdout_console,
    user_errors,
)

if TYPE_CHECKING:
    from rich.console import Console



def compare(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH",
        help="Runs folders, sweep directories or trial directories.")],
    metric: MetricOption = None,
    at: AtOption = "best",
    where: WhereOption = None,
    sort: Annotated[Optional[str], typer.Option(
        help="Sort the rows shown by a column; 'mean' sorts best first. The verdicts do "
             "not change.")] = None,
    top: Annotated[Optional[int], typer.Option(metavar="K",
        help="Show only the K best rows. The verdicts still cover every trial --where "
             "keeps.")] = None,
    output_format: Annotated[str, typer.Option(
        "--format", metavar="FORMAT", help="table, csv, markdown, json or latex.")] = "table",
    output: Annotated[Optional[Path], typer.Option(metavar="FILE",
        help="Write the table to this file instead of the terminal.")] = None,
    plots: Annotated[Optional[Path], typer.Option(metavar="DIR",
        help="Folder for the plots (default: <sweep>/plots).")] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Draw no plots.")] = False,
    png: Annotated[bool, typer.Option("--png", help=(
        "Also draw the plots as PNG with matplotlib (a few seconds; the SVG plots are "
        "always written)."))] = False,
    svg: Annotated[bool, typer.Option("--svg", hidden=True,
                                      help="Kept for old scripts: SVG is the default.")
                   ] = False,
) -> None:
    """Rank learning rates per optimizer across seeds; export the table; plot the curves.

    Example: lrlab compare runs/ --where optimizer=sgd --format markdown
    """
    from lrlab.analysis.compare import CompareError, compare_runs
    from lrlab.present.render import FORMATS, render
    from lrlab.rundir.files import atomic_write_text
    from lrlab.rundir.loading import scan_runs

    console, errors = stdout_console(), stderr_console()
    with user_errors():
        if output_format not in FORMATS:
            raise CompareError(f"--format {output_format!r}: expected one of: "
                               f"{', '.join(FORMATS)}")
        scan = scan_runs(paths)
        frame = scan.frame
        if frame.empty:
            raise CompareError(f"{', '.join(map(str, paths))}: every trial is unreadable")
        comparison = compare_runs(frame, metric=metric, at=at, where=where or (),
                                  plans=scan.plans)
        text = render(comparison, output_format, rows=comparison.shown(sort=sort, top=top),
                      width=console.width, unreadable=[{"path": str(b.path), "reason": b.reason}
                                  for b in scan.unreadable])
        if output is not None:
            atomic_write_text(output, text)
            errors.print(f"wrote {output}", markup=False)
        else:
            console.print(text, markup=False, end="")
            if output_format == "table":
                _print_rounds(console, errors, scan.sweep_dirs)
        for bad in scan.unreadable:  # a trial's directory, or a run's file (path.json)
            errors.print(f"skipped {bad.reason}" if bad.path.is_file() else
                         f"skipped unreadable trial {bad.path}: {bad.reason}", markup=False)
        # The table first: a folder where no plot can be written must not cost the answer.
        if not no_plots:
            from lrlab.present.plots import plot_dir, write_plots

            del svg  # SVG plots are always written
            for path in write_plots(frame, comparison, where=where or (),
                                    out_dir=plot_dir(scan.sweep_dirs, plots), png=png,
                                    paths=scan.paths):
                errors.print(f"plot: {path}", markup=False)


def _print_rounds(console: Console, errors: Console, sweep_dirs: list[Path]) -> None:
    """The decisions of each adaptive sweep among ``sweep_dirs``, after the verdicts."""
    from lrlab.errors import StoreError
    from lrlab.present.rounds import settle_lines
    from lrlab.rundir.store import RunStore

    for sweep_dir in sweep_dirs:
        try:
            record = RunStore(sweep_dir).read_settle()
        except StoreError as exc:  # the verdicts stand without it
            errors.print(f"skipped the adaptive rounds: {exc}", markup=False)
            continue
        if record is not None:
            name = f" ({sweep_dir.name})" if len(sweep_dirs) > 1 else ""
            lines = settle_lines(record)
            console.print(lines[0].replace("Adaptive sweep", f"Adaptive sweep{name}", 1),
                          markup=False)
            for line in lines[1:]:
                console.print(line, markup=False)
