"""Which sampled settings matter: a setting the value depends on takes the share, one it
ignores takes little, and a sweep too small to tell gets none."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lrlab.analysis.importance import MIN_POINTS, importances


def points(n: int, *, seed: int = 0) -> pd.DataFrame:
    """Trials of n points on two seeds: accuracy peaks at rate 0.1 (log scale) and does
    not depend on the momentum; the rate 10 diverges (no value)."""
    rng = np.random.default_rng(seed)
    rates = 10 ** rng.uniform(-4, 1, n)
    momenta = rng.uniform(0, 0.95, n)
    rows = []
    for rate, momentum in zip(rates, momenta, strict=True):
        for s in (0, 1):
            value = 0.95 - 0.1 * abs(math.log10(rate / 0.1)) + rng.normal(0, 0.002)
            rows.append({"sweep": "a", "optimizer": "sgd", "learning_rate": rate,
                         "momentum": momentum, "seed": s,
                         "value": math.nan if rate > 5 else value})
    return pd.DataFrame(rows)


def test_the_setting_the_value_depends_on_takes_the_share() -> None:
    (found,) = importances(points(48), settings=["learning_rate", "momentum"],
                           higher_is_better=True)
    assert found.points == 48 and found.shares[0][0] == "learning_rate"
    assert found.share("learning_rate") > 0.8 > found.share("momentum")
    assert sum(share for _, share in found.shares) == pytest.approx(1.0)


def test_too_few_points_say_nothing() -> None:
    assert importances(points(MIN_POINTS - 1), settings=["learning_rate", "momentum"],
                       higher_is_better=True) == []

