"""``lrlab path``: the seed articles' picture, from the user's own network and data: for
each setting of a sweep, a rate too small, the best rate and a rate too large (the
smallest that fails, else the largest tried), retrained from their seed's initial weights
and drawn on their loss surface (:mod:`lrlab.analysis.landscape`): the loss along the
straight line from the initial to the final weights, and the trajectory on its two
principal directions over the loss's contours. The result is ``path.json`` in the run
directory, which ``lrlab compare --plots`` and ``lrlab report`` draw.

Nothing is recorded while a sweep trains: a trial is deterministic (the same initial
weights and batch order for every trial of a seed), so the path is traced by training the
three trials again, keeping their weights a few times an epoch in memory. The cost is
those trials' training time and the loss grid's evaluations; each traced trial's final
training loss is set beside the one its history recorded, which shows the retrace is the
same run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lrlab.analysis.compare import Verdict, compare_runs
from lrlab.analysis.landscape import ALPHAS, grid_around, plane_of
from lrlab.errors import LrlabError, StoreError
from lrlab.experiment.config import ConfigError, parse_config
from lrlab.experiment.trials import Design, Trial, draw_design, plan_experiments
from lrlab.formatting import first_line
from lrlab.run.backends.base import pin_threads
from lrlab.rundir.formats import CONFIG_FILE, SWEEP
from lrlab.rundir.loading import load_runs
from lrlab.rundir.store import RunStore
from lrlab.training import make_trainer
from lrlab.training.data import load_dataset


@dataclass(frozen=True)
class PathOptions:
    """How a path is traced: its points an epoch, the loss grid's size a side, and the
    training rows the losses are read on."""

    per_epoch: int = 8
    grid: int = 21
    rows: int = 2048


def trace_paths(run_dir: Path, *, options: PathOptions = PathOptions(), threads: int = 1,
                on_trial: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Trace every setting's three rates of the sweep in ``run_dir`` (its first seed) and
    write ``path.json``; return what it holds. ``threads``: as the sweep's trials trained
    (its backend's threads per trial)."""
    started = time.perf_counter()
    store = RunStore.open(run_dir, kind=SWEEP)
    source = str(run_dir / CONFIG_FILE)
    try:
        config = parse_config(store.read_config_text(), source=source)
    except ConfigError as exc:
        raise StoreError(f"{first_line(exc)} (the run directory's own config: damaged, or "
                         f"from an lrlab that took other keys)") from None
    recorded = store.read_design()
    design = Design.from_dict(recorded) if recorded else draw_design(config)
    planned = {t.trial_id: (experiment.config, t)
               for experiment in plan_experiments(config, design=design)
               for t in experiment.trials}
    # As every backend trains a trial (one thread, by default): the same sums in the same
    # order, so that the retrace is the recorded run to the last digit.
    pin_threads(config.training.engine, threads)
    frame = load_runs(run_dir)
    comparison = compare_runs(frame)
    paths = []
    datasets: dict[str, Any] = {}
    trainers: dict[str, Any] = {}
    for verdict in comparison.verdicts:
        chosen = _chosen(frame, verdict, planned)
        if not chosen:
            continue
        traced = []
        for role, (here, trial, epochs, recorded_loss, status) in chosen.items():
            if on_trial is not None:
                on_trial(f"{verdict.label}: {role} rate {trial.learning_rate:g}")
            # One data set and one trainer per experiment config: compiled once.
            data_key = repr((here.data, here.objective))
            if data_key not in datasets:
                datasets[data_key] = load_dataset(here.data, objective=here.objective)
            key = repr((here.data, here.objective, here.model, here.training))
            if key not in trainers:
                trainers[key] = make_trainer(datasets[data_key], model=here.model,
                                             training=here.training)
            trainer = trainers[key]
            traced.append({**_trace(trainer, trial, role=role, epochs=epochs,
                                    recorded_loss=recorded_loss, options=options),
                           "status": status})
        paths.append({"sweep": verdict.sweep, "optimizer": verdict.optimizer,
                      "setting": verdict.setting, "label": verdict.label,
                      "seed": chosen["best"][1].seed, "trials": traced})
    if not paths:
        raise LrlabError(f"{run_dir}: no setting has a best rate with a rate tried on "
                         f"either side of it: nothing to trace")
    record = {"per_epoch": options.per_epoch, "rows": options.rows, "paths": paths,
              "seconds": time.perf_counter() - started}
    store.write_path(record)
    return record


def _chosen(frame: Any, verdict: Verdict, planned: dict[str, Any]
            ) -> dict[str, tuple[Any, Trial, int, float, str]]:
    """The verdict's three trials on its first seed: the smallest rate tried, the best,
    and the smallest failing rate above the best (else the largest tried); {} where the
    best has no rate on either side."""
    if not verdict.learns:
        return {}
    rows = frame[(frame["sweep"] == verdict.sweep) & (frame["optimizer"] == verdict.optimizer)]
    for name, value in verdict.settings:
        rows = rows[rows[name].astype(str) == str(value)]
    rows = rows[rows["trial_id"].isin(planned)]
    if rows.empty:
        return {}
    seed = int(rows["seed"].min())
    last = rows[rows["seed"] == seed].sort_values("epoch").groupby("trial_id").tail(1)
    by_rate = {float(r["learning_rate"]): r for _, r in last.iterrows()}
    best = verdict.best_learning_rate
    below = sorted(rate for rate in by_rate if rate < best)
    above = sorted(rate for rate in by_rate if rate > best)
    if best not in by_rate or not below or not above:
        return {}
    failing = {c.learning_rate for c in verdict.versus_best if c.mark == "fails"} & set(above)
    roles = {"too small": below[0], "best": best,
             "too large": min(failing) if failing else above[-1]}
    found = {}
    for role, rate in roles.items():
        row = by_rate[rate]
        here, trial = planned[str(row["trial_id"])]
        epochs = int(row["epoch"]) if math.isfinite(float(row["epoch"])) else 0
        found[role] = (here, trial, max(epochs, 1), float(row["loss"]), str(row["status"]))
    return found


def _trace(trainer: Any, trial: Trial, *, role: str, epochs: int, recorded_loss: float,
           options: PathOptions) -> dict[str, Any]:
    """One trial's path: retrained, projected, and its surface read."""
    engine = trainer.engine
    trace = trainer.trace(trial, epochs=epochs, per_epoch=options.per_epoch)
    points = np.stack(trace.points)
    shapes = engine.weight_shapes()
    plane = plane_of(points, shapes=shapes)
    rows = np.arange(min(options.rows, engine.plan.n_train), dtype=np.int32)

    def loss_at(weights: np.ndarray) -> float:
        engine.set_weights(0, weights)
        value = engine.loss(0, rows)
        return value if math.isfinite(value) else math.nan

    start, final = points[0].astype(np.float64), points[-1].astype(np.float64)
    line = [loss_at(start + alpha * (final - start)) for alpha in ALPHAS]
    first, second = grid_around(plane.coordinates, size=options.grid)
    surface = [[loss_at(final + a * plane.first + b * plane.second) for a in first]
               for b in second]
    retraced = trace.losses[-1] if trace.losses else math.nan
    return {"role": role, "trial_id": trial.trial_id, "learning_rate": trial.learning_rate,
            "epochs": len(trace.losses), "steps": trace.steps,
            "coordinates": plane.coordinates.tolist(), "explained": list(plane.explained),
            "captured": plane.captured,
            "line": {"alpha": ALPHAS.tolist(), "loss": line},
            "grid": {"first": first.tolist(), "second": second.tolist(), "loss": surface},
            "recorded_loss": recorded_loss, "retraced_loss": retraced}
