"""``lrlab status``: what a sweep is doing or did, from any terminal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from lrlab.cli.common import StopSignals, stdout_console, user_errors


def status(
    run_dir: Annotated[Path, typer.Argument(
        help="A run directory (sweep or range test), or a folder of them: its latest.")],
    watch: Annotated[bool, typer.Option(
        "--watch", help="Refresh until the sweep ends (Ctrl-C stops watching, not the sweep).")]
    = False,
    every: Annotated[float, typer.Option(
        metavar="SECONDS", help="Seconds between refreshes with --watch.")]
    = 2.0,
) -> None:
    """Trials finished, running and pending, the running trial's epoch, elapsed time and
    ETA, the writer, and every session so far, read from the run directory's files.

    Example: lrlab status runs/mnist-lr-20261125-101500 --watch
    """
    from rich.live import Live
    from rich.text import Text

    from lrlab.analysis.status import latest_run_dir, read_status
    from lrlab.present.status_text import status_lines

    console = stdout_console()
    with user_errors():
        run_dir, others = latest_run_dir(run_dir)
        if others:
            shown = ", ".join(p.name for p in others[:5]) + (
                f" and {len(others) - 5} more" if len(others) > 5 else "")
            console.print(f"the latest of {len(others) + 1} run directories in "
                          f"{run_dir.parent}: {run_dir.name} (the others: {shown})",
                          markup=False)
        current = read_status(run_dir)
        if not watch or not current.writing:
            console.print("\n".join(status_lines(current)), markup=False)
            return
        try:
            with StopSignals(), Live(Text(""), console=console, auto_refresh=False) as live:
                while current.writing:
                    live.update(Text("\n".join(status_lines(current))), refresh=True)
                    time.sleep(every)
                    current = read_status(run_dir)
                live.update(Text("\n".join(status_lines(current))), refresh=True)
        except KeyboardInterrupt:
            return  # stops watching; the sweep is another process
