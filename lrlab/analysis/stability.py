"""Where a setting's rates stand against the stability edge its loss surface sets: the
sharpness at the seeds' initial weights (``training.sharpness``: curvature.csv's epoch 0)
gives gradient descent's edge ``2 / λ₀``, and each rate is a multiple of it. Pure
(pandas).

A rate above the edge either diverged or trained through it (a catapult: Lewkowycz et al.
2020); a failing rate far below it crawled. For an optimizer with a preconditioner
(RMSprop, Adam) ``2 / λ₀`` is plain gradient descent's edge, not its own: its own edge is
met by the preconditioned sharpness as it trains (curvature.csv, docs/physics.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lrlab.rundir.records import INITIAL_SHARPNESS

PRECONDITIONED = ("rmsprop", "adam")


@dataclass(frozen=True)
class RateAtEdge:
    """A rate as a multiple of the edge, and how its trials ended there: ``diverged`` on
    some seed, else ``trained`` (above the edge: through a catapult), or the reason it
    failed below it."""

    learning_rate: float
    multiple: float
    outcome: str
    # Above the edge and trained: the sharpness at its last measurement (the seeds'
    # median; NaN: not measured after the start), below 2/lr where a catapult flattened it.
    final_sharpness: float = math.nan
    # Below the edge and failing: how many times the steps it trained it would need, at
    # its pace, to move as far from the initial weights as the best rate moved (NaN: the
    # distance was not measured), and those epochs.
    pace: float = math.nan
    epochs_needed: float = math.nan


@dataclass(frozen=True)
class Stability:
    """A setting's sharpness at its seeds' initial weights (median, range, seeds), and
    its rates that the edge explains: those at or above it, and the failing ones."""

    sharpness: float
    low: float
    high: float
    seeds: int
    preconditioned: bool  # the optimizer divides by a preconditioner (see the module)
    rates: tuple[RateAtEdge, ...] = ()
    best: RateAtEdge | None = None
    # An adaptive optimizer's own edge: each rate's preconditioned sharpness at its last
    # measurement as a multiple of its edge (2/lr for RMSprop, (2 + 2β₁)/((1 − β₁)·lr)
    # for Adam), the seeds' median; (rate, multiple) pairs, ascending.
    own: tuple[tuple[float, float], ...] = ()
    own_factor: float = math.nan  # the edge times lr: 2, or 38 for Adam at β₁ = 0.9

    @property
    def edge(self) -> float:
        return 2.0 / self.sharpness


def stability_of(group: pd.DataFrame, *, failing: dict[float, str],
                 best: float | None) -> Stability | None:
    """``group``'s (one setting's trials, a row each) stability, or None when none of its
    trials measured the sharpness. ``failing``: each failing rate's reason."""
    if INITIAL_SHARPNESS not in group:
        return None
    measured = group.dropna(subset=[INITIAL_SHARPNESS]).drop_duplicates("seed")
    values = measured[INITIAL_SHARPNESS].to_numpy(float)
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):
        return None
    sharpness = float(np.median(values))
    edge = 2.0 / sharpness
    found = []
    moved = _moved(group, best)
    for rate, rows in group.groupby("learning_rate"):
        multiple = float(rate) / edge
        diverged = bool((rows["status"] == "diverged").any())
        if multiple >= 1.0:
            # Above the edge: it diverged, failed otherwise (stalled...), or trained.
            outcome = "diverged" if diverged else failing.get(float(rate), "trained")
            found.append(RateAtEdge(float(rate), multiple, outcome,
                                    final_sharpness=_median(rows, "final_sharpness")))
        elif float(rate) in failing:
            pace, epochs = math.nan, math.nan
            own = _median(rows, "distance")
            if math.isfinite(moved) and own > 0:
                pace = moved / own
                epochs = pace * _median(rows, "distance_epoch")
            found.append(RateAtEdge(float(rate), multiple, failing[float(rate)],
                                    pace=pace, epochs_needed=epochs))
    optimizer = str(group["optimizer"].iloc[0]) if "optimizer" in group else ""
    factor = own_edge_factor(optimizer, group)
    own = tuple((float(rate), _median(rows, "final_preconditioned") * float(rate) / factor)
                for rate, rows in group.groupby("learning_rate")
                if math.isfinite(factor) and math.isfinite(_median(rows, "final_preconditioned")))
    return Stability(sharpness, float(values.min()), float(values.max()), len(values),
                     preconditioned=optimizer in PRECONDITIONED, rates=tuple(found),
                     best=None if best is None or not math.isfinite(best)
                     else RateAtEdge(best, best / edge, "best"), own=own, own_factor=factor)


def own_edge_factor(optimizer: str, group: pd.DataFrame) -> float:
    """An adaptive optimizer's edge times its rate (Cohen et al. 2022): 2 for RMSprop
    without momentum, (2 + 2β₁)/(1 − β₁) for Adam; NaN for any other."""
    def setting(name: str, default: float) -> float:
        if name not in group:
            return default
        value = pd.to_numeric(group[name], errors="coerce").dropna()
        return float(value.iloc[0]) if len(value) else default

    if optimizer == "rmsprop" and not setting("momentum", 0.0):
        return 2.0
    if optimizer == "adam":
        beta_1 = setting("beta_1", 0.9)
        return (2 + 2 * beta_1) / (1 - beta_1)
    return math.nan


def _median(rows: pd.DataFrame, column: str) -> float:
    """The seeds' median of a surface column (NaN where none measured it)."""
    if column not in rows:
        return math.nan
    values = rows[column].to_numpy(float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else math.nan


def _moved(group: pd.DataFrame, best: float | None) -> float:
    """How far the best rate's trials moved from the initial weights (the seeds'
    median, at their last measurement)."""
    if best is None or not math.isfinite(best):
        return math.nan
    return _median(group[group["learning_rate"] == best], "distance")
