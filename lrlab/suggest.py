"""Reading an LR range test: smoothing, the divergence cut, and the suggestion rules. Pure.

Each rule turns one loss-against-rate curve into one suggested learning rate. They look at
the *descent*: from the first rate at which the smoothed loss has fallen a tenth of the way
from its starting level (the median of the first tenth of the steps) to its minimum, up to
the minimum (before it, the curve is flat noise; after
it, the loss climbs towards divergence).

- ``valley`` (the default): the geometric middle of the descent, well inside the range
  that learns and away from both of its ends;
- ``steepest``: within the descent, where the smoothed loss falls fastest against
  log10(rate), i.e. where learning is quickest;
- ``min/10``: the rate at the minimum smoothed loss, divided by ten (the classic rule of
  thumb: the minimum itself is already at the edge of instability).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RULES = ("valley", "steepest", "min/10")
DEFAULT_RULE = "valley"


def geometric_rates(start: float, end: float, steps: int) -> np.ndarray:
    """``steps`` rates growing by the same factor each step, from start to end."""
    return np.geomspace(start, end, steps)


def smooth(losses: Sequence[float], beta: float) -> np.ndarray:
    """Exponential moving average with bias correction (so early values are not pulled to 0)."""
    out, average = np.empty(len(losses)), 0.0
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        out[i] = average / (1 - beta ** (i + 1))
    return out


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
    return {"valley": valley(rates, smoothed), "steepest": steepest(rates, smoothed),
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
