"""McCandlish et al.'s eps_max / (1 + B_noise / B) fitted to best rates: a known B_noise is
found, the interval opens where the rates do not bend, and the measured scale is judged
against it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrlab.analysis.batch_noise import fit_noise

SIZES = [16, 32, 64, 128, 256, 512, 1024]


def model(b_noise: float, epsilon_max: float = 2.0, *, jitter: float = 0.0,
          seed: int = 0) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    return [(b, epsilon_max / (1 + b_noise / b) * math.exp(jitter * rng.standard_normal()))
            for b in SIZES]


def test_a_known_noise_scale_is_found_within_its_interval() -> None:
    exact = fit_noise(model(200.0))
    assert exact.b_noise == pytest.approx(200.0, rel=0.02)
    assert exact.epsilon_max == pytest.approx(2.0, rel=0.02)
    noisy = fit_noise(model(200.0, jitter=0.15, seed=3), measured=[150.0, 260.0, 900.0])
    assert noisy.low < 200.0 < noisy.high and noisy.low > 0 and math.isfinite(noisy.high)
    assert noisy.measured == 260.0 and noisy.agrees is True
    assert (noisy.measured_low, noisy.measured_high) == (150.0, 900.0)
    assert fit_noise(model(200.0, jitter=0.15, seed=3), measured=[5.0]).agrees is False
    assert noisy.agrees is not None and fit_noise(model(200.0)).agrees is None


def test_rates_that_do_not_bend_leave_the_interval_open() -> None:
    # Linear in B throughout: the noise scale is beyond the largest size, no upper bound.
    rising = fit_noise([(b, 1e-3 * b) for b in SIZES])
    assert math.isinf(rising.high) and rising.low > 1024
    # Flat: the noise scale is below the smallest size.
    flat = fit_noise([(b, 0.1) for b in SIZES])
    assert flat.low == 0 and flat.high < 16


def test_under_three_batch_sizes_there_is_no_fit() -> None:
    assert fit_noise([(32, 0.1), (64, 0.2)]) is None
    assert fit_noise([(32, 0.1), (64, 0.2), (128, math.nan)]) is None
