from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from lrlab.cli.progress import LiveProgress, PlainProgress
from lrlab.experiment.trials import Trial
from lrlab.rundir.records import EpochRecord

SGD, RMSPROP = Trial("sgd", 0.1, 0), Trial("rmsprop", 1e-3, 0)


def record(epoch: int) -> EpochRecord:
    return EpochRecord.of(epoch=epoch, lr=0.1, loss=0.5, accuracy=0.9, val_loss=0.6,
                       val_accuracy=0.88, seconds=1.0)


def row(status: str) -> dict:
    return {"status": status, "best_val_accuracy": 0.88, "test_accuracy": 0.87, "seconds": 2.0}


def console() -> Console:
    return Console(file=io.StringIO(), width=200, highlight=False)


def test_live_bar_counts_concurrent_trials_and_takes_back_a_failed_attempt() -> None:
    screen = console()
    with LiveProgress(screen, epochs=3) as live:
        live.sweep_started(run_dir=Path("runs/x"), trials=[SGD, RMSPROP], pending=2)
        task = live._progress.tasks[0]
        live.trial_started(SGD)
        live.trial_started(RMSPROP)
        live.epoch_finished(SGD, record(1))
        live.epoch_finished(RMSPROP, record(1))
        live.epoch_finished(RMSPROP, record(2))
        assert task.completed == 3 and task.description.startswith("2 running, 0/2 done")
        live.trial_retrying(RMSPROP, error="Ray worker lost", attempt=1)
        assert task.completed == 1  # the retry starts from its first epoch
        live.trial_started(RMSPROP)
        live.trial_finished(SGD, row("diverged"))  # after 1 of 3 epochs
        assert task.completed == 3 and task.description.startswith("trial 2/2")
        for epoch in (1, 2, 3):
            live.epoch_finished(RMSPROP, record(epoch))
        live.trial_finished(RMSPROP, row("completed"))
        assert task.completed == task.total == 6
    out = screen.file.getvalue()
    assert "rmsprop-lr1.00e-03-s0-" in out
    assert "attempt 1 failed (Ray worker lost); trying again" in out
    assert "[1/2] sgd-lr1.00e-01-s0-" in out and "[2/2] rmsprop-" in out


def test_a_halving_sweep_counts_each_epoch_and_trial_once() -> None:
    # SGD pauses at epoch 1, goes on to 3; RMSprop pauses at 1 and is dropped there.
    screen = console()
    with LiveProgress(screen, epochs=3) as live:
        live.sweep_started(run_dir=Path("runs/x"), trials=[SGD, RMSPROP], pending=2)
        task = live._progress.tasks[0]
        for trial in (SGD, RMSPROP):
            live.trial_started(trial)
            live.epoch_finished(trial, record(1))
            live.trial_finished(trial, {**row("paused"), "epochs": 1})
        assert task.completed == 2 and task.description.startswith("trial 1/2")
        live.trial_finished(RMSPROP, {**row("pruned"), "epochs": 1})
        live.trial_started(SGD)
        for epoch in (2, 3):
            live.epoch_finished(SGD, record(epoch))
        live.trial_finished(SGD, row("completed"))
        assert task.completed == task.total == 6
    out = screen.file.getvalue()
    assert "  sgd-lr1.00e-01-s0-" in out and " paused at epoch 1 " in out
    assert "[1/2] rmsprop-lr1.00e-03-s0-" in out and " pruned at epoch 1 " in out
    assert "[2/2] sgd-lr1.00e-01-s0-" in out


def test_plain_lines_for_retries_and_notices() -> None:
    screen = console()
    plain = PlainProgress(screen, epochs=3)
    plain.sweep_started(run_dir=Path("runs/x"), trials=[SGD], pending=1)
    plain.trial_retrying(SGD, error="RuntimeError: boom", attempt=2)
    plain.notice("a Ray worker could not start (ImportError); going on with 1")
    lines = screen.file.getvalue().splitlines()
    assert lines[1].endswith("attempt 2 failed (RuntimeError: boom); trying again")
    assert lines[2] == "a Ray worker could not start (ImportError); going on with 1"


def test_the_live_display_fits_80_columns() -> None:
    screen = Console(file=io.StringIO(), width=80, highlight=False, force_terminal=True,
                     color_system=None)
    long = Trial("sgd", 0.1, 0, {"momentum": 0.9, "nesterov": True})
    with LiveProgress(screen, epochs=3) as live:
        live.sweep_started(run_dir=Path("runs/x"), trials=[long], pending=1)
        live.trial_started(long)
        live.epoch_finished(long, record(1))
        bar = live._progress.make_tasks_table(live._progress.tasks)  # what the bar shows
        rendered = Console(width=80, file=io.StringIO(), color_system=None)
        rendered.print(bar)
        line = rendered.file.getvalue().splitlines()[0]
        assert len(line) <= 80 and "1/3 epochs" in line and "ETA" in line
        assert "…" in line  # the description gave way, not the bar
        live.trial_finished(long, row("completed"))
    printed = screen.file.getvalue()
    finished = printed[printed.index("[1/1]"):].splitlines()[0]  # after the cursor codes
    assert len(finished) <= 80 and finished.endswith("val 0.8800 test 0.8700 2.0s")


def test_stages_say_what_happens_before_the_first_trial() -> None:
    plain = console()
    progress = PlainProgress(plain, epochs=3)
    progress.stage("loading the data")
    progress.sweep_started(run_dir=Path("runs/x"), trials=[SGD], pending=1)
    lines = plain.file.getvalue().splitlines()
    assert lines == ["sweep: loading the data...", "sweep: 1 trial to run -> runs/x"]
    with LiveProgress(console(), epochs=3) as live:
        live.stage("loading the data")
        live.stage("starting the workers")
        (spinner,) = live._progress.tasks  # one line, updated: no pile of stages
        assert spinner.description == "starting the workers" and spinner.total is None
        live.sweep_started(run_dir=Path("runs/x"), trials=[SGD], pending=1)
        (bar,) = live._progress.tasks  # the spinner gives way to the bar
        assert bar.total == 3
