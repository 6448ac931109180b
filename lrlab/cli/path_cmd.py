"""``lrlab path``: the path of a rate too small, the best rate and a rate too large of a
sweep, on its loss surface (lrlab.run.path)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lrlab.cli.common import stderr_console, stdout_console, user_errors


def path(
    run_dir: Annotated[Path, typer.Argument(help="A sweep's run directory.")],
    per_epoch: Annotated[int, typer.Option(
        min=1, max=1000, metavar="N", help="Points of each path an epoch.")] = 8,
    grid: Annotated[int, typer.Option(
        min=5, max=101, metavar="N", help="The loss grid's points a side.")] = 21,
    rows: Annotated[int, typer.Option(
        min=1, metavar="N", help="Training rows every loss of the pictures is read on.")]
    = 2048,
) -> None:
    """Retrain, for each setting of a sweep, its smallest rate, its best rate and its
    first failing rate above the best (else its largest) on the first seed, keeping the
    weights a few times an epoch; write path.json, which `lrlab compare` plots and `lrlab
    report` shows: the loss on the line from the initial to the final weights, and each
    trajectory over the loss's contours.

    Example: lrlab path runs/mnist-lr-20261125-101500
    """
    from lrlab.run.path import PathOptions, trace_paths

    console, errors = stdout_console(), stderr_console()
    with user_errors():
        record = trace_paths(run_dir, options=PathOptions(per_epoch=per_epoch, grid=grid,
                                                          rows=rows),
                             on_trial=lambda text: errors.print(f"tracing {text}",
                                                                markup=False))
        for entry in record["paths"]:
            for trial in entry["trials"]:
                console.print(
                    f"{entry['label']}: {trial['role']} {trial['learning_rate']:.3g} "
                    f"({trial['status']}): {len(trial['coordinates'])} points; its two "
                    f"directions hold {100 * trial['explained'][0]:.0f}% and "
                    f"{100 * trial['explained'][1]:.0f}% of its path's variance, and "
                    f"rescaled filter by filter keep {100 * trial['captured']:.0f}% of it; "
                    f"training "
                    f"loss {trial['retraced_loss']:.4g} retraced, {trial['recorded_loss']:.4g} "
                    f"recorded", markup=False)
        console.print(f"wrote {run_dir / 'path.json'} in {record['seconds']:.0f} s; draw "
                      f"it with lrlab compare {run_dir} or lrlab report {run_dir}",
                      markup=False)
