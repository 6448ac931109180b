"""Pictures of a training path on its loss surface, as geometry (pure NumPy): the plane
its trajectory is drawn in, its coordinates there, and the grid the loss is read on.

- The straight line from the initial to the final weights (Goodfellow et al. 2015,
  "Qualitatively characterizing neural network optimization problems"): the loss at
  ``(1 − α)·w₀ + α·w₁``.
- The trajectory on its two principal directions (Li et al. 2018, "Visualizing the Loss
  Landscape of Neural Nets", section 7): the first two principal components of the
  weights along the way minus the final ones, each rescaled *filter by filter* to the
  norms of the final weights' filters (a dense unit's incoming weights, a convolution's
  output channel; biases set to zero), so that a step along an axis means the same for a
  layer of large weights and one of small. The rescaled directions are no longer
  orthonormal, so the path's coordinates are its least-squares projection on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The line's α from before the initial weights to past the final ones: the curve's
# shape on either side shows whether the final weights sit in a valley.
ALPHAS = np.linspace(-0.25, 1.25, 31)


@dataclass(frozen=True)
class Plane:
    """Two directions (flat, filter-normalised), the trajectory's coordinates on them
    (the final weights at the origin), and the share of the path's variance the two
    principal components held before rescaling."""

    first: np.ndarray
    second: np.ndarray
    coordinates: np.ndarray  # (points, 2)
    explained: tuple[float, float]
    # The share of the path's squared distance from the final weights that its projection
    # keeps: 1 when the rescaled directions still span the principal plane, less where
    # filter normalisation turned it (the picture is then that much of the path).
    captured: float = 1.0


def filter_normalised(direction: np.ndarray, reference: np.ndarray,
                      shapes: Sequence[tuple[int, ...]]) -> np.ndarray:
    """``direction`` rescaled so that each filter has the norm of ``reference``'s
    (its weights' layout: ``shapes``, the trainable variables in order); a vector (a
    bias, a normalisation's scale) is set to zero, as Li et al. do."""
    out, position = np.zeros_like(direction, dtype=np.float64), 0
    for shape in shapes:
        size = int(np.prod(shape))
        part = direction[position:position + size].reshape(shape).astype(np.float64)
        if len(shape) >= 2:  # a filter: everything feeding one output unit (the last axis)
            own = part.reshape(-1, shape[-1])
            target = reference[position:position + size].reshape(-1, shape[-1])
            norms = np.linalg.norm(own, axis=0)
            scale = np.linalg.norm(target, axis=0) / np.where(norms > 0, norms, 1.0)
            out[position:position + size] = (own * scale).reshape(-1)
        position += size
    return out


def plane_of(points: np.ndarray, *, shapes: Sequence[tuple[int, ...]]) -> Plane:
    """The plane of a trajectory (``points``: the weights along the way, one row each, the
    final weights last)."""
    final = points[-1].astype(np.float64)
    differences = points.astype(np.float64) - final
    # Principal directions from the thin SVD: points x points, never parameters².
    _, values, rows = np.linalg.svd(differences - differences.mean(axis=0),
                                    full_matrices=False)
    total = float(np.sum(values ** 2)) or 1.0
    directions = [filter_normalised(rows[k], final, shapes) if k < len(rows)
                  else np.zeros_like(final) for k in (0, 1)]
    basis = np.stack(directions, axis=1)
    coordinates, *_ = np.linalg.lstsq(basis, differences.T, rcond=None)
    explained = tuple(float(values[k] ** 2 / total) if k < len(values) else 0.0
                      for k in (0, 1))
    whole = float(np.sum(differences ** 2))
    missed = float(np.sum((differences.T - basis @ coordinates) ** 2))
    captured = 1.0 - missed / whole if whole > 0 else 1.0
    return Plane(directions[0], directions[1], coordinates.T, explained,  # type: ignore[arg-type]
                 captured)


def grid_around(coordinates: np.ndarray, *, size: int, margin: float = 0.25
                ) -> tuple[np.ndarray, np.ndarray]:
    """Each axis's values for the loss grid: the trajectory's range and a margin either
    side (the same span on both axes' larger side is not forced: each fits its path)."""
    axes = []
    for k in (0, 1):
        low, high = float(np.min(coordinates[:, k])), float(np.max(coordinates[:, k]))
        span = max(high - low, 1e-3 * max(abs(low), abs(high), 1.0))
        axes.append(np.linspace(low - margin * span, high + margin * span, size))
    return axes[0], axes[1]
