"""The ``lrlab`` command line: parse arguments, call the library, print, map errors to exit 2.

Each command is thin; the work is in the library modules. TensorFlow is imported only by
the code that trains, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import contextlib
import enum
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


class BackendName(str, enum.Enum):
    local = "local"
    ray = "ray"


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
    backend: Annotated[BackendName, typer.Option(
        help="Where trials train: one after another here, or in parallel on Ray.")]
    = BackendName.local,
    address: Annotated[Optional[str], typer.Option(
        help="Ray cluster to join: auto, or HOST:PORT of its head (default: start a "
             "private instance on this machine).")] = None,
    cpus_per_trial: Annotated[Optional[float], typer.Option(
        help="CPUs each Ray worker holds (default 1).")] = None,
    gpus_per_trial: Annotated[Optional[float], typer.Option(
        help="GPUs each Ray worker holds; fractions share a GPU (default 0).")] = None,
    max_retries: Annotated[Optional[int], typer.Option(
        help="Retries of a trial whose Ray worker died or whose training raised, before "
             "it is recorded as failed (default 2).")] = None,
    max_workers: Annotated[Optional[int], typer.Option(
        help="Most trials at once on Ray (default: as many as the resources allow).")] = None,
) -> None:
    """Train every trial of a sweep and write per-epoch tables into a run directory.

    Example: lrlab sweep configs/mnist.yaml --backend ray
    """
    from lrlab.config import load_config
    from lrlab.runner import SweepObserver, run_sweep

    console = stdout_console()
    with user_errors():
        ray_settings = {"address": address, "cpus_per_trial": cpus_per_trial,
                        "gpus_per_trial": gpus_per_trial, "max_retries": max_retries,
                        "max_workers": max_workers}
        chosen = _backend(backend, {k: v for k, v in ray_settings.items() if v is not None})
        experiment = load_config(config)
        if name is not None:
            experiment = experiment.model_copy(update={"name": name})
        epochs = experiment.training.epochs
        with _progress(console, quiet=quiet, epochs=epochs) as observer:
            try:
                report = run_sweep(experiment, runs_dir=runs_dir, resume=resume,
                                   observer=observer or SweepObserver(), backend=chosen,
                                   argv=sys.argv)
            except KeyboardInterrupt:
                typer.echo("interrupted before any trial started; nothing was lost", err=True)
                raise typer.Exit(EXIT_INTERRUPTED) from None
    if not quiet:
        _print_summary(console, report.rows, report.run_dir)
    if report.interrupted:
        again = " --backend ray" if backend is BackendName.ray else ""  # either would do
        typer.echo(f"interrupted; finished trials are kept. Resume with:\n"
                   f"  lrlab sweep {config} --resume {report.run_dir}{again}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if not quiet:
        console.print(f"run directory: {report.run_dir}")


def _backend(name: BackendName, ray_settings: dict[str, Any]) -> Any:
    """The backend asked for; Ray's options with ``--backend local`` are a mistake."""
    from lrlab.backends import BackendError, LocalBackend, RayBackend, RayOptions

    if name is BackendName.local:
        if ray_settings:
            flag = "--" + next(iter(ray_settings)).replace("_", "-")
            raise BackendError(f"{flag}: only for --backend ray (the backend is local)")
        return LocalBackend()
    options = RayOptions(**ray_settings)
    options.check()
    return RayBackend(options)


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
