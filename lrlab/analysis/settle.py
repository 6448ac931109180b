"""An adaptive sweep's next round, decided from what its run directory holds. Pure.

A round does one of two things, in this order:

1. **Range**: a setting whose best rate, or whose largest rate that learns, is at an end of
   the rates tried (the verdict's edges) gets the next rate beyond it that the verdict
   names (:func:`lrlab.analysis.axes.next_rate_beyond`: the grid's own spacing at that
   end, at most a decade), with the seeds of the rate at that end. Upward this goes on
   until a rate fails (diverges or stalls); downward until a rate below the best is worse.
   Where no rate learns, downward, unless every rate is too small: then upward.
2. **Seeds**: every setting takes a look (see :mod:`lrlab.analysis.sequential`): its best
   rate's rivals are called separated, equivalent or open, and the best and its open
   rivals get the seeds of the next look. A setting is settled when no rival is open, and
   out of looks when the rule's last look leaves some open.

Every decision is a plain dict (what, why, the numbers) that settle.json records. Its
``why`` holds the facts behind it (the edge and its rate, the looks, the rivals still
open); :func:`lrlab.present.rounds.worded` says them before settle.json records them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lrlab.analysis.axes import find_edges, next_rate_beyond
from lrlab.analysis.compare import compare_runs, setting_label, trial_values
from lrlab.analysis.sequential import SequentialRule, best_of, judge, seeds_to_add
from lrlab.experiment.trials import Addition
from lrlab.formatting import rate as format_rate
from lrlab.rundir.loading import SAMPLED_ATTR
from lrlab.rundir.records import FINISHED_STATUSES, TrialStatus

MAX_EXTENSIONS = 3  # rates added beyond each end of a setting's grid, at most
# What the last look left for a setting: no open rival, or the rule's last look spent.
SETTLED, OUT_OF_LOOKS, NOTHING_LEARNS = "settled", "out of looks", "nothing learns"


@dataclass(frozen=True)
class RateState:
    """One rate of a setting: its values by seed, whether a seed diverged or stalled, and
    a trial of it (what an added trial is like)."""

    learning_rate: float
    values: dict[int, float]
    fails: bool
    like: str


@dataclass(frozen=True)
class SettingState:
    """One optimizer setting of the sweep, every rate it has so far."""

    label: str
    rates: dict[float, RateState]
    higher_is_better: bool = True
    sampled: bool = False  # its rates were drawn from a range: no grid spacing to extend
    # Every rate too small (stayed at its baseline with its units alive: the one judge's
    # "too small"): a range to widen upward, not down.
    too_small: bool = False

    def learners(self) -> dict[float, dict[int, float]]:
        return {r: s.values for r, s in sorted(self.rates.items()) if not s.fails}


@dataclass
class Round:
    """What the next round does (``kind``: "range" or "seeds"), why, and the trials it
    adds; no additions means the sweep is done, and ``states`` says how each setting
    ended."""

    kind: str
    decisions: list[dict[str, Any]] = field(default_factory=list)
    added: list[Addition] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "decisions": self.decisions,
                "added": [a.to_dict() for a in self.added]}


def setting_states(frame: pd.DataFrame, *, metric: str, at: str | int = "best"
                   ) -> list[SettingState]:
    """Each optimizer setting's rates and their finished trials' values, from a loaded
    run directory (one sweep)."""
    values = trial_values(frame, metric=metric, at=at)
    values = values[values["status"].isin(FINISHED_STATUSES)]
    sampled = any("learning_rate" in c for c in frame.attrs.get(SAMPLED_ATTR, {}).values())
    comparison = compare_runs(frame, metric=metric, at=at)
    others = comparison.setting_columns
    small = {v.label: {r for r, found in v.failures
                       if any(f.reason == "too_small" for f in found)} == {
        v.best_learning_rate, *(c.learning_rate for c in v.versus_best)}
             for v in comparison.verdicts if not v.learns}
    states = []
    for key, group in values.groupby(["optimizer", *others], dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        label = setting_label(str(key[0]), ", ".join(
            f"{c}={_shown(v)}" for c, v in zip(others, key[1:], strict=True)
            if not pd.isna(v)))
        rates = {}
        for rate, trials in group.groupby("learning_rate"):
            fails = bool(((trials["status"] == TrialStatus.DIVERGED.value)
                          | trials["stalled"]).any())
            by_seed = {int(seed): float(value) for seed, value in
                       zip(trials["seed"], trials["value"], strict=True)}
            rates[float(rate)] = RateState(float(rate), by_seed, fails,
                                           str(trials["trial_id"].iloc[0]))
        states.append(SettingState(str(label), rates,
                                   comparison.objective.higher_is_better(metric), sampled,
                                   too_small=small.get(str(label), False)))
    return states


def plan_round(states: Sequence[SettingState], rule: SequentialRule, *,
               previous: Sequence[Mapping[str, Any]], seeds: Sequence[int]) -> Round:
    """The next round after ``previous`` rounds (as :meth:`Round.to_dict` wrote them),
    for a sweep whose config trains ``seeds``."""
    extended = _count(previous, "extend")
    ranges = Round("range")
    for state in states:
        if not state.sampled:
            _extend(state, extended, ranges)
    if ranges.added:
        return ranges
    looks = _count(previous, "look")
    # A range that may grow no further says so once, in the round that follows.
    stopped = _count(previous, "stop extending")
    found = Round("seeds", [d for d in ranges.decisions
                            if (d["setting"], d["direction"]) not in stopped])
    for state in states:
        _look(state, rule, looks.get((state.label, "look"), 0) + 1, seeds, found)
    return found


def _extend(state: SettingState, extended: Mapping[tuple[str, str], int],
            found: Round) -> None:
    """A rate beyond each end the verdict warns of (its edges: the same rule, the same next
    rate), or below the range where no rate learns."""
    rates = sorted(state.rates)
    if len(rates) < 2:
        return
    learners = state.learners()
    best = best_of(learners, higher_is_better=state.higher_is_better) if learners else None
    edges = find_edges(rates, best=best, largest_learning=max(learners) if learners else None,
                       sampled=False)
    whys: dict[str, dict[str, Any]] = {
        e.side: {"edge": e.what, "rate": e.rate, "side": e.side} for e in edges}
    if not learners:  # no rate learns: too small, or too large
        whys["high" if state.too_small else "low"] = {"edge": None,
                                                      "too_small": state.too_small}
    for direction, side in (("up", "high"), ("down", "low")):
        if side not in whys:
            continue
        why = whys[side]
        done = extended.get((state.label, direction), 0)
        decision: dict[str, Any] = {"setting": state.label, "action": "extend",
                                    "direction": direction, "why": why,
                                    "means": _means(state)}
        if done >= MAX_EXTENSIONS:
            decision.update(action="stop extending",
                            why={**why, "extended": done, "most": MAX_EXTENSIONS})
            found.decisions.append(decision)
            continue
        rate = next_rate_beyond(rates, side)
        edge_state = state.rates[rates[-1] if side == "high" else rates[0]]
        decision.update(learning_rate=rate, seeds=sorted(edge_state.values))
        found.decisions.append(decision)
        found.added += [Addition(edge_state.like, rate, s) for s in sorted(edge_state.values)]


def _look(state: SettingState, rule: SequentialRule, look: int, seeds: Sequence[int],
          found: Round) -> None:
    learners = state.learners()
    decision: dict[str, Any] = {"setting": state.label, "action": "look", "look": look,
                                "of": rule.looks, "level": rule.level,
                                "tolerance": rule.tolerance}
    found.decisions.append(decision)
    if not learners:
        decision.update(state=NOTHING_LEARNS, why={})
        found.states[state.label] = NOTHING_LEARNS
        return
    best = best_of(learners, higher_is_better=state.higher_is_better)
    calls = judge(learners[best], {r: v for r, v in learners.items() if r != best}, rule,
                  higher_is_better=state.higher_is_better)
    decision.update(best=best, best_seeds=len(learners[best]),
                    best_mean=_mean(learners[best]), calls=[c.to_dict() for c in calls])
    still = [c for c in calls if c.call == "open"]
    if not still:
        decision.update(state=SETTLED, why={"rivals": len(calls)})
        found.states[state.label] = SETTLED
        return
    if look >= rule.looks:
        decision.update(state=OUT_OF_LOOKS, why={"looks": rule.looks, "open": len(still)})
        found.states[state.label] = OUT_OF_LOOKS
        return
    target = rule.schedule[look]
    pool = seed_pool(seeds, target)
    have = {r: set(v) for r, v in learners.items()}
    adding = seeds_to_add(calls, best, have, pool)
    found.states[state.label] = "open"
    decision.update(state="open", why={"open": len(still), "seeds": target},
                    seeds={format_rate(r): s for r, s in adding.items()})
    found.added += [Addition(state.rates[r].like, r, s)
                    for r, added in adding.items() for s in added]


def seed_pool(seeds: Sequence[int], n: int) -> list[int]:
    """The first ``n`` seeds: the config's, then the integers after its largest."""
    pool = sorted(seeds)[:n]
    following = max(seeds, default=-1) + 1
    while len(pool) < n:
        pool.append(following)
        following += 1
    return pool


def _count(previous: Sequence[Mapping[str, Any]], action: str) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for found in previous:
        for decision in found.get("decisions", []):
            if decision.get("action") == action:
                key = (str(decision.get("setting")),
                       str(decision.get("direction", "look")))
                counts[key] = counts.get(key, 0) + 1
    return counts


def _means(state: SettingState) -> dict[str, float | None]:
    return {format_rate(r): _mean(s.values) for r, s in sorted(state.rates.items())}


def _mean(values: Mapping[int, float]) -> float | None:
    mean = sum(values.values()) / len(values) if values else math.nan
    return round(mean, 6) if math.isfinite(mean) else None


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
