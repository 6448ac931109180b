"""The halving sweep's scheduler: the rungs of each experiment, one round each, and between
rounds the rung's decisions (made by :mod:`lrlab.analysis.halving`, recorded here).

A trial paused at a rung leaves its state beside its result (checkpoint.npz: every
variable of its network and optimizer); promoted, it goes on from there, on whichever
worker, exactly as if it had never stopped. The trial loop is deterministic (the same
seed, batch order and arithmetic), so a trial whose checkpoint is missing or damaged
trains again from its first epoch and retraces the same epochs bit for bit: the checkpoint
saves epochs, never changes a number. It is removed once the trial is pruned or finished.

halving.json records each rung's decision before any trial is marked pruned, so a kill at
any moment resumes to the same decisions: one already recorded is applied again, never
recomputed.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from lrlab.analysis import halving
from lrlab.experiment.config import HalvingConfig
from lrlab.experiment.objective import Objective, base_of
from lrlab.experiment.trials import Trial
from lrlab.run.scheduler import Book, Planned
from lrlab.rundir.records import TrialStatus, epoch_record, timestamp
from lrlab.training import Group, plan_groups
from lrlab.training.stacks import Resume


class HalvingScheduler:
    """Successive halving over epochs, synchronous: each rung's every trial trains to its
    epoch before the rung decides (so every rate is judged on all its seeds at once)."""

    def __init__(self, rule: HalvingConfig) -> None:
        self.rule = rule

    def rounds(self, experiment: Planned, book: Book) -> Iterator[Sequence[Group]]:
        config = experiment.config
        epochs = config.training.epochs
        rungs = halving.rungs(epochs, min_epochs=self.rule.min_epochs,
                              reduction=self.rule.reduction)
        key = experiment_key(experiment.trials)
        for index, until in enumerate((*rungs, None)):
            if index > 0:
                self._decide(experiment, book, key, rung=index, epoch=rungs[index - 1],
                             epochs=epochs)
            pending = [t for t in experiment.trials if _pending(t, until, book)]
            if pending:
                yield plan_groups(pending, done=(), stacking=config.training.stacks,
                                  until=until, resume=_resumable(pending, book))

    def _decide(self, experiment: Planned, book: Book, key: str, *, rung: int, epoch: int,
                epochs: int) -> None:
        record = book.read_halving() or self._new_record(epochs)
        decided = [d for d in record["decisions"]
                   if d["experiment"] == key and d["rung"] == rung]
        settings = _by_setting(experiment.trials)
        if not decided:
            objective = experiment.objective
            column = (objective.verdict if experiment.has_validation
                      else base_of(objective.verdict))
            for setting, trials in settings.items():
                rates = _rates_at(trials, book, column=column, epoch=epoch,
                                  objective=objective)
                decision = halving.decide(
                    rates, higher_is_better=objective.higher_is_better(column),
                    alpha=self.rule.alpha, reduction=self.rule.reduction,
                    epochs_left=epochs - epoch)
                decided.append({
                    "experiment": key, "setting": setting, "rung": rung, "epoch": epoch,
                    "at": timestamp(), "column": column, "seeds": decision.seeds,
                    "by": decision.by,
                    "racing": sorted(r.learning_rate for r in rates if r.open),
                    "dropped": [d.to_dict() for d in decision.dropped],
                    "guarded": list(decision.guarded)})
            record["decisions"].extend(decided)
            book.write_halving(record)  # before any trial is marked: a kill resumes here
        for entry in decided:
            dropped = {float(d["learning_rate"]) for d in entry["dropped"]}
            for trial in settings.get(entry["setting"], ()):
                if trial.learning_rate in dropped:
                    result, _ = book.result(trial)
                    if result is not None and result.status is TrialStatus.PAUSED:
                        book.prune(trial)

    def _new_record(self, epochs: int) -> dict[str, Any]:
        rule = self.rule
        return {"rule": {"min_epochs": rule.min_epochs, "reduction": rule.reduction,
                         "alpha": rule.alpha,
                         "rungs": list(halving.rungs(epochs, min_epochs=rule.min_epochs,
                                                     reduction=rule.reduction))},
                "decisions": []}


def experiment_key(trials: Sequence[Trial]) -> str:
    """A short, stable name of the experiment the trials share (their context)."""
    context = json.dumps(list(trials[0].context) if trials else [], sort_keys=True,
                         default=str)
    return hashlib.sha256(context.encode()).hexdigest()[:8]


def _by_setting(trials: Sequence[Trial]) -> dict[str, list[Trial]]:
    """The trials of each optimizer setting: the rates a rung compares."""
    settings: dict[str, list[Trial]] = {}
    for trial in trials:
        settings.setdefault(trial.setting.key, []).append(trial)
    return settings


def _pending(trial: Trial, until: int | None, book: Book) -> bool:
    """Whether ``trial`` must train (again) to reach epoch ``until`` (None: its last)."""
    if book.failed_here(trial):
        return False
    result, _ = book.result(trial)
    if result is None:
        return True
    if result.status.settled:
        return False
    if result.status is TrialStatus.PAUSED:
        return until is None or result.epochs < until
    return True  # interrupted or failed in an earlier session: trained again


def _resumable(trials: Sequence[Trial], book: Book) -> dict[str, Resume]:
    """Where each paused trial goes on from: its epochs and its checkpoint (a trial whose
    checkpoint is missing or damaged trains again from its first epoch, to the same
    numbers)."""
    found = {}
    for trial in trials:
        result, rows = book.result(trial)
        if result is None or result.status is not TrialStatus.PAUSED:
            continue
        state = book.checkpoint(trial, epoch=result.epochs)
        if state is None:
            continue
        history = tuple(epoch_record(row) for row in rows)
        book.resumes(trial, history)
        found[trial.trial_id] = Resume(history, state)
    return found


def _rates_at(trials: Sequence[Trial], book: Book, *, column: str, epoch: int,
              objective: Objective) -> list[halving.RateAtRung]:
    """Each rate of one setting as the rung sees it: each seed's value at its best epoch
    up to the rung, and the seed-mean curve. A rate dropped at an earlier rung is not in
    the race."""
    by_rate: dict[float, list[tuple[Trial, Any, list[dict[str, float]]]]] = {}
    for trial in trials:
        result, history = book.result(trial)
        if result is None or not result.status.kept:
            continue  # failed: no evidence either way
        by_rate.setdefault(trial.learning_rate, []).append((trial, result, history))
    rates = []
    for rate, found in sorted(by_rate.items()):
        if any(result.status is TrialStatus.PRUNED for _, result, _ in found):
            continue
        values, curves = {}, []
        for trial, _, history in found:
            series = [float(row.get(column, math.nan)) for row in history[:epoch]]
            best = objective.best_of(column, series)
            values[trial.seed] = series[best] if best is not None else math.nan
            curves.append(series)
        whole = [c for c in curves if len(c) == epoch]
        curve = (tuple(float(v) for v in np.mean(whole, axis=0))
                 if len(whole) == len(curves) else ())
        rates.append(halving.RateAtRung(
            rate, values, curve,
            diverged=any(result.status is TrialStatus.DIVERGED for _, result, _ in found),
            open=any(result.status is TrialStatus.PAUSED for _, result, _ in found)))
    return rates
