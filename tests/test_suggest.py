from __future__ import annotations

import numpy as np
import pytest

from lrlab.suggest import (
    across_seeds,
    cut_at_divergence,
    grid_around,
    min_over_ten,
    smooth,
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
        smoothed = smooth(noisy, beta=0.9)
        keep = cut_at_divergence(smoothed, 4.0)
        found.append(suggestions(RATES[:keep], smoothed[:keep])["valley"])
    agreement = across_seeds(found)
    assert not agreement.seeds_disagree, found
    assert 1e-5 < agreement.median < 1e-2


def test_smoothing_is_bias_corrected() -> None:
    assert smooth([2.0, 2.0, 2.0], beta=0.98) == pytest.approx([2.0, 2.0, 2.0])
    values = smooth([1.0, 3.0], beta=0.5)
    assert values[1] == pytest.approx((0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25))


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
