"""``lrlab compare``: load run directories, print the comparison, export, plot."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from lrlab.cli.progress import fmt
from lrlab.compare import CompareError, Verdict

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
    from lrlab.cli.app import stdout_console, user_errors
    from lrlab.compare import default_metric, summarize, verdicts
    from lrlab.export import FORMATS
    from lrlab.runs import scan_runs
    from lrlab.store import atomic_write_text

    console, errors = stdout_console(), Console(stderr=True, highlight=False, soft_wrap=True)
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
        text = _render(summary, found, output_format, scan, tolerance=tolerance)
        if output is not None:
            atomic_write_text(output, text)
        written = []
        if not no_plots:
            from lrlab.plots import write_plots

            target = plots or _default_plot_dir(scan.sweep_dirs)
            try:
                written = write_plots(frame, summary, out_dir=target, svg=svg)
            except OSError as exc:
                raise CompareError(f"{target}: cannot write plots ({exc.strerror or exc}); "
                                   f"choose another folder with --plots") from None
    if output is None:
        console.print(text, markup=False, end="")
    else:
        errors.print(f"wrote {output}")
    for bad in scan.unreadable:
        errors.print(f"skipped unreadable trial {bad.path}: {bad.reason}", markup=False)
    for path in written:
        errors.print(f"plot: {path}", markup=False)


def _default_plot_dir(sweep_dirs: list[Path]) -> Path:
    if len(sweep_dirs) == 1:
        return sweep_dirs[0] / "plots"
    return Path(os.path.commonpath([p.resolve() for p in sweep_dirs])) / "plots"


def _render(summary, found: list[Verdict], output_format: str, scan, *, tolerance: float) -> str:
    from lrlab import export

    if output_format == "csv":
        return export.to_csv(summary)
    if output_format == "markdown":
        return export.to_markdown(summary)
    if output_format == "latex":
        return export.to_latex(summary)
    if output_format == "json":
        unreadable = [{"path": str(b.path), "reason": b.reason} for b in scan.unreadable]
        return export.to_json(summary, found, unreadable)
    return _rich_text(summary, found, tolerance=tolerance)


def _rich_text(summary, found: list[Verdict], *, tolerance: float) -> str:
    """The terminal table and verdicts, rendered to text (so --output can keep them too)."""
    from lrlab.export import display_columns

    metric, at = summary["metric"].iloc[0], summary["at"].iloc[0]
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, highlight=False, force_terminal=False,
                      soft_wrap=True)
    table = Table(title=f"{metric} at {at} epoch, mean ± std over seeds")
    columns = [c for c in display_columns(summary) if c != "std"]
    for column in columns:
        table.add_column(f"{metric} (mean ± std)" if column == "mean" else column,
                         justify="left" if column in ("sweep", "optimizer") else "right",
                         no_wrap=True)
    for _, row in summary.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            if column == "mean":
                cells.append(fmt(value) + ("" if row["n"] < 2 else f" ± {fmt(row['std'])}"))
            elif column == "learning_rate":
                cells.append(f"{value:.3g}")
            elif column in ("n", "diverged"):
                cells.append(str(int(value)))
            elif column in ("epoch", "seconds"):
                cells.append(fmt(value, 1))
            else:
                cells.append(fmt(value) if isinstance(value, float) else str(value))
        table.add_row(*cells)
    console.print(table)
    for verdict in found:
        console.print(_verdict_line(verdict, metric=metric, tolerance=tolerance), markup=False)
    return buffer.getvalue()


def _verdict_line(v: Verdict, *, metric: str, tolerance: float) -> str:
    name = f"{v.optimizer} ({v.setting})" if v.setting else v.optimizer
    spread = f" ± {v.best_std:.4f}" if v.best_n > 1 else ""
    stable = f"{v.largest_stable:.3g}" if v.largest_stable is not None else "none"
    return (f"{name}: best learning rate {v.best_learning_rate:.3g} ({metric} "
            f"{v.best_mean:.4f}{spread}, n={v.best_n}); good range {v.good_low:.3g} to "
            f"{v.good_high:.3g} ({v.good_count} rate(s) within {tolerance:g} of the best); "
            f"largest rate with no diverged seed: {stable}")
