"""Seed statistics for verdicts: intervals, paired comparisons, multiplicity, and how many
seeds a difference needs. Pure; the distributions are Student's t and the noncentral t
through scipy.special's ufuncs: the numbers scipy.stats gives (tests/analysis/test_stats.py
checks), without the second it takes to import scipy.stats, which every ``lrlab compare``
would pay.

Trials of one seed share initial weights and batch order, so two learning rates are compared
*paired by seed*: the per-seed differences cancel what the seed does to both, and a paired
t-test on them is far more sensitive than comparing two means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
POWER = 0.8  # the chance of telling a real difference apart, for "seeds needed"
MAX_SEEDS = 1000


def mean_intervals(mean: np.ndarray, std: np.ndarray,
                   n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mean_interval` for many groups at once, from their means, sample standard
    deviations and sizes (NaN where a group has fewer than 2 values)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = special.stdtrit(np.where(n >= 2, n - 1, np.nan), 1 - ALPHA / 2) * std / np.sqrt(n)
    return np.asarray(mean - half, dtype=float), np.asarray(mean + half, dtype=float)


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """The 95% t-interval of the mean of ``values`` (NaN, NaN with fewer than 2)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return math.nan, math.nan
    mean, sem = float(x.mean()), float(x.std(ddof=1)) / math.sqrt(len(x))
    if sem == 0:
        return mean, mean
    half = _t_quantile(len(x) - 1) * sem
    return mean - half, mean + half


@dataclass(frozen=True)
class PairedDifference:
    """``a - b`` over the seeds both have: mean, 95% interval, paired t-test p-value."""

    n: int
    mean: float
    sd: float
    low: float
    high: float
    p_value: float


def paired_difference(a: Sequence[float], b: Sequence[float]) -> PairedDifference:
    """Compare ``a`` and ``b`` (equal length, paired by position: one entry per seed)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = x - y
    n = len(d)
    if n < 2:
        return PairedDifference(n, float(d.mean()) if n else math.nan, math.nan, math.nan,
                                math.nan, math.nan)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(mean)):  # every seed moved alike, up to rounding: no
        # noise to test against (and scipy would warn of catastrophic cancellation)
        return PairedDifference(n, mean, 0.0, mean, mean, 1.0 if mean == 0 else 0.0)
    se = sd / math.sqrt(n)  # the paired t-test: a one-sample t-test on the differences
    half = _t_quantile(n - 1) * se
    p_value = float(2 * special.stdtr(n - 1, -abs(mean) / se))
    return PairedDifference(n, mean, sd, mean - half, mean + half, p_value)


def corrected_interval(difference: PairedDifference, *, comparisons: int) -> tuple[float, float]:
    """The interval of a paired difference at level ``1 - ALPHA / comparisons``
    (Bonferroni): the one that agrees with a Holm-corrected call. A rate Holm calls tied
    always has 0 inside it (its p-value times the comparisons is at least ALPHA), while the
    plain 95% interval may exclude 0."""
    if difference.n < 2 or not math.isfinite(difference.sd):
        return math.nan, math.nan
    half = _t_quantile(difference.n - 1, ALPHA / max(1, comparisons)) * (
        difference.sd / math.sqrt(difference.n))
    return difference.mean - half, difference.mean + half


def _t_quantile(df: int, alpha: float = ALPHA) -> float:
    """Student's t quantile for a two-sided interval at level ``1 - alpha``."""
    return float(special.stdtrit(df, 1 - alpha / 2))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values: comparing each against ``ALPHA`` keeps the
    chance of calling *any* true tie a difference below ``ALPHA`` (family-wise), without
    Bonferroni's full price. NaN (untestable) stays NaN and does not count."""
    p = np.asarray(p_values, dtype=float)
    tested = np.flatnonzero(~np.isnan(p))
    adjusted = np.full(len(p), math.nan)
    m = len(tested)
    running = 0.0
    for rank, index in enumerate(tested[np.argsort(p[tested], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def power(n: int, difference: float, sd: float, *, alpha: float = ALPHA) -> float:
    """The chance that a two-sided paired t-test on ``n`` seeds at level ``alpha`` tells
    apart a true mean difference ``difference`` when per-seed differences spread by ``sd``
    (the noncentral t distribution)."""
    df = n - 1
    critical = _t_quantile(df, alpha)
    shift = abs(difference) / sd * math.sqrt(n)
    return float(1 - special.nctdtr(df, shift, critical) + special.nctdtr(df, shift, -critical))


def seeds_needed(difference: float, sd: float, *, comparisons: int = 1) -> int | None:
    """Roughly how many seeds a paired t-test needs to tell ``difference`` apart with
    ``POWER`` at level ``ALPHA / comparisons`` (Bonferroni: the strictest step of Holm),
    if the per-seed differences spread by ``sd``. None when there is nothing to detect or
    it would take more than MAX_SEEDS."""
    if not (math.isfinite(difference) and math.isfinite(sd)) or difference == 0:
        return None
    if sd == 0:
        return 2
    alpha = ALPHA / max(1, comparisons)

    def enough(n: int) -> bool:
        return power(n, difference, sd, alpha=alpha) >= POWER

    # Power grows with n: double until enough, then bisect (a dozen evaluations).
    high = 2
    while not enough(high):
        if high >= MAX_SEEDS:
            return None
        high = min(2 * high, MAX_SEEDS)
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return max(high, 2)
