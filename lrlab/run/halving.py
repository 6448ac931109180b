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

The asynchronous form (ASHA, ``halving.asynchronous``) waits for no rung: a rate is
judged at a rung as soon as all its seeds have paused there, against the rates judged at
that rung before it (their values are in halving.json), and promoted or dropped at once,
while the other trials train on. Which rates a rate meets therefore depends on the order
results arrive: one worker (or one in-process session) gives the same order every time,
several workers need not.
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
from lrlab.training import Group, Work, plan_groups
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
        record = book.read_halving() or new_record(self.rule, epochs)
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


def new_record(rule: HalvingConfig, epochs: int) -> dict[str, Any]:
    """halving.json before any decision: the rule and its rungs."""
    return {"rule": {"min_epochs": rule.min_epochs, "reduction": rule.reduction,
                     "alpha": rule.alpha, "asynchronous": rule.asynchronous,
                     "rungs": list(halving.rungs(epochs, min_epochs=rule.min_epochs,
                                                 reduction=rule.reduction))},
            "decisions": []}


class AsyncHalvingScheduler:
    """Asynchronous successive halving (see the module): one round, whose work grows as
    rates are promoted."""

    def __init__(self, rule: HalvingConfig) -> None:
        self.rule = rule

    def rounds(self, experiment: Planned, book: Book) -> Iterator[Work]:
        race = _Race(self.rule, experiment, book)
        work = Work(on_ended=race.ended)
        race.start(work)
        if work:
            yield work


class _Race:
    """One experiment's asynchronous halving: which trials are out (queued or training,
    and to which epoch), and, as each comes back, what the rungs can decide.

    At a rung, as Li et al.'s ASHA does, a rate is promoted once it is among the best
    ``1 / reduction`` of the rates that reached the rung so far (by seed mean); as lrlab's
    synchronous rung does, it is dropped only on paired evidence (with one seed, only
    once the rung is complete, by rank); otherwise it waits. Once every rate has reached
    the rung (or ended before it), the rates still waiting are judged as a synchronous
    rung would judge them.
    """

    def __init__(self, rule: HalvingConfig, experiment: Planned, book: Book) -> None:
        self.rule, self.experiment, self.book = rule, experiment, book
        self.epochs = experiment.config.training.epochs
        self.rungs = halving.rungs(self.epochs, min_epochs=rule.min_epochs,
                                   reduction=rule.reduction)
        self.key = experiment_key(experiment.trials)
        self.record = book.read_halving() or new_record(rule, self.epochs)
        self.settings = _by_setting(experiment.trials)
        self.out: dict[str, int] = {}  # trial id -> the epoch it trains to
        self.work = Work()
        objective = experiment.objective
        self.column = (objective.verdict if experiment.has_validation
                       else base_of(objective.verdict))

    def start(self, work: Work) -> None:
        """Queue every trial not yet trained to the first rung (one that a kill stopped
        beyond it trains there again, and the recorded decisions take it on), then apply
        or make the decisions the paused trials await."""
        self.work = work
        trials = self.experiment.trials
        self._send(spread([t for t in trials if not self._paused_at(t)
                           and _pending(t, self.rungs[0], self.book)], among=trials),
                   until=self.rungs[0])
        for setting in self.settings:
            self._settle(setting)

    def ended(self, trial: Trial) -> None:
        self.out.pop(trial.trial_id, None)
        self._settle(trial.setting.key)

    def _settle(self, setting: str) -> None:
        """Apply the recorded decisions that paused trials await, then look at each rung
        where rates wait."""
        for trial in self.settings[setting]:
            rung = self._paused_at(trial)
            entry = self._entry(trial, rung) if rung else None
            if entry is not None:
                self._apply([entry], rung)
        for rung in range(1, len(self.rungs) + 1):
            self._look(setting, rung)

    def _look(self, setting: str, rung: int) -> None:
        epoch = self.rungs[rung - 1]
        waiting = self._waiting(setting, rung)
        if not waiting:
            return
        objective = self.experiment.objective
        before = [e for e in self.record["decisions"] if e["experiment"] == self.key
                  and e["setting"] == setting and e["rung"] == rung]
        met = [halving.RateAtRung(
            float(e["learning_rate"]),
            {int(s): math.nan if v is None else float(v) for s, v in e["values"].items()},
            tuple(e["curve"]), diverged=bool(e["diverged"]), open=False) for e in before]
        rates = [*met, *waiting]
        higher = objective.higher_is_better(self.column)
        # Corrected for every rate of the setting, come or not: never less strict than
        # a complete rung.
        family = len({t.learning_rate for t in self.settings[setting]})
        decision = halving.decide(rates, higher_is_better=higher, alpha=self.rule.alpha,
                                  reduction=self.rule.reduction,
                                  epochs_left=self.epochs - epoch, family=family)
        ids = {t.trial_id for t in self.settings[setting]}
        complete = not any(until <= epoch for trial_id, until in self.out.items()
                           if trial_id in ids)
        dropped = {d.learning_rate: d for d in decision.dropped
                   if complete or d.by != halving.RANK}
        promoted = ({r.learning_rate for r in waiting} if complete
                    else _best_share(rates, higher=higher, reduction=self.rule.reduction))
        entries = []
        for rate in waiting:
            drop = dropped.get(rate.learning_rate)
            if drop is None and rate.learning_rate not in promoted:
                continue  # waits for more rates at the rung
            entries.append({
                "experiment": self.key, "setting": setting, "rung": rung, "epoch": epoch,
                "at": timestamp(), "column": self.column, "seeds": decision.seeds,
                "by": decision.by, "learning_rate": rate.learning_rate,
                "values": {str(s): v if math.isfinite(v) else None
                           for s, v in rate.values.items()},
                "curve": list(rate.curve), "diverged": rate.diverged,
                "racing": sorted(r.learning_rate for r in rates),
                "complete": complete,
                "dropped": [] if drop is None else [drop.to_dict()],
                "guarded": [r for r in decision.guarded if r == rate.learning_rate]})
        if entries:
            self.record["decisions"].extend(entries)
            self.book.write_halving(self.record)  # before any trial is marked
            self._apply(entries, rung)

    def _waiting(self, setting: str, rung: int) -> list[halving.RateAtRung]:
        """The rates of ``setting`` whose trials have all come back, some paused at
        ``rung`` with no decision there yet."""
        by_rate: dict[float, list[Trial]] = {}
        for trial in self.settings[setting]:
            by_rate.setdefault(trial.learning_rate, []).append(trial)
        found = []
        for trials in by_rate.values():
            if any(t.trial_id in self.out for t in trials) or not any(
                    self._paused_at(t) == rung and self._entry(t, rung) is None
                    for t in trials):
                continue
            found += _rates_at(trials, self.book, column=self.column,
                               epoch=self.rungs[rung - 1], objective=self.experiment.objective)
        return found

    def _apply(self, entries: Sequence[dict[str, Any]], rung: int) -> None:
        """Prune or promote the trials paused at ``rung`` of each entry's rate."""
        promoted = []
        for entry in entries:
            for trial in self.settings[entry["setting"]]:
                if (trial.learning_rate != entry["learning_rate"]
                        or self._paused_at(trial) != rung):
                    continue
                if entry["dropped"]:
                    self.book.prune(trial)
                else:
                    promoted.append(trial)
        if promoted:
            # Promotions go first: ASHA finishes what it started before widening the race.
            self._send(promoted, until=self.rungs[rung] if rung < len(self.rungs) else None,
                       first=True)

    def _send(self, trials: list[Trial], *, until: int | None, first: bool = False) -> None:
        if not trials:
            return
        for trial in trials:
            self.out[trial.trial_id] = until or self.epochs
        self.work.add(plan_groups(trials, done=(), stacking=self.experiment.config.training
                                  .stacks, until=until, resume=_resumable(trials, self.book)),
                      first=first)

    def _paused_at(self, trial: Trial) -> int:
        """The rung (1, 2, ...) at which ``trial`` is paused; 0: it is not."""
        if trial.trial_id in self.out:
            return 0
        result, _ = self.book.result(trial)
        if result is None or result.status is not TrialStatus.PAUSED:
            return 0
        return self.rungs.index(result.epochs) + 1 if result.epochs in self.rungs else 0

    def _entry(self, trial: Trial, rung: int) -> dict[str, Any] | None:
        """The decision recorded for ``trial``'s rate at ``rung``, if any."""
        return next((e for e in self.record["decisions"] if e["experiment"] == self.key
                     and e["setting"] == trial.setting.key and e["rung"] == rung
                     and e.get("learning_rate") == trial.learning_rate), None)


def spread(trials: Sequence[Trial], *, among: Sequence[Trial]) -> list[Trial]:
    """``trials`` in the order an asynchronous rung should meet them: each setting's rates
    (those of ``among``, the experiment's: a resumed sweep keeps the order) from the
    middle of its range outwards, by halves (of 12 rates: the 7th, 4th, 10th, 2nd, ...),
    each rate's seeds together. In ascending order every rate up to the best would look
    best when it came, and pass unopposed; by halves, the rates met first span the
    range."""
    rates: dict[str, list[float]] = {}
    for trial in among:
        found = rates.setdefault(trial.setting.key, [])
        if trial.learning_rate not in found:
            found.append(trial.learning_rate)
    rank = {key: {rate: place for place, index in enumerate(_by_halves(len(found)))
                  for rate in [sorted(found)[index]]} for key, found in rates.items()}
    settings = list(rates)
    return sorted(trials, key=lambda t: (settings.index(t.setting.key),
                                         rank[t.setting.key][t.learning_rate]))


def _by_halves(n: int) -> list[int]:
    """0..n-1 by binary subdivision: the middle, then the middles of each half, ..."""
    order, spans = [], [(0, n)]
    while spans:
        low, high = spans.pop(0)
        if low < high:
            middle = (low + high) // 2
            order.append(middle)
            spans += [(low, middle), (middle + 1, high)]
    return order


def _best_share(rates: Sequence[halving.RateAtRung], *, higher: bool,
                reduction: int) -> set[float]:
    """ASHA's promotable rates: the best ``floor(n / reduction)`` of the ``n`` rates at a
    rung, by seed mean (none while fewer than ``reduction`` have come)."""
    sign = 1.0 if higher else -1.0
    racing = [r for r in rates if not r.diverged and r.values
              and all(math.isfinite(v) for v in r.values.values())]
    ranked = sorted(racing, key=lambda r: -sign * float(np.mean(list(r.values.values()))))
    return {r.learning_rate for r in ranked[:len(rates) // reduction]}
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
