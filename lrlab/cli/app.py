"""The ``lrlab`` command line: parse arguments, call the library, print, map errors to exit 2.

Each command is thin; the work is in the library modules. TensorFlow is imported only by
the code that trains, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from lrlab import __version__
from lrlab.errors import LrlabError

app = typer.Typer(
    help="lrlab: learning-rate and optimizer experiments on the classic Keras MNIST network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
data_app = typer.Typer(help="Manage the data sets lrlab trains on.", no_args_is_help=True)
app.add_typer(data_app, name="data")

EXIT_USER_ERROR, EXIT_INTERRUPTED = 2, 130


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn an error the user can fix into one line on stderr and exit code 2."""
    try:
        yield
    except LrlabError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {exc}",
                                                                    markup=False)
        raise typer.Exit(EXIT_USER_ERROR) from None


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


@app.command()
def sweep(
    config: Annotated[Path, typer.Argument(help="YAML experiment config.")],
    runs_dir: Annotated[Path, typer.Option(help="Folder that receives the run directory.")]
    = Path("runs"),
    name: Annotated[Optional[str], typer.Option(help="Sweep name (default: the config's).")]
    = None,
    resume: Annotated[Optional[Path], typer.Option(
        help="Continue this run directory: run only trials without a finished result.")]
    = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train every trial of a sweep and write per-epoch tables into a run directory.

    Example: lrlab sweep configs/mnist.yaml
    """
    from lrlab.config import load_config
    from lrlab.runner import SweepObserver, run_sweep

    console = stdout_console()
    with user_errors():
        experiment = load_config(config)
        if name is not None:
            experiment = experiment.model_copy(update={"name": name})
        epochs = experiment.training.epochs
        with _progress(console, quiet=quiet, epochs=epochs) as observer:
            try:
                report = run_sweep(experiment, runs_dir=runs_dir, resume=resume,
                                   observer=observer or SweepObserver(), argv=sys.argv)
            except KeyboardInterrupt:
                typer.echo("interrupted before any trial started; nothing was lost", err=True)
                raise typer.Exit(EXIT_INTERRUPTED) from None
    if not quiet:
        _print_summary(console, report.rows, report.run_dir)
    if report.interrupted:
        typer.echo(f"interrupted; finished trials are kept. Resume with:\n"
                   f"  lrlab sweep {config} --resume {report.run_dir}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if not quiet:
        console.print(f"run directory: {report.run_dir}")


def stdout_console() -> Console:
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:  # logs and pipes: do not squeeze tables into 80 columns
        console.width = max(console.width, 140)
    return console


@contextlib.contextmanager
def _progress(console: Console, *, quiet: bool, epochs: int) -> Iterator[Any]:
    from lrlab.cli.progress import LiveProgress, PlainProgress

    if quiet:
        yield None
    elif console.is_terminal:
        with LiveProgress(console, epochs=epochs) as live:
            yield live
    else:
        yield PlainProgress(console, epochs=epochs)


def _print_summary(console: Console, rows: list[dict[str, Any]], run_dir: Path) -> None:
    from lrlab.cli.progress import fmt
    from lrlab.compare import CompareError, default_metric, summarize, verdicts
    from lrlab.runs import load_runs

    if not rows:
        return
    table = Table(title="Trials")
    for column in ("trial", "status", "final loss", "best val_acc", "test_acc", "seconds"):
        table.add_column(column, justify="left" if column in ("trial", "status") else "right",
                         no_wrap=True)
    for row in rows:
        table.add_row(row["trial_id"], row["status"], fmt(row.get("loss")),
                      fmt(row.get("best_val_accuracy")), fmt(row.get("test_accuracy")),
                      fmt(row.get("seconds"), 1))
    console.print(table)
    # The same verdict `lrlab compare` gives, read back from the files just written.
    frame = load_runs(run_dir)
    metric = default_metric(frame)
    try:
        found = verdicts(summarize(frame, metric=metric))
    except CompareError:  # nothing completed: there is no best rate to name
        return
    summary = Table(title="Best learning rate per optimizer",
                    caption=f"{metric} at each trial's best epoch, mean over seeds; "
                            f"good range: within 0.01 of the best")
    for column in ("optimizer", "best rate", metric, "seeds", "good range",
                   "largest rate, no divergence"):
        summary.add_column(column, justify="left" if column == "optimizer" else "right")
    for v in found:
        name = f"{v.optimizer} ({v.setting})" if v.setting else v.optimizer
        stable = "none" if v.largest_stable is None else f"{v.largest_stable:.3g}"
        summary.add_row(name, f"{v.best_learning_rate:.3g}", fmt(v.best_mean), str(v.best_n),
                        f"{v.good_low:.3g} to {v.good_high:.3g}", stable)
    console.print(summary)


@data_app.command("import")
def data_import(
    path: Annotated[Path, typer.Argument(
        help="A Keras-style .npz, or a folder with the four MNIST IDX files (.gz or not).")],
    dataset: Annotated[str, typer.Option(help="Which data set this is: mnist or fashion_mnist.")]
    = "mnist",
    to: Annotated[Optional[Path], typer.Option(
        help="Destination folder (default: $LRLAB_DATA_DIR, else Keras's cache).")] = None,
) -> None:
    """Validate a local copy of a data set and put it where lrlab looks for it.

    Example: lrlab data import ~/Downloads/mnist/ --dataset mnist
    """
    from lrlab.data import import_dataset

    with user_errors():
        if dataset not in ("mnist", "fashion_mnist"):
            raise LrlabError(f"--dataset: unknown data set {dataset!r}; expected mnist or "
                             f"fashion_mnist")
        target = import_dataset(path, dataset=dataset, dest=to)
    typer.echo(f"imported {path} -> {target}")


def _register_commands() -> None:
    from lrlab.cli.compare_cmd import compare
    from lrlab.cli.findlr_cmd import find_lr

    app.command()(compare)
    app.command("find-lr")(find_lr)


_register_commands()
