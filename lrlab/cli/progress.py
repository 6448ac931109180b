"""Progress displays for ``lrlab sweep``: a live rich display on a terminal, plain lines
otherwise (CI logs, pipes), nothing with ``--quiet``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

from lrlab.experiment.trials import Trial
from lrlab.formatting import number as fmt
from lrlab.formatting import plural
from lrlab.present.sweep_summary import short
from lrlab.run.sweep import SweepObserver
from lrlab.rundir.records import EpochRecord, TrialStatus


def _epoch_text(trial: Trial, record: EpochRecord, epochs: int) -> str:
    """The epoch's loss and its first metric, on the training batches and validation."""
    metric = next((k for k in record.values if k != "loss"), "val_loss")
    metric = "loss" if metric.startswith("val_") else metric
    text = f"{trial.trial_id} epoch {record.epoch}/{epochs} loss {fmt(record.loss)}"
    if metric != "loss":
        text += f" {short(metric)} {fmt(record.values[metric])}"
    validation = record.values.get(f"val_{metric}", math.nan)
    if not math.isnan(validation):
        text += f" {short('val_' + metric)} {fmt(validation)}"
    return text


def _finished_text(trial: Trial, row: dict[str, Any], *, compact: bool = False) -> str:
    """A finished trial in a line; ``compact`` fits 80 columns (for the live display)."""
    text = f"{trial.trial_id} {row['status']}"
    if row["status"] in (TrialStatus.PAUSED.value, TrialStatus.PRUNED.value):
        text += f" at epoch {row.get('epochs')}"  # a halving rung's
    best = next((k for k in row if k.startswith("best_") and k != "best_epoch"), None)
    tested = next((k for k in row if k.startswith("test_") and k != "test_loss"),
                  "test_loss")
    if best is not None and row.get(best) is not None:
        text += f" {'val' if compact else short(best)} {fmt(row[best])}"
    text += (f" {'test' if compact else short(tested)} {fmt(row.get(tested))}"
             f" {'' if compact else '('}{fmt(row.get('seconds'), 1)}"
             f"{'s' if compact else ' s)'}")
    if row.get("error"):
        text += f": {row['error']}"
    return text


def _retry_text(trial: Trial, error: str, attempt: int) -> str:
    return f"{trial.trial_id} attempt {attempt} failed ({error}); trying again"


def _header(run_dir: Path, trials: Sequence[Trial], pending: int) -> str:
    skipped = len(trials) - pending
    note = f" ({skipped} already finished)" if skipped else ""
    return f"sweep: {plural(pending, 'trial')} to run{note} -> {run_dir}"


class PlainProgress(SweepObserver):
    """One line per epoch and per trial, for logs."""

    def __init__(self, console: Console, *, epochs: int) -> None:
        self._out, self._epochs = console, epochs
        self._done = self._total = 0

    def sweep_started(self, *, run_dir: Path, trials: Sequence[Trial], pending: int) -> None:
        # An adaptive sweep starts a sweep per round: each counts its own trials.
        self._done, self._total = 0, pending
        self._out.print(_header(run_dir, trials, pending), highlight=False)

    def epoch_finished(self, trial: Trial, record: EpochRecord) -> None:
        self._out.print(f"  {_epoch_text(trial, record, self._epochs)}", highlight=False)

    def trial_retrying(self, trial: Trial, *, error: str, attempt: int) -> None:
        self._out.print(_retry_text(trial, error, attempt), highlight=False)

    def trial_finished(self, trial: Trial, row: dict[str, Any]) -> None:
        if row["status"] == TrialStatus.PAUSED.value:  # at a halving rung: not done yet
            self._out.print(f"  {_finished_text(trial, row)}", highlight=False)
            return
        self._done += 1
        self._out.print(f"[{self._done}/{self._total}] {_finished_text(trial, row)}",
                        highlight=False)

    def notice(self, text: str) -> None:
        self._out.print(text, highlight=False)

    def stage(self, text: str) -> None:
        self._out.print(f"sweep: {text}...", highlight=False)


class LiveProgress(SweepObserver):
    """A rich progress bar over all epochs of all pending trials, with the latest metrics,
    and a line printed above it as each trial finishes. Several trials may run at once
    (the Ray backend): the bar counts every trial's epochs."""

    def __init__(self, console: Console, *, epochs: int) -> None:
        self._epochs = epochs
        # The description takes what the bar, the count and the times leave, and is cut
        # with an ellipsis, so that at 80 columns the bar and the ETA stay on screen.
        self._progress = Progress(
            TextColumn("{task.description}", table_column=Column(
                ratio=1, no_wrap=True, overflow="ellipsis", min_width=8)),
            BarColumn(bar_width=12), MofNCompleteColumn(), TextColumn("epochs"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, transient=True, expand=True,
        )
        self._compact = console.width < 100
        self._task: Any = None
        self._stage: Any = None  # a spinner saying what happens before the first trial
        self._done = self._total = 0
        self._running: set[str] = set()
        # Each unfinished trial's epochs counted on the bar: kept while it is paused at a
        # halving rung, so that going on (or retracing its epochs) counts each epoch once.
        self._counted: dict[str, int] = {}

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def sweep_started(self, *, run_dir: Path, trials: Sequence[Trial], pending: int) -> None:
        # An adaptive sweep starts a sweep per round: each gets its own bar and count.
        if self._task is not None:
            self._progress.remove_task(self._task)
        if self._stage is not None:
            self._progress.remove_task(self._stage)
            self._stage = None
        self._done, self._total = 0, pending
        self._print(_header(run_dir, trials, pending))
        self._task = self._progress.add_task(self._describe(), total=pending * self._epochs)

    def trial_started(self, trial: Trial) -> None:
        self._running.add(trial.trial_id)
        self._counted.setdefault(trial.trial_id, 0)
        self._progress.update(self._task, description=self._describe(trial.trial_id))

    def epoch_finished(self, trial: Trial, record: EpochRecord) -> None:
        # An epoch counts once: one trained again (a retry, a retraced rung) adds nothing.
        counted = self._counted.get(trial.trial_id, 0)
        self._counted[trial.trial_id] = max(counted, record.epoch)
        self._progress.update(self._task, advance=max(0, record.epoch - counted),
                              description=self._describe(
                                  _epoch_text(trial, record, self._epochs)))

    def trial_retrying(self, trial: Trial, *, error: str, attempt: int) -> None:
        # The next attempt starts afresh: take this one's epochs off the bar.
        self._progress.update(self._task, advance=-self._counted.get(trial.trial_id, 0))
        self._counted[trial.trial_id] = 0
        self._print(_retry_text(trial, error, attempt))

    def trial_finished(self, trial: Trial, row: dict[str, Any]) -> None:
        self._running.discard(trial.trial_id)
        text = _finished_text(trial, row, compact=self._compact)
        if row["status"] == TrialStatus.PAUSED.value:  # at a halving rung: not done yet
            self._print(f"  {text}")
            return
        self._done += 1
        # A diverged, stopped or pruned trial ends early: its skipped epochs count as done
        # for the ETA.
        counted = self._counted.pop(trial.trial_id, 0)
        self._progress.update(self._task, advance=self._epochs - counted,
                              description=self._describe())
        self._print(f"[{self._done}/{self._total}] {text}")

    def notice(self, text: str) -> None:
        self._print(text)

    def stage(self, text: str) -> None:
        if self._stage is None:
            self._stage = self._progress.add_task(text, total=None)
        else:
            self._progress.update(self._stage, description=text)

    def _print(self, text: str) -> None:
        self._progress.console.print(text, highlight=False)

    def _describe(self, current: str = "") -> str:
        running = len(self._running)
        if running > 1:
            head = f"{running} running, {self._done}/{self._total} done"
        else:
            head = f"trial {min(self._done + 1, self._total)}/{self._total}"
        return f"{head} {current}".rstrip()
