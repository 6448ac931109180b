"""The statistics of an adaptive sweep, which looks at its results after every round and
stops when they look settled. Pure (NumPy, scipy.stats).

Looking repeatedly and stopping when a difference shows raises the chance of calling a
false one: five looks at the 5% level call a true tie a difference far more often than 5%
of the time. The rule here fixes the most looks ``K`` in advance (the seed counts of
:attr:`SequentialRule.schedule`) and splits the level among them (Bonferroni): every look
tests at ``alpha / K``, split again among every pair of the setting's rates (the best is
picked from the same data, so any pair may be the one tested: Holm among the rivals alone
lets four tied rates be called apart 6.5% of the time at 5%, by simulation). Whatever the
data do, the chance that *any* look calls a false separation, or a false equivalence, is
then at most ``alpha`` (a union bound over looks and pairs). It is conservative
next to an alpha-spending boundary (O'Brien-Fleming), but it needs no assumption about
how many seeds each look adds, which an adaptive sweep chooses as it goes.

Each rival of the best rate, paired by seed, ends in one of three calls:

- **separated**: worse than the best, the paired t-test rejecting "no difference" at the
  look's level for one pair;
- **equivalent**: within ``tolerance`` of the best either way, by two one-sided tests
  (TOST) at that level: its ``1 - 2 level`` interval lies inside +-tolerance;
- **open**: neither yet; more seeds are needed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special

ALPHA = 0.05
# Half a point of accuracy: differences below it rarely change which rate one would use.
TOLERANCE = 0.005
MAX_SEEDS = 10
GROWTH = 1.5  # each look has about half again the seeds of the one before


@dataclass(frozen=True)
class SequentialRule:
    """The looks an adaptive sweep may take (the seed count of each, fixed in advance)
    and the level and tolerance of its calls."""

    alpha: float = ALPHA
    tolerance: float = TOLERANCE
    schedule: tuple[int, ...] = (2, 3, 5, 8, 10)

    @classmethod
    def starting(cls, seeds: int, *, max_seeds: int = MAX_SEEDS, alpha: float = ALPHA,
                 tolerance: float = TOLERANCE) -> SequentialRule:
        """Looks from ``seeds`` (the sweep's own) up to ``max_seeds``, each about GROWTH
        times the last."""
        schedule = [max(2, seeds)]
        while schedule[-1] < max_seeds:
            schedule.append(min(max_seeds, max(schedule[-1] + 1,
                                               math.ceil(schedule[-1] * GROWTH))))
        return cls(alpha=alpha, tolerance=tolerance, schedule=tuple(schedule))

    @property
    def looks(self) -> int:
        return len(self.schedule)

    @property
    def level(self) -> float:
        """The level of every look's tests: alpha split evenly among the looks."""
        return self.alpha / self.looks

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "schedule": list(self.schedule), "looks": self.looks,
                "level": self.level, "correction": "Bonferroni over the looks"}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SequentialRule:
        """A rule as :meth:`to_dict` wrote it; ValueError if it is not one."""
        try:
            rule = cls(float(data["alpha"]), float(data["tolerance"]),
                       tuple(int(n) for n in data["schedule"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"expected alpha, tolerance and schedule ({exc})") from None
        if not (0 < rule.alpha < 1 and rule.tolerance >= 0 and rule.schedule
                and all(2 <= a < b for a, b in itertools.pairwise(rule.schedule))
                and rule.schedule[0] >= 2):
            raise ValueError("expected 0 < alpha < 1, tolerance >= 0 and an increasing "
                             "schedule of seed counts >= 2")
        return rule


@dataclass(frozen=True)
class Call:
    """One rival of the best at one look: how much worse it is over the seeds both have
    (``difference``, positive = worse, with its ``1 - 2 level`` interval ``low``..``high``
    at the level of one pair), the p-value adjusted for the look's pairs, and the call."""

    learning_rate: float
    call: str  # "separated", "equivalent" or "open"
    n: int
    difference: float
    low: float
    high: float
    p_holm: float

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in asdict(self).items()}


def judge(best: Mapping[int, float], rivals: Mapping[float, Mapping[int, float]],
          rule: SequentialRule, *, higher_is_better: bool = True) -> list[Call]:
    """Call each rival of ``best`` (values by seed; rivals by rate), paired by seed, at
    one look of ``rule``. ``p_holm`` is the p-value adjusted for the look's pairs."""
    sign = 1.0 if higher_is_better else -1.0
    rates = len(rivals) + 1
    pairs = max(1, rates * (rates - 1) // 2)
    level = rule.level / pairs
    calls = []
    for rate, values in rivals.items():
        seeds = sorted(set(best) & set(values))
        d = sign * (np.array([best[s] for s in seeds], float)
                    - np.array([values[s] for s in seeds], float))
        mean, low, high, p = _paired(d, level)
        if len(d) >= 2 and mean > 0 and p < level:
            call = "separated"
        elif len(d) >= 2 and -rule.tolerance < low and high < rule.tolerance:
            call = "equivalent"
        else:
            call = "open"
        calls.append(Call(float(rate), call, len(d), mean, low, high, min(1.0, p * pairs)))
    return calls


def _paired(d: np.ndarray, level: float) -> tuple[float, float, float, float]:
    """Mean of the per-seed differences ``d``, its ``1 - 2 level`` t-interval (the one
    TOST at ``level`` reads) and the two-sided p-value of "no difference"."""
    n = len(d)
    if n < 2:
        return (float(d.mean()) if n else math.nan), math.nan, math.nan, math.nan
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(mean)):  # every seed moved alike: nothing to test against
        return mean, mean, mean, 1.0 if mean == 0 else 0.0
    se = sd / math.sqrt(n)
    # Student's t through scipy.special's ufuncs: the same numbers as scipy.stats.t, at a
    # fraction of the cost (the simulation test calls this a hundred thousand times).
    half = float(special.stdtrit(n - 1, 1 - level)) * se
    p = float(2 * special.stdtr(n - 1, -abs(mean) / se))
    return mean, mean - half, mean + half, p


def best_of(values: Mapping[float, Mapping[int, float]], *,
            higher_is_better: bool = True) -> float:
    """The rate with the best mean over its seeds (the lower rate on a tie)."""
    sign = 1.0 if higher_is_better else -1.0
    return max(sorted(values), key=lambda r: sign * float(np.mean(list(values[r].values()))))


def seeds_to_add(calls: Sequence[Call], best_rate: float, have: Mapping[float, set[int]],
                 pool: Sequence[int]) -> dict[float, list[int]]:
    """For the next look: the seeds of ``pool`` (in order, as many as the look wants) that
    the best and each open rival lack."""
    wanted = [best_rate, *(c.learning_rate for c in calls if c.call == "open")]
    return {rate: missing for rate in wanted
            if (missing := [s for s in pool if s not in have.get(rate, set())])}
