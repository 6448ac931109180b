"""Which sampled settings matter: each one's share of the variation of the verdict's
metric over a sampled sweep's points, by Optuna's PED-ANOVA (which needs no model to be
fitted, and so no scikit-learn). Pure.

A point is judged by its seed mean; a point whose value is not finite (every seed
diverged) counts as the worst value seen, since where a setting breaks training is part
of how much it matters. The learning rate is measured on a log scale, as it is sampled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Fewer points than this, and the best ones PED-ANOVA compares with the rest are too few.
MIN_POINTS = 10
TOP_POINTS = 5


@dataclass(frozen=True)
class Importance:
    """The settings of one optimizer in one sweep, each with its share (summing to 1),
    the most important first."""

    sweep: str
    optimizer: str
    points: int
    shares: tuple[tuple[str, float], ...]

    def share(self, setting: str) -> float:
        return dict(self.shares).get(setting, math.nan)


def importances(values: pd.DataFrame, *, settings: Sequence[str],
                higher_is_better: bool) -> list[Importance]:
    """Each (sweep, optimizer)'s importances over ``settings`` (the rate and those drawn
    with it), from one row per trial with its ``value``; none for fewer than MIN_POINTS
    points."""
    found = []
    for (sweep, optimizer), trials in values.groupby(["sweep", "optimizer"], sort=False):
        points = trials.groupby(list(settings), dropna=False)["value"].mean().reset_index()
        varied = [s for s in settings if points[s].nunique() > 1]
        if len(points) < MIN_POINTS or not varied:
            continue
        found.append(Importance(str(sweep), str(optimizer), len(points),
                                _shares(points, varied, higher_is_better)))
    return found


def _shares(points: pd.DataFrame, settings: Sequence[str],
            higher_is_better: bool) -> tuple[tuple[str, float], ...]:
    import optuna  # its import costs a third of a second: only for sampled sweeps

    optuna.logging.set_verbosity(logging.WARNING)
    value = points["value"].astype(float).to_numpy()
    finite = value[np.isfinite(value)]
    worst = (finite.min() if higher_is_better else finite.max()) if finite.size else 0.0
    value = np.where(np.isfinite(value), value, worst)
    spaces = {}
    for setting in settings:
        column = points[setting].astype(float)
        spaces[setting] = optuna.distributions.FloatDistribution(
            float(column.min()), float(column.max()),
            log=setting == "learning_rate" and bool((column > 0).all()))
    study = optuna.create_study(direction="maximize" if higher_is_better else "minimize")
    for row, result in zip(points[list(settings)].itertuples(index=False), value,
                           strict=True):
        study.add_trial(optuna.trial.create_trial(
            params={s: float(v) for s, v in zip(settings, row, strict=True)},
            distributions=spaces, value=float(result)))
    # The best tenth, as Optuna's default, but at least TOP_POINTS points: the top two of
    # twenty say more about the noise than about the settings.
    quantile = min(0.5, max(0.1, TOP_POINTS / len(points)))
    shares = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(
            target_quantile=quantile), normalize=True)
    return tuple((str(name), float(share)) for name, share in shares.items())
