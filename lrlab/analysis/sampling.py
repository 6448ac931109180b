"""Model-based sampling through Optuna: the next point of a sampled space, chosen from the
points before it and their values. Pure (Optuna is Python; no framework).

lrlab's run directory stays the one truth: no Optuna storage is kept. Each point is asked
of a study rebuilt in memory from the points so far, by a sampler seeded with the sweep's
sampler seed and the point's number, so the point depends on nothing but the results
before it: a sweep resumed after a kill asks for the very points the uninterrupted one
would. Points live in the unit cube, one coordinate per sampled setting, as the
quasi-random samplers' do (lrlab.experiment.space maps them onto each range, a log scale
for rates), so TPE models the log of a rate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

# A coordinate stays below 1, as a design's must (lrlab.experiment.trials.Design).
BELOW_ONE = 1.0 - 1e-12


def next_point(dimensions: Sequence[str], history: Sequence[tuple[Sequence[float], float]],
               *, sampler: str, seed: int, number: int, maximize: bool) -> list[float]:
    """The coordinates of point ``number`` (from 0) of ``dimensions``, given the points
    before it and their values (a point without one, NaN, is left out: its trials all
    failed)."""
    import optuna  # the sampler's cost only where one is asked for

    optuna.logging.set_verbosity(logging.WARNING)
    unit = optuna.distributions.FloatDistribution(0.0, 1.0)
    spaces = {name: unit for name in dimensions}
    seeded = int(np.random.SeedSequence([seed, number]).generate_state(1)[0])
    if sampler != "tpe":
        raise ValueError(f"unknown model-based sampler {sampler!r}; expected tpe")
    # Multivariate: rate and momentum interact (their product is what moves the weights).
    chooser = optuna.samplers.TPESampler(seed=seeded, multivariate=True)
    study = optuna.create_study(direction="maximize" if maximize else "minimize",
                                sampler=chooser)
    for units, value in history:
        if math.isfinite(value):
            study.add_trial(optuna.trial.create_trial(
                params=dict(zip(dimensions, units, strict=True)), distributions=spaces,
                value=value))
    asked = study.ask(spaces)
    return [min(float(asked.params[name]), BELOW_ONE) for name in dimensions]
