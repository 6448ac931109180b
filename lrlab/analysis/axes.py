"""How the verdicts move along a sweep's axes: whether the best rate lies at an edge of the
rates tried, the best rate along each axis, and how it scales with the batch size.

Pure (pandas, and :mod:`lrlab.analysis.stats` for intervals); the verdicts come from
:mod:`lrlab.analysis.compare`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import lrlab.analysis.stats as stats
from lrlab.analysis.batch_noise import NoiseFit, fit_noise
from lrlab.experiment.scaling import rule_of
from lrlab.experiment.space import EDGE_SHARE

BATCH_AXIS = "batch_size"
# Along any other axis, the best rate "holds" when the slope's whole interval lies within
# this of 0: at most 19% a doubling (2^0.25). An interval that holds 0 but is wider cannot
# tell a rate that holds from one that drifts: "unclear", not "holds".
TRANSFER_MARGIN = 0.25


# The farthest one step beyond the rates tried reaches: a decade. A coarse grid's own step
# (0.1 and 100: three decades) would jump over the rates that matter.
MAX_STEP_BEYOND = 10.0


def step_beyond(tried: Sequence[float], side: str, *, sampled: bool = False) -> float:
    """The factor between an end of the rates ``tried`` (sorted) and the next rate to try
    beyond it: the grid's own spacing at that end, at most :data:`MAX_STEP_BEYOND`. Drawn
    rates have no spacing: a decade. The verdict's "add rates from ... to ..." and the
    adaptive sweep's next rate both come from here."""
    if sampled or len(tried) < 2:
        return MAX_STEP_BEYOND
    spacing = tried[-1] / tried[-2] if side == "high" else tried[1] / tried[0]
    return min(spacing, MAX_STEP_BEYOND)


def next_rate_beyond(tried: Sequence[float], side: str, *, sampled: bool = False) -> float:
    """The rate one :func:`step_beyond` past the ``low`` or ``high`` end (6 digits)."""
    step = step_beyond(tried, side, sampled=sampled)
    rate = tried[0] / step if side == "low" else tried[-1] * step
    return float(f"{rate:.6g}")


@dataclass(frozen=True)
class Edge:
    """The best rate (``what="best"``) or the largest rate that learns (``"largest
    learning"``) at the ``low`` or ``high`` end of the rates tried: the range may not hold
    the answer. ``add`` is the range of rates to add: from the end to the next rate beyond
    it (:func:`next_rate_beyond`), which an adaptive sweep trains next."""

    what: str
    side: str
    rate: float
    tried: tuple[float, float]
    add: tuple[float, float]
    sampled: bool  # the rates were drawn: "at the end" is "in its outer tenth"

    @property
    def next_rate(self) -> float:
        return self.add[0] if self.side == "low" else self.add[1]


def find_edges(rates: Sequence[float], *, best: float | None, largest_learning: float | None,
               sampled: bool) -> tuple[Edge, ...]:
    """The edges a setting's verdict should warn of (none with fewer than two rates)."""
    tried = sorted(set(rates))
    if len(tried) < 2:
        return ()
    low, high = tried[0], tried[-1]

    def side(rate: float) -> str | None:
        share = math.log(rate / low) / math.log(high / low)
        outer = EDGE_SHARE if sampled else 0.0
        return "low" if share <= outer else "high" if share >= 1 - outer else None

    def edge(what: str, rate: float, where: str) -> Edge:
        beyond = next_rate_beyond(tried, where, sampled=sampled)
        add = (beyond, low) if where == "low" else (high, beyond)
        return Edge(what, where, rate, (low, high), add, sampled)

    found = []
    best_side = side(best) if best is not None else None
    if best is not None and best_side is not None:
        found.append(edge("best", best, best_side))
    if largest_learning is not None and best_side != "high" and side(
            largest_learning) == "high":
        found.append(edge("largest learning", largest_learning, "high"))
    return tuple(found)


@dataclass(frozen=True)
class AxisPoint:
    """One value of an axis: the best rate there, what it reached, and when."""

    value: Any
    best_rate: float | None  # None: no rate learns there
    mean: float
    low: float
    high: float
    epoch: float  # the median epoch the best rate's value comes from
    steps: int | None  # that many epochs in training steps, where the set's size is known


@dataclass(frozen=True)
class AlongAxis:
    """How one optimizer's best rate moves along ``axis``, the other settings fixed."""

    sweep: str
    optimizer: str
    axis: str
    setting: str  # the other settings, "" when none vary
    points: tuple[AxisPoint, ...]

    @property
    def label(self) -> str:
        return f"{self.optimizer} ({self.setting})" if self.setting else self.optimizer


@dataclass(frozen=True)
class Scaling:
    """The slope of log(best rate) against log(an axis's value), one per seed, and the rule
    it agrees with. Along the batch size (:func:`lrlab.experiment.scaling.rule_of`):
    ``linear`` (1), ``sqrt`` (0.5), ``both`` (the interval holds both), ``neither``; along
    any other axis: ``holds`` (the interval lies within ``TRANSFER_MARGIN`` of 0: the
    best rate transfers), ``drifts`` (it excludes 0) or ``unclear``; ``untested`` (one
    seed: no interval)."""

    along: AlongAxis
    slope: float
    low: float
    high: float
    per_seed: tuple[tuple[int, float], ...]
    rule: str
    # The slope a one-step change of the rate grid makes over the batch sizes tried: a
    # seed's slope cannot be read finer than about this (the parabola helps, a little);
    # low and high include half of it either side.
    resolution: float = math.nan
    # McCandlish et al.'s eps_max / (1 + B_noise / B) fitted to the best rates, beside the
    # noise scale the trials measured (lrlab.analysis.batch_noise); None: under 3 sizes.
    noise: NoiseFit | None = None


def along_axes(verdicts: Sequence[Any], values: pd.DataFrame, *,
               train_images: dict[str, int]
               ) -> tuple[list[AlongAxis], list[Scaling], list[Scaling]]:
    """For every numeric axis a verdict's setting varies along (the others fixed), the
    best rate at each value, and the slope of log(best rate) against log(value) (from
    ``values``, the per-trial values of :func:`lrlab.analysis.compare.trial_values`):
    the batch size's scaling, then every other axis's (hidden width, depth, train_limit,
    epochs, a factory's argument: does the best rate transfer along it?)."""
    along, scaling, slopes = [], [], []
    axes = dict.fromkeys(name for v in verdicts for name, _ in v.settings)
    for axis in axes:
        lines: dict[tuple[Any, ...], list[Any]] = {}
        for v in verdicts:
            settings = dict(v.settings)
            if axis in settings and axis_number(settings[axis]) is not None:
                rest = tuple((k, x) for k, x in v.settings if k != axis)
                lines.setdefault((v.sweep, v.optimizer, rest), []).append(v)
        for (sweep, optimizer, rest), members in lines.items():
            if len(members) < 2:
                continue
            members.sort(key=lambda v: axis_number(dict(v.settings)[axis]))
            line = AlongAxis(sweep, optimizer, axis, ", ".join(f"{k}={_shown(x)}"
                                                               for k, x in rest),
                             tuple(_point(v, axis, train_images.get(sweep))
                                   for v in members))
            along.append(line)
            if all(axis_number(p.value) > 0 for p in line.points):
                found = _scaling(line, members, values)
                if found is not None:
                    (scaling if axis == BATCH_AXIS else slopes).append(found)
    return along, scaling, slopes


def axis_number(value: Any) -> float | None:
    """An axis value as a number: a number itself, or a list-valued setting's (``512,512``:
    every hidden layer at one width) common value; None where it is not one number."""
    if _number(value):
        return float(value)
    if isinstance(value, str) and "," in value:
        try:
            parts = {float(part) for part in value.split(",")}
        except ValueError:
            return None
        return parts.pop() if len(parts) == 1 else None
    return None


def _point(verdict: Any, axis: str, images: int | None) -> AxisPoint:
    epoch = verdict.best_epoch
    size = dict(verdict.settings).get(BATCH_AXIS)
    steps = (round(epoch * math.ceil(images / float(size)))
             if axis == BATCH_AXIS and images and size and math.isfinite(epoch) else None)
    return AxisPoint(dict(verdict.settings)[axis],
                     verdict.best_learning_rate if verdict.learns else None,
                     verdict.best_mean, verdict.best_low, verdict.best_high, epoch, steps)


def _scaling(line: AlongAxis, members: Sequence[Any], values: pd.DataFrame) -> Scaling | None:
    """Each seed's best rate at each batch size (refined between the grid's points by a
    parabola through the best and its neighbours, on a log scale), then each seed's
    least-squares slope of log(best rate) against log(batch size)."""
    axis = line.axis
    sign = 1.0 if members[0].metric.endswith("accuracy") else -1.0
    per_seed: dict[int, list[tuple[float, float]]] = {}
    measured: dict[float, float] = {}  # batch size: the best rate's median noise scale
    for verdict in members:
        if not verdict.learns:
            continue
        rows = _rows_of(values, verdict)
        if "noise_scale" in rows:
            at_best = rows.loc[rows["learning_rate"] == verdict.best_learning_rate,
                               "noise_scale"].dropna()
            if len(at_best):
                measured[axis_number(dict(verdict.settings)[axis])] = float(at_best.median())
        learning = [verdict.best_learning_rate, *(c.learning_rate for c in verdict.versus_best
                                                  if c.mark != "fails")]
        rows = rows[rows["learning_rate"].isin(learning)]
        size = axis_number(dict(verdict.settings)[axis])
        for seed, own in rows.groupby("seed"):
            best = _refined_best(own["learning_rate"].to_numpy(float),
                                 sign * own["value"].to_numpy(float))
            if best is not None:
                per_seed.setdefault(int(seed), []).append((size, best))
    slopes = {seed: float(np.polyfit(np.log(np.array(p)[:, 0]), np.log(np.array(p)[:, 1]),
                                     1)[0])
              for seed, p in per_seed.items() if len({s for s, _ in p}) >= 2}
    if not slopes:
        return None
    slope = float(np.mean(list(slopes.values())))
    mine = (values["sweep"] == line.sweep) & (values["optimizer"] == line.optimizer)
    rates = np.log(np.unique(values.loc[mine, "learning_rate"].to_numpy(float)))
    sizes = [axis_number(p.value) for p in line.points]
    resolution = (float(np.median(np.diff(rates))) / math.log(max(sizes) / min(sizes))
                  if len(rates) > 1 else math.nan)
    # Seeds that agree to the grid point would give an interval of width 0: the grid's
    # own coarseness is uncertainty too, so the interval is widened by half a step.
    low, high = stats.mean_interval(list(slopes.values()))
    if math.isfinite(resolution) and not math.isnan(low):
        low, high = low - resolution / 2, high + resolution / 2
    by_size: dict[float, list[float]] = {}
    for found in per_seed.values():
        for size, best in found:
            by_size.setdefault(size, []).append(math.log(best))
    if axis != BATCH_AXIS:  # the rate transfers where the slope is shown to be near 0
        rule = ("untested" if math.isnan(low) else "drifts" if not low <= 0 <= high
                else "holds" if -TRANSFER_MARGIN <= low and high <= TRANSFER_MARGIN
                else "unclear")
        return Scaling(line, slope, low, high, tuple(sorted(slopes.items())), rule,
                       resolution)
    noise = fit_noise([(size, math.exp(float(np.mean(logs))))
                       for size, logs in by_size.items()], measured=list(measured.values()))
    return Scaling(line, slope, low, high, tuple(sorted(slopes.items())),
                   rule_of(low, high), resolution, noise)


def _rows_of(values: pd.DataFrame, verdict: Any) -> pd.DataFrame:
    mask = (values["sweep"] == verdict.sweep) & (values["optimizer"] == verdict.optimizer)
    for name, value in verdict.settings:
        mask &= values[name].astype(str) == str(value)
    return values[mask & values["value"].notna()]


def _refined_best(rates: np.ndarray, scores: np.ndarray) -> float | None:
    """The rate of the highest score; between grid points, the top of the parabola
    through it and its two neighbours (in log rate), when the three bend downwards."""
    finite = np.isfinite(scores)
    rates, scores = rates[finite], scores[finite]
    if not len(rates):
        return None
    order = np.argsort(rates)
    rates, scores = rates[order], scores[order]
    i = int(np.argmax(scores))
    if 0 < i < len(rates) - 1:
        x = np.log(rates[i - 1:i + 2])
        a, b, _ = np.polyfit(x, scores[i - 1:i + 2], 2)
        if a < 0:
            return float(np.exp(np.clip(-b / (2 * a), x[0], x[2])))
    return float(rates[i])


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool) and math.isfinite(float(value))


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
