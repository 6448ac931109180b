"""Successive halving across trials, paired by seed: the rungs, and which rates a rung
drops. Pure; the runner (:mod:`lrlab.run.halving`) trains the rungs and records what this
module decides.

Every rate of a setting trains on every seed to a rung's epoch; there a rate is dropped
only on evidence. With two seeds or more, a rate is dropped when some other rate beats it
at the rung, paired by seed (a one-sided paired t-test), at the rule's level after
Bonferroni's correction over the rates it is compared with. So a rate that is truly as
good as the best is dropped with a chance of at most ``alpha``, whichever rate the noise
makes look best: the rule is a multiple comparison with the best (Hsu), not a test against
the rate that merely leads. With one seed nothing can be tested: a rung keeps the best
``1 / reduction`` of the rates by rank, and says so.

Halving sees only the first epochs, and a small rate can trail early and win late
(short-horizon bias): from the second epoch on, a rate that would be dropped is kept when
its seed-mean curve, carried on at the pace of its last half, would reach the leader's
carried on likewise by the last epoch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lrlab.analysis.stats import paired_difference

# How a rate left the race at a rung: beaten on every seed with evidence, by rank (one
# seed), or because a seed of it diverged (a rate that diverges is never the best).
PAIRED, RANK, DIVERGED = "paired", "rank", "diverged"


def rungs(epochs: int, *, min_epochs: int, reduction: int) -> tuple[int, ...]:
    """The epochs at which a trial of ``epochs`` epochs is judged before its last:
    ``min_epochs``, then each ``reduction`` times the one before, while the next would
    still come before the last epoch (1, 3 of 10 epochs, with reduction 3)."""
    found = []
    epoch = min_epochs
    while epoch * reduction <= epochs:
        found.append(epoch)
        epoch *= reduction
    if not found and min_epochs < epochs:
        found.append(min_epochs)
    return tuple(found)


@dataclass(frozen=True)
class RateAtRung:
    """One rate of a setting at a rung: its value on each seed (the verdict's column, at
    its best epoch so far), the seed-mean value of each epoch so far (for the guard),
    whether some seed of it diverged, and whether it is still open (some seed paused
    there: it can be dropped; a rate whose trials all ended early only competes)."""

    learning_rate: float
    values: Mapping[int, float]
    curve: Sequence[float] = ()
    diverged: bool = False
    open: bool = True


@dataclass(frozen=True)
class Drop:
    """A rate dropped at a rung: how (PAIRED, RANK or DIVERGED), by which rate, with what
    p-value (Bonferroni-corrected; None by rank or divergence) and by how much it trailed
    (in the metric's units, positive: worse)."""

    learning_rate: float
    by: str
    than: float | None = None
    p: float | None = None
    difference: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {"learning_rate": self.learning_rate, "by": self.by, "than": self.than,
                "p": self.p, "difference": self.difference}


@dataclass(frozen=True)
class RungDecision:
    """What a rung decided for one setting: the rates dropped, and the rates the guard
    kept though the evidence was against them (they were still gaining on the leader)."""

    dropped: tuple[Drop, ...]
    guarded: tuple[float, ...] = ()
    seeds: int = 0
    by: str = PAIRED  # PAIRED with 2 seeds or more, else RANK


def decide(rates: Sequence[RateAtRung], *, higher_is_better: bool, alpha: float,
           reduction: int, epochs_left: int, family: int | None = None) -> RungDecision:
    """Which open rates this rung drops (see the module). ``family``: the rates a rate's
    Bonferroni correction counts (None: those here); an asynchronous rung that has seen
    only some rates counts them all, so that it is never less strict than a complete
    rung."""
    sign = 1.0 if higher_is_better else -1.0
    dropped = [Drop(r.learning_rate, DIVERGED) for r in rates if r.diverged and r.open]
    racing = [r for r in rates if not r.diverged
              and r.values and all(math.isfinite(v) for v in r.values.values())]
    seeds = min((len(r.values) for r in racing), default=0)
    if len(racing) < 2:
        return RungDecision(tuple(dropped), seeds=seeds)
    means = {r.learning_rate: sign * float(np.mean(list(r.values.values()))) for r in racing}
    leader = max(racing, key=lambda r: means[r.learning_rate])
    comparisons = max(len(racing), family or 0) - 1
    beaten = (_beaten_paired(racing, sign=sign, alpha=alpha, comparisons=comparisons)
              if seeds >= 2
              else _beaten_by_rank(racing, means, reduction=reduction, leader=leader))
    guarded = []
    for rate in racing:
        drop = beaten.get(rate.learning_rate)
        if drop is None or not rate.open:
            continue
        if _still_gaining(rate, leader, sign=sign, epochs_left=epochs_left):
            guarded.append(rate.learning_rate)
        else:
            dropped.append(drop)
    return RungDecision(tuple(sorted(dropped, key=lambda d: d.learning_rate)),
                        tuple(sorted(guarded)), seeds=seeds,
                        by=PAIRED if seeds >= 2 else RANK)


def _beaten_paired(racing: Sequence[RateAtRung], *, sign: float, alpha: float,
                   comparisons: int) -> dict[float, Drop]:
    """The rates some other rate beats, paired by seed, at ``alpha`` after Bonferroni
    over ``comparisons`` rates."""
    beaten = {}
    for rate in racing:
        strongest: tuple[float, float, float] | None = None  # (p, than, difference)
        for other in racing:
            if other is rate:
                continue
            seeds = sorted(set(rate.values) & set(other.values))
            if len(seeds) < 2:
                continue
            difference = paired_difference([sign * other.values[s] for s in seeds],
                                           [sign * rate.values[s] for s in seeds])
            p = one_sided(difference.mean, difference.p_value)
            if strongest is None or p < strongest[0]:
                strongest = (p, other.learning_rate, difference.mean)
        if strongest is not None and strongest[0] * comparisons < alpha:
            beaten[rate.learning_rate] = Drop(
                rate.learning_rate, PAIRED, than=strongest[1],
                p=min(1.0, strongest[0] * comparisons), difference=strongest[2])
    return beaten


def one_sided(mean: float, p_two_sided: float) -> float:
    """The one-sided p-value of "the difference is above 0" from a two-sided test's."""
    if math.isnan(p_two_sided):
        return math.nan
    return p_two_sided / 2 if mean > 0 else 1 - p_two_sided / 2


def _beaten_by_rank(racing: Sequence[RateAtRung], means: Mapping[float, float], *,
                    reduction: int, leader: RateAtRung) -> dict[float, Drop]:
    """One seed: all but the best ``ceil(n / reduction)`` rates."""
    ranked = sorted(racing, key=lambda r: -means[r.learning_rate])
    keep = max(1, math.ceil(len(ranked) / reduction))
    return {r.learning_rate: Drop(r.learning_rate, RANK, than=leader.learning_rate,
                                  difference=means[leader.learning_rate] - means[r.learning_rate])
            for r in ranked[keep:]}


def _still_gaining(rate: RateAtRung, leader: RateAtRung, *, sign: float,
                   epochs_left: int) -> bool:
    """Whether ``rate``, carried on at the pace of the last half of its epochs, would
    reach ``leader`` carried on likewise, by the last epoch (False before two epochs)."""
    if epochs_left <= 0 or len(rate.curve) < 2 or len(leader.curve) < 2:
        return False
    return _projected(rate.curve, sign, epochs_left) >= _projected(leader.curve, sign,
                                                                  epochs_left)


def _projected(curve: Sequence[float], sign: float, epochs_left: int) -> float:
    values = sign * np.asarray(curve, dtype=float)
    start = (len(values) - 1) // 2  # the last half of the epochs: 2 to 3, 5 to 9
    pace = (values[-1] - values[start]) / (len(values) - 1 - start)
    return float(values[-1] + pace * epochs_left)
