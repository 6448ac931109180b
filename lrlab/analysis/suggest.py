"""Reading an LR range test: smoothing, the divergence cut, and the suggestion rules. Pure.

Each rule turns one loss-against-rate curve into one suggested learning rate. They look at
the *descent*: from the first rate at which the smoothed loss has fallen a tenth of the way
from its starting level (the median of the first tenth of the steps) to its minimum, up to
the minimum (before it, the curve is flat noise; after
it, the loss climbs towards divergence).

- ``steepest`` (the default): within the descent, where the smoothed loss falls fastest
  against log10(rate), i.e. where learning is quickest;
- ``valley``: the geometric middle of the descent, well inside the range that learns and
  away from both of its ends (the most cautious);
- ``min/10``: the rate at the minimum smoothed loss, divided by ten (the classic rule of
  thumb: the minimum itself is already at the edge of instability).

The curve is smoothed without lag (an exponential average run forwards and backwards). The
classic causal average trails a fast ramp by about a decade, and rules tuned on it (fastai's
among them) partly rode that lag: on MNIST, the same rules on the zero-lag curve suggest half
a decade to a decade lower rates than on the lagged one. ``steepest`` on the zero-lag curve
was the closest to the rates three-seed sweeps found best, and the most stable across seeds
and data sizes, hence the default (measurements in docs/find-lr.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RULES = ("steepest", "valley", "min/10")
DEFAULT_RULE = "steepest"
# Forward and backward, the average is applied twice: 0.95 smooths about as much as the
# classic causal 0.98 while still resolving a descent a decade wide on a 300-step ramp.
DEFAULT_SMOOTHING = 0.95


def geometric_rates(start: float, end: float, steps: int) -> np.ndarray:
    """``steps`` rates growing by the same factor each step, from start to end."""
    return np.geomspace(start, end, steps)


def ema(losses: Sequence[float], beta: float) -> np.ndarray:
    """Exponential moving average with bias correction (so early values are not pulled to
    0). Causal, so it trails the raw curve: on a ramp growing a decade every ~50 steps, a
    0.98 average lags by about a decade. lrlab uses it only to find where the loss blows
    up, which it sees in time because an explosion dominates any average at once."""
    out, average = np.empty(len(losses)), 0.0
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        out[i] = average / (1 - beta ** (i + 1))
    return out


def smooth(losses: Sequence[float], beta: float) -> np.ndarray:
    """Zero-lag smoothing: the same exponential average run forwards and then backwards
    (``scipy.signal.filtfilt``), so the smoothed curve sits on the raw one instead of
    trailing it. Give it the curve before the blow-up (see :func:`smoothed_curve`): an
    explosion would leak backwards into the steps before it."""
    x = np.asarray(losses, dtype=float)
    if beta == 0 or len(x) < 4:  # too short to filter: nothing to smooth
        return x.copy()
    from scipy import signal  # here, not at import: the CLI's --help stays fast

    # Gustafsson's initial conditions at both ends: of the edge treatments tried on real
    # MNIST ramps (this, odd and even padding) the most stable suggestions across seeds.
    return signal.filtfilt([1 - beta], [1, -beta], x, method="gust")


def smoothed_curve(losses: Sequence[float], *, beta: float,
                   factor: float) -> tuple[np.ndarray, int]:
    """The range test's curve, zero-lag smoothed, and how many steps to keep.

    The raw curve is first cut where it blows up (a loss that is not finite, or above
    ``factor`` times the lowest causal average so far), so that the backward pass cannot
    carry the explosion into the descent before it; the smoothed curve is NaN from there.
    The steps kept end where the smoothed loss exceeds ``factor`` times its minimum.
    """
    x = np.asarray(losses, dtype=float)
    average = ema(x, beta)
    floor = np.minimum.accumulate(np.where(np.isfinite(average), average, np.inf))
    broken = ~np.isfinite(x) | (x > factor * floor)
    blow_up = int(np.argmax(broken)) if broken.any() else len(x)
    out = np.full(len(x), math.nan)
    out[:blow_up] = smooth(x[:blow_up], beta)
    return out, cut_at_divergence(out[:blow_up], factor)


def cut_at_divergence(smoothed: np.ndarray, factor: float) -> int:
    """How many steps to keep: up to (not including) the first step whose smoothed loss is
    not finite or exceeds ``factor`` times the lowest smoothed loss so far."""
    best = math.inf
    for i, value in enumerate(smoothed):
        if not math.isfinite(value) or (i > 0 and value > factor * best):
            return i
        best = min(best, value)
    return len(smoothed)


def descent(smoothed: np.ndarray) -> tuple[int, int]:
    """First and last index of the descent (see the module docstring)."""
    lowest = int(np.argmin(smoothed))
    # The starting level: the median of the first tenth, so that one noisy first batch
    # does not set it.
    level = float(np.median(smoothed[: max(1, len(smoothed) // 10)]))
    threshold = level - 0.1 * (level - smoothed[lowest])
    start = int(np.argmax(smoothed[: lowest + 1] <= threshold))
    return (start, lowest) if lowest - start >= 2 else (0, lowest)


def steepest(rates: np.ndarray, smoothed: np.ndarray) -> float:
    start, end = descent(smoothed)
    slopes = np.gradient(smoothed, np.log10(rates))[start: end + 1]
    return float(rates[start + int(np.argmin(slopes))])


def valley(rates: np.ndarray, smoothed: np.ndarray) -> float:
    start, end = descent(smoothed)
    return float(math.sqrt(rates[start] * rates[end]))


def min_over_ten(rates: np.ndarray, smoothed: np.ndarray) -> float:
    return float(rates[int(np.argmin(smoothed))] / 10)


def suggestions(rates: np.ndarray, smoothed: np.ndarray) -> dict[str, float]:
    """Every rule's suggestion for one (already cut) curve."""
    if len(rates) < 3:
        raise ValueError("a range test needs at least 3 steps before it diverges")
    return {"steepest": steepest(rates, smoothed), "valley": valley(rates, smoothed),
            "min/10": min_over_ten(rates, smoothed)}


@dataclass(frozen=True)
class Agreement:
    median: float
    low: float
    high: float

    @property
    def decades(self) -> float:
        return math.log10(self.high / self.low)

    @property
    def seeds_disagree(self) -> bool:
        """True when the seeds' suggestions span more than half a decade."""
        return self.decades > 0.5


def across_seeds(values: Sequence[float]) -> Agreement:
    """The median suggestion (geometric middle for an even count) and its spread."""
    logs = np.log10(np.asarray(values, dtype=float))
    return Agreement(median=float(10 ** np.median(logs)), low=float(min(values)),
                     high=float(max(values)))


def grid_around(rate: float, *, decades: float = 1.5, num: int = 7) -> dict[str, float]:
    """A log-spaced learning_rates range spanning ``decades`` each side of ``rate``."""
    return {"start": float(f"{rate / 10**decades:.3g}"), "stop": float(f"{rate * 10**decades:.3g}"),
            "num": num}


def grid_for(agreement: Agreement, *, decades: float = 1.5) -> tuple[dict[str, float], bool]:
    """The grid to sweep: :func:`grid_around` the median, or, when a seed's suggestion
    falls within half a decade of that grid's edge or beyond it, a grid widened to reach
    half a decade past every seed's suggestion (two rates per decade). Returns the grid and
    whether it was widened."""
    grid = grid_around(agreement.median, decades=decades)
    margin = 10 ** 0.5
    if agreement.low >= grid["start"] * margin and agreement.high <= grid["stop"] / margin:
        return grid, False
    low = min(grid["start"], agreement.low / margin)
    high = max(grid["stop"], agreement.high * margin)
    num = int(math.ceil(2 * math.log10(high / low))) + 1
    return {"start": float(f"{low:.3g}"), "stop": float(f"{high:.3g}"), "num": num}, True
