"""The gradient noise scale (McCandlish et al. 2018, "An Empirical Model of Large-Batch
Training"): ``B_simple = tr(Σ) / |G|²``, the batch size at which a step's noise (the
per-example gradients' covariance ``Σ``, shrunk by the batch) is as large as the true
gradient ``G``. Pure: an engine supplies the gradients
(:meth:`lrlab.training.engine.Engine.gradient`).

Neither ``|G|²`` nor ``tr(Σ)`` can be measured directly, but a batch of ``B`` examples
has ``E|g_B|² = |G|² + tr(Σ)/B``, so two batch sizes ``B_s < B_b`` give unbiased estimates
of both (their appendix A):

    |G|²  ≈ (B_b·|g_b|² − B_s·|g_s|²) / (B_b − B_s)
    tr(Σ) ≈ (|g_s|² − |g_b|²) / (1/B_s − 1/B_b)

Each large batch here is cut into small ones, so the large batch's gradient is their mean
and every small one counts in ``|g_s|²``; the two estimates are averaged over the large
batches before their ratio is taken (a ratio of noisy means, not a mean of noisy ratios).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NoiseScale:
    """One measurement: ``B_simple`` (NaN where the estimated ``|G|²`` is not positive:
    the noise swamped the signal at these batch sizes), its two estimates, and the seconds
    the gradients took."""

    value: float
    gradient_sq: float
    trace: float
    seconds: float


def sample_rows(n_train: int, *, rows: int, large: int, seed: int) -> np.ndarray:
    """The training rows a measurement reads: ``rows`` of them (fewer on a smaller
    training set: whole large batches only) in an order drawn from ``seed``, so that a
    small batch holds examples from anywhere in a data set that may be sorted."""
    count = min(rows, n_train) // large * large
    if count == 0:
        raise ValueError(f"the gradient noise scale needs at least {large} training rows "
                         f"(training.noise.large); there are {n_train}")
    return np.random.default_rng([seed, 7]).permutation(n_train)[:count].astype(np.int32)


def noise_scale(gradient: Callable[[np.ndarray], np.ndarray], rows: np.ndarray, *,
                small: int, large: int) -> NoiseScale:
    """``B_simple`` from ``gradient`` (the mean loss's gradient, flat, on the training rows
    it is given), on ``rows`` (whole large batches of ``large``, each cut into ``small``)."""
    if large % small or large <= small or len(rows) % large or not len(rows):
        raise ValueError("rows must be whole large batches, each whole small batches")
    started = time.perf_counter()
    signal, noise = [], []
    for batch in np.asarray(rows).reshape(-1, large):
        parts = np.stack([gradient(part) for part in batch.reshape(-1, small)])
        small_sq = float(np.mean(np.sum(parts.astype(np.float64) ** 2, axis=1)))
        large_sq = float(np.sum(parts.astype(np.float64).mean(axis=0) ** 2))
        signal.append((large * large_sq - small * small_sq) / (large - small))
        noise.append((small_sq - large_sq) / (1.0 / small - 1.0 / large))
    gradient_sq, trace = float(np.mean(signal)), float(np.mean(noise))
    value = trace / gradient_sq if gradient_sq > 0 and math.isfinite(trace) else math.nan
    return NoiseScale(value, gradient_sq, trace, time.perf_counter() - started)
