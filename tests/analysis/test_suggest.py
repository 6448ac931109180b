from __future__ import annotations

import numpy as np
import pytest

from lrlab.analysis.suggest import (
    across_seeds,
    cut_at_divergence,
    ema,
    grid_around,
    grid_for,
    min_over_ten,
    smoothed_curve,
    steepest,
    suggestions,
    valley,
)

RATES = np.geomspace(1e-6, 10, 141)  # 20 steps per decade
LOG = np.log10(RATES)


def u_curve() -> np.ndarray:
    """Flat at 2.3 for tiny rates, falling fastest at 1e-3 (a logistic in log-rate), lowest
    near 1e-2, then rising steeply: the textbook range-test picture."""
    fall = 2.3 - 2.0 / (1 + np.exp(-(LOG + 3) * 3))
    rise = np.where(LOG > -2, (LOG + 2) ** 2 * 3, 0.0)
    return fall + rise


def test_rules_on_a_known_curve() -> None:
    curve = u_curve()
    assert steepest(RATES, curve) == pytest.approx(1e-3, rel=0.13)  # the logistic's midpoint
    lowest = RATES[np.argmin(curve)]
    assert min_over_ten(RATES, curve) == pytest.approx(lowest / 10)
    # The descent starts where a tenth of the fall is done: by hand from the curve.
    level = np.median(curve[: len(curve) // 10])
    start = int(np.argmax(curve <= level - 0.1 * (level - curve.min())))
    assert valley(RATES, curve) == pytest.approx(np.sqrt(RATES[start] * lowest))
    assert RATES[start] < valley(RATES, curve) < lowest


def test_noisy_curve_is_stable_after_smoothing() -> None:
    rng = np.random.default_rng(0)
    found = []
    for _ in range(5):
        noisy = u_curve() + rng.normal(0, 0.15, size=len(RATES))
        smoothed, keep = smoothed_curve(noisy, beta=0.9, factor=4.0)
        found.append(suggestions(RATES[:keep], smoothed[:keep])["steepest"])
    agreement = across_seeds(found)
    assert not agreement.seeds_disagree, found
    assert 1e-5 < agreement.median < 1e-2


def test_the_causal_average_is_bias_corrected() -> None:
    assert ema([2.0, 2.0, 2.0], beta=0.98) == pytest.approx([2.0, 2.0, 2.0])
    values = ema([1.0, 3.0], beta=0.5)
    assert values[1] == pytest.approx((0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25))


def test_zero_lag_smoothing_sits_on_the_descent_where_the_causal_one_trails() -> None:
    rates = np.geomspace(1e-6, 10, 300)  # a real ramp's resolution: 300 steps
    log = np.log10(rates)
    clean = 2.3 - 2.0 / (1 + np.exp(-(log + 3) * 3)) + np.where(log > -2, (log + 2) ** 2, 0)
    noisy = clean + np.random.default_rng(1).normal(0, 0.1, size=len(clean))
    zero_lag, kept = smoothed_curve(noisy, beta=0.95, factor=4.0)

    def half_fall(curve: np.ndarray) -> float:  # the rate where the curve is halfway down
        return float(rates[int(np.argmax(curve < 1.3))])

    assert half_fall(zero_lag[:kept]) == pytest.approx(1e-3, rel=0.15)
    # The causal average trails: 0.3 decade late at 0.95, most of a decade at the classic 0.98.
    assert half_fall(ema(noisy, 0.95)) > 2e-3 and half_fall(ema(noisy, 0.98)) > 5e-3
    # And it does smooth: the step-to-step jitter of the noise is gone.
    assert np.std(np.diff(zero_lag[:kept])) < np.std(np.diff(noisy[:kept])) / 10


def test_the_blow_up_is_cut_before_smoothing() -> None:
    curve = u_curve()
    exploded = np.concatenate([curve[:110], [1e6, np.inf, np.nan]])
    smoothed, kept = smoothed_curve(exploded, beta=0.95, factor=4.0)
    assert np.isnan(smoothed[110:]).all() and kept <= 110
    # Nothing of the explosion leaks back: the kept part matches the clean curve's.
    clean, _ = smoothed_curve(curve[:110], beta=0.95, factor=4.0)
    assert smoothed[:kept] == pytest.approx(clean[:kept])


def test_divergence_cut() -> None:
    assert cut_at_divergence(np.array([2.0, 1.0, 0.5, 1.9, 2.1, 50.0]), 4.0) == 4
    assert cut_at_divergence(np.array([2.0, 1.0, np.nan, 0.1]), 4.0) == 2
    assert cut_at_divergence(np.array([2.0, 1.5, 1.0]), 4.0) == 3
    with pytest.raises(ValueError, match="at least 3 steps"):
        suggestions(RATES[:2], np.array([2.0, 1.0]))


def test_agreement_and_grid() -> None:
    close = across_seeds([1e-3, 2e-3, 1.5e-3])
    assert close.median == pytest.approx(1.5e-3) and not close.seeds_disagree
    far = across_seeds([1e-4, 1e-3])
    assert far.seeds_disagree and far.decades == pytest.approx(1.0)
    assert grid_around(1e-3) == {"start": 3.16e-5, "stop": 0.0316, "num": 7}


def test_the_grid_widens_when_seeds_disagree() -> None:
    assert grid_for(across_seeds([1e-3, 2e-3, 1.5e-3])) == (grid_around(1.5e-3), False)
    wide, widened = grid_for(across_seeds([1e-5, 1e-3, 1e-1]))
    assert widened
    # Half a decade past every seed's suggestion, two rates per decade.
    assert wide["start"] == pytest.approx(1e-5 / 10**0.5, rel=1e-2)
    assert wide["stop"] == pytest.approx(1e-1 * 10**0.5, rel=1e-2)
    assert wide["num"] == 11
