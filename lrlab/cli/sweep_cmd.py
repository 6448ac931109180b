"""``lrlab sweep``: train every trial of a config into a run directory, with progress."""

from __future__ import annotations

import contextlib
import enum
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console

from lrlab.cli.common import EngineName, StopSignals, stdout_console, user_errors

if TYPE_CHECKING:  # imported when a sweep runs, not for --help
    from lrlab.analysis.compare import Comparison


class BackendName(str, enum.Enum):
    local = "local"
    ray = "ray"


def sweep(
    config: Annotated[Path, typer.Argument(help="YAML experiment config.")],
    runs_dir: Annotated[Path, typer.Option(
        metavar="DIR", help="Folder that receives the run directory.")]
    = Path("runs"),
    name: Annotated[Optional[str], typer.Option(help="Sweep name (default: the config's).")]
    = None,
    resume: Annotated[Optional[Path], typer.Option(metavar="RUN_DIR",
        help="Continue this run directory: run only trials without a finished result.")]
    = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only the run directory's path, at the end.")] = False,
    allow_data_change: Annotated[bool, typer.Option(
        "--allow-data-change",
        help="Resume even if the data differs from the first session's (recorded).")]
    = False,
    backend: Annotated[BackendName, typer.Option(
        help="Where trials train: on this machine, in worker processes side by side (one "
             "per CPU by default; see --workers), or on a Ray cluster.")]
    = BackendName.local,
    workers: Annotated[Optional[int], typer.Option(metavar="N",
        help="Local backend: trials trained at once, each in its own process (default: CPUs "
             "/ threads per trial on tensorflow, 1 on jax; 1 trains in this process).")]
    = None,
    threads_per_trial: Annotated[Optional[int], typer.Option(metavar="N",
        help="Local backend: TensorFlow threads per trial (default 1, as on Ray with one CPU "
             "per trial, so that both give the same numbers).")] = None,
    address: Annotated[Optional[str], typer.Option(metavar="ADDRESS",
        help="Ray cluster to join: auto, or HOST:PORT of its head (default: start a "
             "private instance on this machine).")] = None,
    cpus_per_trial: Annotated[Optional[float], typer.Option(metavar="N",
        help="CPUs each Ray worker holds (default 1).")] = None,
    gpus_per_trial: Annotated[Optional[float], typer.Option(metavar="N",
        help="GPUs each Ray worker holds; fractions share a GPU (default 0).")] = None,
    max_retries: Annotated[Optional[int], typer.Option(metavar="N",
        help="Retries of a trial whose Ray worker died or whose training raised, before "
             "it is recorded as failed (default 2).")] = None,
    max_workers: Annotated[Optional[int], typer.Option(metavar="N",
        help="Most trials at once on Ray (default: as many as the resources allow).")] = None,
    engine: Annotated[Optional[EngineName], typer.Option(
        help="What trains: Keras on TensorFlow or on JAX (default: the config's "
             "training.engine, else tensorflow).")] = None,
    stack: Annotated[Optional[str], typer.Option(
        help="jax engine: most trials of one setting and seed trained as one stack; auto "
             "stacks on accelerators only (default: the config's training.stack).")] = None,
    max_trials: Annotated[Optional[int], typer.Option(metavar="N",
        help="Refuse a sweep of more trials than this (default 10,000: a typo in a range "
             "can ask for a million).")] = None,
    until_settled: Annotated[bool, typer.Option(
        "--until-settled", rich_help_panel="Adaptive",
        help="After the grid, add rounds of trainings only where the verdict is uncertain "
             "(a wider range, more seeds for rates tied with the best) until it is settled; "
             "see docs/adaptive.md.")] = False,
    max_seeds: Annotated[Optional[int], typer.Option(metavar="N",
        rich_help_panel="Adaptive", help="The most seeds a rate gets (default 10).")] = None,
    tolerance: Annotated[Optional[float], typer.Option(
        rich_help_panel="Adaptive",
        help="Rivals within this of the best (in the metric's units) are equivalent "
             "(default 0.005 of an accuracy or AUC; 0.5% of the baseline for an error).")
    ] = None,
    alpha: Annotated[Optional[float], typer.Option(
        rich_help_panel="Adaptive",
        help="The chance of any false call over all looks, at most (default 0.05).")]
    = None,
    max_trainings: Annotated[Optional[int], typer.Option(metavar="N",
        rich_help_panel="Adaptive", help="Stop adding rounds past this many trials.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option(metavar="MINUTES",
        rich_help_panel="Adaptive", help="Stop adding rounds after this many minutes.")]
    = None,
) -> None:
    """Train every trial of a sweep and write per-epoch tables into a run directory.

    Example: lrlab sweep configs/mnist.yaml --backend ray
    """
    console = stdout_console()
    if not quiet:  # at once: the imports below and the data take seconds
        console.print(f"sweep: reading {config}", markup=False, highlight=False)
    from lrlab.errors import ConfigError
    from lrlab.experiment.config import load_config, with_training
    from lrlab.run.sweep import SweepObserver, run_sweep

    with user_errors(), StopSignals() as stops:
        ray_settings = {"address": address, "cpus_per_trial": cpus_per_trial,
                        "gpus_per_trial": gpus_per_trial, "max_retries": max_retries,
                        "max_workers": max_workers}
        local_settings = {"workers": workers, "threads_per_trial": threads_per_trial}
        chosen = _backend(backend, {k: v for k, v in ray_settings.items() if v is not None},
                          {k: v for k, v in local_settings.items() if v is not None})
        experiment = with_training(load_config(config), engine=engine and engine.value,
                                   stack=stack)
        if name is not None:
            experiment = experiment.model_copy(update={"name": name})
        epochs = experiment.training.epochs
        options = {"backend": chosen, "argv": sys.argv,
                   "allow_data_change": allow_data_change,
                   **({} if max_trials is None else {"max_trials": max_trials})}
        settle = {k: v for k, v in {"max_seeds": max_seeds, "tolerance": tolerance,
                                    "alpha": alpha, "max_trainings": max_trainings,
                                    "max_minutes": max_minutes}.items() if v is not None}
        if settle and not until_settled:
            name, value = next(iter(settle.items()))
            raise ConfigError("only with --until-settled (an adaptive sweep)",
                              about={name: f"{value:g}"})
        settling = None
        with _progress(console, quiet=quiet, epochs=epochs) as observer:
            try:
                if until_settled:
                    settling = _settle(console, experiment, observer, quiet=quiet,
                                       runs_dir=runs_dir, resume=resume, sweep=options,
                                       settle=settle)
                    report = settling.last
                else:
                    report = run_sweep(experiment, runs_dir=runs_dir, resume=resume,
                                       observer=observer or SweepObserver(), **options)
            except KeyboardInterrupt:
                typer.echo("interrupted before any trial started; nothing was lost", err=True)
                raise typer.Exit(stops.exit_code) from None
    if not quiet:
        _print_summary(console, report.rows, report.comparison)
        if settling is not None:
            _print_settled(console, report.run_dir)
        from lrlab.present.sweep_summary import engine_line

        console.print(engine_line(report), markup=False)
    if report.interrupted:
        again = " --backend ray" if backend is BackendName.ray else ""  # either would do
        again += " --until-settled" if until_settled else ""
        typer.echo(f"interrupted; finished trials are kept. Resume with:\n"
                   f"  lrlab sweep {config} --resume {report.run_dir}{again}", err=True)
    console.print(str(report.run_dir) if quiet else f"run directory: {report.run_dir}",
                  markup=False)
    if report.interrupted:
        raise typer.Exit(stops.exit_code)


def _settle(console: Console, experiment: Any, observer: Any, *, quiet: bool,
            runs_dir: Path, resume: Path | None, sweep: dict[str, Any],
            settle: dict[str, Any]) -> Any:
    """The adaptive sweep, printing each round as it is decided."""
    from lrlab.present.rounds import round_lines
    from lrlab.run.settle import SettleOptions, run_settle
    from lrlab.run.sweep import SweepObserver

    def decided(number: int, found: Any) -> None:
        if not quiet:
            for line in round_lines({"round": number, **found.to_dict()}):
                console.print(line, markup=False, soft_wrap=not console.is_terminal)

    return run_settle(experiment, options=SettleOptions(**settle), runs_dir=runs_dir,
                      resume=resume, observer=observer or SweepObserver(), on_round=decided,
                      **sweep)


def _print_settled(console: Console, run_dir: Path) -> None:
    from lrlab.present.rounds import settle_lines
    from lrlab.rundir.store import RunStore

    record = RunStore(run_dir).read_settle()
    for line in settle_lines(record) if record else []:
        console.print(line, markup=False, soft_wrap=not console.is_terminal)


def _backend(name: BackendName, ray_settings: dict[str, Any],
             local_settings: dict[str, Any]) -> Any:
    """The backend asked for; one backend's options with the other are a mistake."""
    from lrlab.run.backends import BackendError, LocalBackend, RayBackend, RayOptions

    if name is BackendName.local:
        if ray_settings:
            flag = "--" + next(iter(ray_settings)).replace("_", "-")
            raise BackendError(f"{flag}: only for --backend ray (the backend is local)")
        return LocalBackend(**local_settings)
    if local_settings:
        flag = "--" + next(iter(local_settings)).replace("_", "-")
        raise BackendError(f"{flag}: only for --backend local (on Ray, --cpus-per-trial sets "
                           f"a trial's threads and the cluster's size the workers)")
    options = RayOptions(**ray_settings)
    options.check()
    return RayBackend(options)


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


def _print_summary(console: Console, rows: list[dict[str, Any]],
                   comparison: Comparison | None) -> None:
    """The trials, then the verdicts exactly as ``lrlab compare`` gives them (the sweep's
    report carries them, read back from the files just written)."""
    from lrlab.present.render import title, verdict_lines, wrapped
    from lrlab.present.sweep_summary import trials_table

    if not rows:
        return
    console.print(trials_table(rows, width=console.width))
    if comparison is None:  # nothing completed: there is no best rate to name
        return
    console.print(f"{title(comparison)}:", markup=False, soft_wrap=not console.is_terminal)
    for line in verdict_lines(comparison):  # on a terminal, wrapped at words
        if console.is_terminal:
            console.print(wrapped(line))
        else:
            console.print(line, markup=False, soft_wrap=True)
