"""The best rate against the batch size as the gradient noise predicts it (McCandlish et
al. 2018): ``ε(B) = ε_max / (1 + B_noise / B)``, linear in ``B`` well below the noise
scale ``B_noise`` and flat well above it: a third model beside the linear and square-root
rules. Fitted to a sweep's best rates, it gives a ``B_noise``; the trials measured the
noise scale ``B_simple`` directly (``training.noise``): the two should agree. Pure.

The fit is least squares on log(best rate), the seeds' mean at each batch size, over
``log ε_max`` (solved in closed form) and ``B_noise`` (profiled on a fine log grid), and
the interval is the profile's: every ``B_noise`` whose best fit is within an F-test of the
best (95%, 1 and n − 2 degrees of freedom). A fit that does not bend within the batch sizes
tried (a rate that only rises, or never moves) leaves the interval open at that end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# How far beyond the batch sizes tried the profile looks: 100 times either way, a range in
# which the model's curve still bends within the sizes; beyond it the fit says "below" or
# "above".
REACH = 100.0
GRID = 801
CONFIDENCE = 0.95


@dataclass(frozen=True)
class NoiseFit:
    """``ε_max / (1 + B_noise / B)`` fitted to the best rates (``points``: batch size and
    the seeds' geometric mean best rate), ``B_noise``'s 95% interval (``low`` 0 or
    ``high`` infinite: open at that end within the reach), and the noise scale the trials
    measured (the median over the best rates' trials of each's median after its first
    epoch; ``measured_low`` and ``measured_high``: the batch sizes' range of it)."""

    epsilon_max: float
    b_noise: float
    low: float
    high: float
    points: tuple[tuple[float, float], ...]
    measured: float = math.nan
    measured_low: float = math.nan
    measured_high: float = math.nan

    @property
    def agrees(self) -> bool | None:
        """Whether the measured noise scale lies in the fit's interval (None: not
        measured)."""
        if not math.isfinite(self.measured):
            return None
        return self.low <= self.measured <= self.high

    def rate(self, size: float) -> float:
        return self.epsilon_max / (1.0 + self.b_noise / size)


def fit_noise(points: Sequence[tuple[float, float]], *,
              measured: Sequence[float] = ()) -> NoiseFit | None:
    """The fit to ``points`` (batch size, best rate), at least three batch sizes; None
    with fewer. ``measured``: each batch size's measured noise scale (NaN: none)."""
    from scipy.stats import f as f_distribution

    points = sorted((float(b), float(r)) for b, r in points if r > 0 and math.isfinite(r))
    if len(points) < 3:
        return None
    sizes = np.array([b for b, _ in points])
    logs = np.log([r for _, r in points])
    grid = np.geomspace(sizes.min() / REACH, sizes.max() * REACH, GRID)
    # For a fixed B_noise, log ε_max is the mean residual; what is left is its error.
    shape = -np.log1p(grid[:, None] / sizes[None, :])
    residual = logs[None, :] - shape
    centre = residual.mean(axis=1)
    errors = ((residual - centre[:, None]) ** 2).sum(axis=1)
    best = int(np.argmin(errors))
    n = len(points)
    bound = errors[best] * (1 + f_distribution.ppf(CONFIDENCE, 1, n - 2) / (n - 2))
    inside = np.flatnonzero(errors <= bound + 1e-12)
    low = 0.0 if inside[0] == 0 else float(grid[inside[0]])
    high = math.inf if inside[-1] == GRID - 1 else float(grid[inside[-1]])
    found = [m for m in measured if math.isfinite(m)]
    return NoiseFit(float(math.exp(centre[best])), float(grid[best]), low, high,
                    tuple(points),
                    float(np.median(found)) if found else math.nan,
                    min(found) if found else math.nan, max(found) if found else math.nan)
