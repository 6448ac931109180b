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


def test_a_catapult_and_a_crawl_read_from_each_trials_own_measurements() -> None:
    frame = trials()
    # 0.2 trained above the edge and ended flatter than its own 2/lr = 10; the best rate,
    # 0.05, moved 12 from the initial weights in 3 epochs; 0.001 moved 0.4 in 3.
    frame["final_sharpness"] = frame["learning_rate"].map({0.2: 6.0}).astype(float)
    frame["distance"] = frame["learning_rate"].map({0.05: 12.0, 0.001: 0.4}).astype(float)
    frame["distance_epoch"] = 3.0
    found = stability_of(frame, failing={0.001: "too_small", 1.0: "diverged"}, best=0.05)
    by_rate = {r.learning_rate: r for r in found.rates}
    assert by_rate[0.2].final_sharpness == 6.0
    assert by_rate[0.001].pace == pytest.approx(30.0)
    assert by_rate[0.001].epochs_needed == pytest.approx(90.0)
    text = stability_text(found)
    assert "0.2 trained through (2x; a catapult: its sharpness fell to 6, below its " \
           "2/lr = 10)" in text
    assert "0.001 too small (0.01x; at its pace it needs 30x the steps, 90 epochs" in text
    # Still sharper than its own edge: no catapult is claimed.
    frame["final_sharpness"] = frame["learning_rate"].map({0.2: 14.0}).astype(float)
    text = stability_text(stability_of(frame, failing={}, best=0.05))
    assert "its sharpness ended at 14, above its 2/lr = 10" in text


def test_a_rate_above_the_edge_that_stalled_is_not_called_a_catapult() -> None:
    frame = trials()
    frame["final_sharpness"] = frame["learning_rate"].map({0.2: 0.5}).astype(float)
    found = stability_of(frame, failing={0.2: "stalled", 1.0: "diverged"}, best=0.05)
    assert {r.learning_rate: r.outcome for r in found.rates}[0.2] == "stalled"
    text = stability_text(found)
    assert "0.2 stalled (2x; its sharpness fell to 0.5, below its 2/lr = 10)" in text
    assert "catapult" not in text


def test_an_adaptive_optimizer_is_placed_against_its_own_edge() -> None:
    frame = trials("rmsprop")
    # Preconditioned sharpness at the last measurement: 2/lr is 2,000 at 0.001, 10 at 0.2.
    frame["final_preconditioned"] = frame["learning_rate"].map(
        {0.001: 500.0, 0.05: 40.0, 0.2: 30.0}).astype(float)
    found = stability_of(frame, failing={}, best=0.05)
    assert found.own_factor == 2.0
    assert dict(found.own) == {0.001: pytest.approx(0.25), 0.05: pytest.approx(1.0),
                               0.2: pytest.approx(3.0)}
    assert ("its own edge, 2/lr against its preconditioned sharpness at the last "
            "measurement: 0.001 at 0.25x, 0.05 at 1x, 0.2 at 3x") in stability_text(found)
    adam = trials("adam").assign(final_preconditioned=380.0, beta_1=0.9)
    placed = stability_of(adam, failing={}, best=0.05)
    assert placed.own_factor == pytest.approx(38.0)
    assert dict(placed.own)[0.05] == pytest.approx(380 * 0.05 / 38)
    momentum = trials("rmsprop").assign(final_preconditioned=100.0, momentum=0.9)
    assert stability_of(momentum, failing={}, best=0.05).own == ()  # no known edge
