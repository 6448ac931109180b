"""The adaptive sweep: train a config's grid, then round after round add only the trainings
the verdict still needs (a wider range, more seeds for the rates still tied with the best),
until it is settled, the rule's looks are spent, or a budget is.

The run directory is an ordinary sweep's: every added trial has its own files, and
``settle.json`` records each round (what it added, why, the numbers that decided it) before
the round trains. A kill at any moment loses nothing: ``--resume`` trains what the last
recorded round added and goes on deciding from there. What to add is decided by
:mod:`lrlab.analysis.settle`; each round trains through :func:`~lrlab.run.sweep.run_sweep`,
all of them in one backend session, on data loaded once (:mod:`lrlab.run.sessions`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrlab.analysis.compare import CompareError, Comparison, compare_runs, default_metric
from lrlab.analysis.sequential import SequentialRule
from lrlab.analysis.settle import Round, plan_round, setting_states
from lrlab.errors import ConfigError, StoreError
from lrlab.experiment.config import ExperimentConfig
from lrlab.present.rounds import worded
from lrlab.run.sessions import SweepSessions
from lrlab.run.sweep import SweepObserver, SweepReport, run_sweep
from lrlab.rundir.loading import scan_runs
from lrlab.rundir.records import timestamp
from lrlab.rundir.store import SETTLE_FILE, RunStore

# How a settle ended (besides the settings' own states, see lrlab.analysis.settle).
DONE, BUDGET, TIME, INTERRUPTED = "done", "budget spent", "time spent", "interrupted"


@dataclass(frozen=True)
class SettleOptions:
    """What the user states: the rule's level, tolerance and most seeds, the metric the
    verdict reads, and the budgets (None: no limit but the rule's looks)."""

    max_seeds: int = 10
    alpha: float = 0.05
    # In the metric's units; None: the objective's default for the metric (0.005 of an
    # accuracy, see Objective.tolerance).
    tolerance: float | None = None
    metric: str | None = None
    max_trainings: int | None = None
    max_minutes: float | None = None

    def check(self, seeds: int) -> None:
        """A ConfigError naming the first option that cannot be (``seeds``: the config's)."""
        if self.max_seeds < max(2, seeds):
            raise ConfigError(f"fewer than the {max(2, seeds)} seeds the first look needs; "
                              f"expected more", about={"max_seeds": str(self.max_seeds)})
        if not 0 < self.alpha < 1:
            raise ConfigError("expected a level between 0 and 1",
                              about={"alpha": f"{self.alpha:g}"})
        if self.tolerance is not None and not (
                self.tolerance >= 0 and math.isfinite(self.tolerance)):
            raise ConfigError("expected a number >= 0, in the metric's units",
                              about={"tolerance": f"{self.tolerance:g}"})
        for name in ("max_trainings", "max_minutes"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError("expected a number > 0", about={name: f"{value:g}"})


@dataclass
class SettleReport:
    run_dir: Path
    state: str  # DONE, BUDGET, TIME or INTERRUPTED
    settings: dict[str, str] = field(default_factory=dict)  # each setting's last state
    rounds: int = 0
    trainings: int = 0
    last: SweepReport | None = None


def run_settle(config: ExperimentConfig, *, options: SettleOptions = SettleOptions(),
               runs_dir: str | Path = "runs", resume: str | Path | None = None,
               observer: SweepObserver | None = None,
               on_round: Callable[[int, Round], None] | None = None,
               **sweep: Any) -> SettleReport:
    """Settle ``config``'s question adaptively (see the module). ``on_round`` hears of each
    round once it is recorded (the last adds nothing); ``sweep`` holds :func:`run_sweep`'s
    other options (backend, argv, env, ...), used for every round."""
    observer = observer or SweepObserver()
    on_round = on_round or (lambda number, decided: None)
    options.check(len(config.sweep.seeds))
    # One backend session and one load of the data for every round.
    with SweepSessions() as sessions:
        return _settle(config, options, runs_dir, resume, observer, on_round,
                       {**sweep, "sessions": sessions})


def _settle(config: ExperimentConfig, options: SettleOptions, runs_dir: str | Path,
            resume: str | Path | None, observer: SweepObserver,
            on_round: Callable[[int, Round], None], sweep: dict[str, Any]) -> SettleReport:
    started = time.perf_counter()
    if resume is None:
        report = run_sweep(config, runs_dir=runs_dir, observer=observer, **sweep)
    else:
        report = run_sweep(config, resume=resume, observer=observer, **sweep)
    store = RunStore(report.run_dir)
    record = _record(store, config, options)
    if (record.get("outcome") or {}).get("state") == DONE and not report.interrupted:
        return _report(report, record, DONE)  # settled already: nothing new to look at
    spent = float(record.get("elapsed_s") or 0.0)
    while True:
        elapsed = spent + time.perf_counter() - started
        record["elapsed_s"] = round(elapsed, 1)
        if report.interrupted:
            store.write_settle(record)
            return _report(report, record, INTERRUPTED)
        decided = _decide(store, config, record)
        trainings = len(report.rows) + len(decided.added)
        ended = (DONE if not decided.added else
                 BUDGET if options.max_trainings is not None
                 and trainings > options.max_trainings else
                 TIME if options.max_minutes is not None
                 and elapsed > options.max_minutes * 60 else None)
        decided = Round(decided.kind, worded(decided.decisions), decided.added,
                        decided.states)  # the facts behind each decision, in words
        entry = {"round": len(record["rounds"]) + 1, "at": timestamp(), **decided.to_dict()}
        if ended is not None:
            entry["added"] = []  # what a budget refused is recorded as decided, not added
            record["rounds"].append(entry)
            record["outcome"] = {"state": ended, "settings": decided.states,
                                 "trainings": len(report.rows)}
            store.write_settle(record)
            on_round(entry["round"], Round(decided.kind, decided.decisions, [],
                                           decided.states))
            return _report(report, record, ended)
        record["rounds"].append(entry)
        record["outcome"] = None
        store.write_settle(record)  # before training: a kill now resumes this round
        on_round(entry["round"], decided)
        report = run_sweep(config, resume=report.run_dir, observer=observer, **sweep)


def _record(store: RunStore, config: ExperimentConfig,
            options: SettleOptions) -> dict[str, Any]:
    """settle.json as recorded, or a new one for this sweep: the rule is fixed when
    settling starts, and a resume keeps it whatever the options say now."""
    found = store.read_settle()
    path = store.root / SETTLE_FILE
    if found is not None:
        try:
            SequentialRule.from_dict(found.get("rule") or {})
        except ValueError as exc:
            raise StoreError(f"{path}: corrupted rule: {exc}") from None
        if not isinstance(found.get("rounds"), list):
            raise StoreError(f"{path}: malformed; 'rounds' should be a list")
        return found
    tolerance = options.tolerance
    if tolerance is None:
        comparison = _comparison(store, options.metric)
        tolerance = comparison.objective.tolerance(
            comparison.metric, max(comparison.baselines.values(), default=math.nan))
    rule = SequentialRule.starting(len(config.sweep.seeds), max_seeds=options.max_seeds,
                                   alpha=options.alpha, tolerance=tolerance)
    record = {"rule": rule.to_dict(), "metric": options.metric,
              "budget": {"max_trainings": options.max_trainings,
                         "max_minutes": options.max_minutes},
              "started_at": timestamp(), "rounds": [], "outcome": None}
    store.write_settle(record)
    return record


def _comparison(store: RunStore, metric: str | None) -> Comparison:
    try:
        return compare_runs(scan_runs([store.root]).frame, metric=metric)
    except CompareError as exc:
        raise StoreError(f"{store.root}: nothing to settle: {exc}") from None


def _decide(store: RunStore, config: ExperimentConfig, record: Mapping[str, Any]) -> Round:
    scan = scan_runs([store.root])
    metric = record.get("metric") or default_metric(scan.frame)
    try:
        states = setting_states(scan.frame, metric=metric)
    except CompareError as exc:
        raise StoreError(f"{store.root}: nothing to settle: {exc}") from None
    rule = SequentialRule.from_dict(record["rule"])
    return plan_round(states, rule, previous=record["rounds"], seeds=config.sweep.seeds)


def _report(report: SweepReport, record: Mapping[str, Any], state: str) -> SettleReport:
    outcome = record.get("outcome") or {}
    return SettleReport(run_dir=report.run_dir, state=state,
                        settings=dict(outcome.get("settings") or {}),
                        rounds=len(record["rounds"]), trainings=len(report.rows), last=report)
