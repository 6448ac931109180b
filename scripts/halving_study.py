"""Halving against the full grid, and halving replayed on the grid's own epochs.

    python scripts/halving_study.py --full RUN_DIR --halving RUN_DIR

``--full`` trains every rate every epoch; ``--halving`` is the same config with
``sweep.halving``. It prints the epochs each trained; for each optimizer setting the best
rate and tied set of both, whether the grid's best is in halving's tied set, and the rates
halving dropped that the grid keeps tied with its best.

A promoted trial retraces its epochs bit for bit, so halving can be replayed on the grid's
histories without training: the replay of the halving run's own rule and seeds must find
its very decisions (checked here), and replays on every subset of the seeds and under
other rules measure how often halving's best differs from the grid's (short-horizon bias)
and what each rule costs.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from studies import run_dirs, verdicts

from lrlab.analysis import halving
from lrlab.analysis.compare import compare_runs, default_metric, param_columns
from lrlab.formatting import rate
from lrlab.rundir.loading import scan_runs

# (min_epochs, reduction, guard) replayed: the defaults, other rungs, and the defaults
# without the short-horizon guard (what keeping a still-gaining rate costs).
RULES = [(1, 3, True), (1, 2, True), (2, 3, True), (3, 3, True), (1, 3, False)]


def epochs_trained(run_dir: Path) -> int:
    """The epochs every session of the sweep trained, as environment.json records them."""
    sessions = json.loads((run_dir / "environment.json").read_text())["sessions"]
    return sum(int(s.get("epochs_trained", 0)) for s in sessions)


def replay(frame: pd.DataFrame, *, seeds: tuple[int, ...], min_epochs: int,
           reduction: int, alpha: float, guard: bool = True
           ) -> tuple[set[str], int, list[tuple[str, float, int]]]:
    """Halving replayed on a grid's trials of ``seeds``, as lrlab.run.halving runs it:
    the trial ids it keeps (all but those it drops), the epochs it would train (each
    once: a promoted trial goes on from its checkpoint), and what it drops as (setting,
    rate, rung epoch)."""
    metric = default_metric(frame)
    column = metric.removeprefix("test_")
    higher = compare_runs(frame, metric=metric).objective.higher_is_better(column)
    trials = frame[frame["seed"].isin(seeds)]
    settings = [c for c in param_columns(frame) if c not in ("learning_rate", "sweep")]
    total = int(trials["epoch"].max())
    rungs = halving.rungs(total, min_epochs=min_epochs, reduction=reduction)
    pruned: set[str] = set()
    spent, dropped = 0, []
    for key, setting in trials.groupby(settings, dropna=False, sort=False):
        curves = {tid: rows.sort_values("epoch")[column].to_numpy(float)
                  for tid, rows in setting.groupby("trial_id")}
        first = setting.drop_duplicates("trial_id").set_index("trial_id")
        alive = set(curves)  # still training: neither ended nor dropped
        reached = dict.fromkeys(curves, 0)  # epochs each trial has trained
        for epoch in rungs:
            for t in alive:
                reached[t] = min(epoch, len(curves[t]))
            alive -= {t for t in alive if len(curves[t]) <= epoch}  # diverged by now
            rates = []
            for lr, ids in _by_rate(set(curves) - pruned, first).items():
                values, series = {}, []
                for t in ids:
                    upto = curves[t][:epoch]
                    finite = np.isfinite(upto)
                    values[int(first.loc[t, "seed"])] = (
                        (np.nanmax if higher else np.nanmin)(upto) if finite.any() else math.nan)
                    series.append(upto)
                whole = all(len(x) == epoch for x in series)
                rates.append(halving.RateAtRung(
                    lr, values, tuple(np.mean(series, axis=0)) if whole else (),
                    diverged=any(first.loc[t, "status"] == "diverged"
                                 and len(curves[t]) <= epoch for t in ids),
                    open=any(t in alive for t in ids)))
            decision = halving.decide(rates, higher_is_better=higher, alpha=alpha,
                                      reduction=reduction,
                                      epochs_left=total - epoch if guard else 0)
            out = {d.learning_rate for d in decision.dropped}
            dropped += [(str(key), d.learning_rate, epoch) for d in decision.dropped]
            gone = {t for t in alive if float(first.loc[t, "learning_rate"]) in out}
            pruned |= gone
            alive -= gone
        for t in alive:
            reached[t] = len(curves[t])
        spent += sum(reached.values())
    return set(trials["trial_id"]) - pruned, spent, dropped


def _by_rate(ids: set[str], first: pd.DataFrame) -> dict[float, list[str]]:
    found: dict[float, list[str]] = {}
    for tid in sorted(ids):
        found.setdefault(float(first.loc[tid, "learning_rate"]), []).append(tid)
    return dict(sorted(found.items()))


def verdict_of(frame: pd.DataFrame) -> dict[str, tuple[float, list[float]]]:
    comparison = compare_runs(frame)
    return {v.label: (v.best_learning_rate, list(v.tied)) for v in comparison.verdicts}


def main(argv: list[str]) -> None:
    full_dir, halving_dir = run_dirs(argv, __doc__, "full", "halving")
    full, halved = epochs_trained(full_dir), epochs_trained(halving_dir)
    print(f"epochs trained: full grid {full}, halving {halved} ({halved / full:.0%} of the "
          f"grid's)")
    before, after = verdicts(full_dir), verdicts(halving_dir)
    record = json.loads((halving_dir / "halving.json").read_text())
    dropped_rates: dict[str, list[float]] = {}  # by optimizer (the setting key's first)
    for decision in record["decisions"]:
        optimizer = ast.literal_eval(decision["setting"])[0]
        for drop in decision["dropped"]:
            dropped_rates.setdefault(optimizer, []).append(drop["learning_rate"])
    for label, (best, tied) in before.items():
        best_after, tied_after = after.get(label, (math.nan, []))
        lost = sorted(r for r in dropped_rates.get(label.split(" ")[0], []) if r in tied)
        print(f"{label}: grid best {rate(best)}, tied {', '.join(map(rate, tied))}; "
              f"halving best {rate(best_after)}, tied {', '.join(map(rate, tied_after))}\n"
              f"  the grid's best {'is' if best in tied_after else 'is NOT'} in halving's tied "
              f"set; dropped though tied in the grid: {', '.join(map(rate, lost)) or 'none'}")

    scan = scan_runs([full_dir])
    frame = scan.frame
    seeds = tuple(sorted(int(s) for s in frame["seed"].unique()))
    rule = record["rule"]
    kept, spent, dropped = replay(frame, seeds=seeds, min_epochs=rule["min_epochs"],
                                  reduction=rule["reduction"], alpha=rule["alpha"])
    recorded = sorted((d["epoch"], drop["learning_rate"]) for d in record["decisions"]
                      for drop in d["dropped"])
    same = recorded == sorted((epoch, lr) for _, lr, epoch in dropped)
    print(f"replayed on the grid's epochs: {spent} epochs, the halving run's decisions "
          f"{'found exactly' if same else 'NOT found'}")
    print("replays: seeds, rule (min_epochs, reduction), epochs as a share of the grid's on "
          "the same seeds,\n  the settings whose best differs from the grid's, and those of "
          "which a rate the grid\n  ties with its best was dropped")
    grid_epochs = {}
    for size in range(len(seeds), 0, -1):
        for subset in itertools.combinations(seeds, size):
            grid = frame[frame["seed"].isin(subset)]
            grid_epochs[subset] = int(grid["epoch"].notna().sum())
            reference = verdict_of(grid)
            for min_epochs, reduction, guard in RULES:
                kept, spent, _ = replay(frame, seeds=subset, min_epochs=min_epochs,
                                        reduction=reduction, alpha=rule["alpha"], guard=guard)
                found = verdict_of(grid[grid["trial_id"].isin(kept)])
                differs = [label for label, (best, _) in reference.items()
                           if found.get(label, (math.nan,))[0] != best]
                lost = [label for label, (_, tied) in reference.items()
                        if not set(tied) <= set(found.get(label, (math.nan, []))[1])]
                rule_text = f"({min_epochs}, {reduction}){'' if guard else ' unguarded'}"
                print(f"  {','.join(map(str, subset)):6s} {rule_text:16s} "
                      f"{spent / grid_epochs[subset]:4.0%}  best differs: "
                      f"{', '.join(differs) or 'none':12s} tied rate dropped: "
                      f"{', '.join(lost) or 'none'}")


if __name__ == "__main__":
    main(sys.argv[1:])
