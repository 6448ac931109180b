"""lrlab.analysis.stats against scipy.stats and against independent formulations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from lrlab.analysis import stats


def test_mean_interval_is_the_t_interval() -> None:
    values = [0.971, 0.975, 0.968, 0.980]
    low, high = stats.mean_interval(values)
    expected = scipy_stats.t.interval(0.95, 3, loc=np.mean(values),
                                      scale=scipy_stats.sem(values))
    assert (low, high) == pytest.approx(expected)
    assert all(math.isnan(v) for v in stats.mean_interval([0.9]))
    assert stats.mean_interval([0.5, 0.5]) == (0.5, 0.5)


def test_paired_difference_is_the_paired_t_test() -> None:
    a = [0.970, 0.975, 0.980, 0.972]
    b = [x - d for x, d in zip(a, [0.004, 0.005, 0.0045, 0.0042], strict=True)]
    d = stats.paired_difference(a, b)
    expected = scipy_stats.ttest_rel(a, b)
    assert d.p_value == pytest.approx(expected.pvalue)
    assert (d.low, d.high) == pytest.approx(tuple(expected.confidence_interval(0.95)))
    assert d.mean == pytest.approx(np.mean(np.subtract(a, b))) and d.n == 4
    # Pairing matters: the same numbers as two independent groups are not told apart.
    assert scipy_stats.ttest_ind(a, b).pvalue > 0.05 > d.p_value


def test_paired_difference_edge_cases() -> None:
    assert math.isnan(stats.paired_difference([0.9], [0.8]).p_value)  # one pair: untestable
    same_shift = stats.paired_difference([0.9, 0.8, 0.7], [0.8, 0.7, 0.6])
    assert same_shift.p_value == 0.0 and same_shift.low == same_shift.high  # certain
    assert stats.paired_difference([0.9, 0.8], [0.9, 0.8]).p_value == 1.0


def step_down_rejections(p_values: list[float], alpha: float) -> set[int]:
    """Holm's procedure as written in textbooks: reject in order of p while p_(k) <=
    alpha / (m - k + 1), stop at the first that is not."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = set()
    for k, index in enumerate(order):
        if p_values[index] > alpha / (len(p_values) - k):
            break
        rejected.add(index)
    return rejected


def test_holm_adjusted_p_values_reject_as_the_step_down_procedure() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.uniform(0, 0.2, size=rng.integers(1, 8)).tolist()
        adjusted = stats.holm(p)
        assert all(a >= q for a, q in zip(adjusted, p, strict=True))
        for alpha in (0.01, 0.05, 0.1):
            assert {i for i, a in enumerate(adjusted) if a <= alpha} == \
                step_down_rejections(p, alpha)
    with_untested = stats.holm([0.01, math.nan, 0.04])
    assert math.isnan(with_untested[1]) and with_untested[0] == pytest.approx(0.02)


def rejection_rate(n: int, difference: float, sd: float, alpha: float) -> float:
    rng = np.random.default_rng(1)
    samples = rng.normal(difference, sd, size=(4000, n))
    p = scipy_stats.ttest_1samp(samples, 0.0, axis=1).pvalue
    return float(np.mean(p < alpha))


def test_seeds_needed_gives_the_power_it_promises() -> None:
    n = stats.seeds_needed(0.002, 0.003)
    assert n is not None and n > 2
    assert rejection_rate(n, 0.002, 0.003, 0.05) >= 0.77  # 0.8 up to simulation noise
    assert rejection_rate(n - 2, 0.002, 0.003, 0.05) < 0.8
    assert stats.seeds_needed(0.002, 0.003, comparisons=10) > n  # a stricter level
    assert stats.seeds_needed(0.0, 0.003) is None
    assert stats.seeds_needed(1e-6, 1.0) is None  # beyond MAX_SEEDS


def test_power_and_batched_intervals_are_scipy_stats_numbers() -> None:
    # lrlab computes them with scipy.special's ufuncs (importing scipy.stats costs a
    # second per command); the numbers must be scipy.stats's own.
    for n, difference, sd, alpha in ((2, 0.01, 0.02, 0.05), (5, 0.003, 0.004, 0.01),
                                     (20, 0.001, 0.003, 0.005)):
        critical = scipy_stats.t.ppf(1 - alpha / 2, n - 1)
        shift = difference / sd * math.sqrt(n)
        expected = (scipy_stats.nct.sf(critical, n - 1, shift)
                    + scipy_stats.nct.cdf(-critical, n - 1, shift))
        assert stats.power(n, difference, sd, alpha=alpha) == pytest.approx(expected, rel=1e-9)
    mean, std, n = np.array([0.9, 0.8, 0.5]), np.array([0.01, 0.02, 0.0]), np.array([3, 10, 1])
    low, high = stats.mean_intervals(mean, std, n)
    half = scipy_stats.t.ppf(0.975, n[:2] - 1) * std[:2] / np.sqrt(n[:2])
    np.testing.assert_allclose(low[:2], mean[:2] - half, rtol=1e-12)
    np.testing.assert_allclose(high[:2], mean[:2] + half, rtol=1e-12)
    assert math.isnan(low[2]) and math.isnan(high[2])  # one seed: no interval


def test_the_corrected_interval_holds_zero_for_every_rate_holm_ties() -> None:
    """The verdict's "Closest" interval is the one the tie is judged by: the Bonferroni
    interval over the comparisons always holds 0 where Holm calls a tie, while the plain
    95% interval may exclude it (the contradiction a user read)."""
    rng = np.random.default_rng(3)
    plain_excluded = 0
    for _ in range(300):
        m, n = int(rng.integers(2, 8)), int(rng.integers(2, 6))
        differences = [stats.paired_difference(rng.normal(0.01, 0.01, n), np.zeros(n))
                       for _ in range(m)]
        adjusted = stats.holm([d.p_value for d in differences])
        for d, p in zip(differences, adjusted, strict=True):
            if p >= stats.ALPHA:  # tied
                low, high = stats.corrected_interval(d, comparisons=m)
                assert low <= 0 <= high
                plain_excluded += not d.low <= 0 <= d.high
    assert plain_excluded > 0  # the case the corrected interval exists for does happen
    one = stats.paired_difference([1.0, 2.0, 4.0], [0.5, 1.0, 1.0])
    assert stats.corrected_interval(one, comparisons=1) == pytest.approx((one.low, one.high))
