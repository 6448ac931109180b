"""Where a setting's rates stand against the stability edge 2/λ₀."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lrlab.analysis.stability import stability_of
from lrlab.present.render import stability_text


def trials(optimizer: str = "sgd", sharpness=(20.0, 22.0, 18.0)) -> pd.DataFrame:
    rows = []
    for rate, status in ((0.001, "completed"), (0.05, "completed"), (0.2, "completed"),
                         (1.0, "diverged")):
        for seed, found in enumerate(sharpness):
            rows.append({"optimizer": optimizer, "learning_rate": rate, "seed": seed,
                         "status": status, "initial_sharpness": found})
    return pd.DataFrame(rows)


def test_each_rate_is_a_multiple_of_the_edge_and_says_how_it_ended() -> None:
    found = stability_of(trials(), failing={0.001: "too_small", 1.0: "diverged"}, best=0.05)
    assert found is not None and found.seeds == 3
    assert found.sharpness == 20.0 and (found.low, found.high) == (18.0, 22.0)
    assert found.edge == pytest.approx(0.1)
    by_rate = {r.learning_rate: (round(r.multiple, 6), r.outcome) for r in found.rates}
    # Above the edge: 0.2 trained through it (a catapult), 1.0 diverged; below it only the
    # failing rate, far below.
    assert by_rate == {0.001: (0.01, "too_small"), 0.2: (2.0, "trained"), 1.0: (10.0, "diverged")}
    assert found.best.multiple == pytest.approx(0.5)
    text = stability_text(found)
    assert text.startswith("Stability edge: 2/λ₀ = 0.1 at the initial weights (λ₀ 20")
    assert "above it: 0.2 trained through (2x), 1 diverged (10x)" in text
    assert "failing below it: 0.001 too small (0.01x)" in text and "best rate is 0.5x" in text


def test_an_adaptive_optimizer_is_told_it_is_gradient_descents_edge() -> None:
    found = stability_of(trials("adam"), failing={}, best=None)
    assert found.preconditioned and "plain gradient descent's edge" in stability_text(found)


def test_nothing_without_a_measurement() -> None:
    assert stability_of(trials().drop(columns="initial_sharpness"), failing={}, best=0.05) is None
    assert stability_of(trials(sharpness=(math.nan,) * 3), failing={}, best=0.05) is None
