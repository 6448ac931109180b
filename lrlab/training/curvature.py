"""The sharpness of a loss surface: the largest eigenvalue of its Hessian, from
Hessian-vector products alone (the Hessian itself has parameters² entries). Pure: an
engine supplies the products (:meth:`lrlab.training.engine.Engine.hessian_product`).

On a quadratic, gradient descent at rate ``lr`` converges only while ``lr < 2 / λ_max``:
``2 / λ_max`` is the *stability edge*. For an adaptive method the step is ``lr · P⁻¹ g``
with a diagonal preconditioner ``P`` (RMSprop's and Adam's ``√v + ε``), so the edge is set
by the preconditioned sharpness ``λ_max(P⁻¹ H)`` instead (Cohen et al. 2022). ``P⁻¹ H`` is
similar to the symmetric ``P^-½ H P^-½``, whose largest eigenvalue is found the same way.

The largest eigenvalue comes from SciPy's Lanczos solver (``eigsh``, ARPACK), not power
iteration: a Hessian has negative eigenvalues too, which power iteration would find when
they are larger in size, and Lanczos needs far fewer products for the same accuracy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# Lanczos's relative tolerance on the eigenvalue: far finer than anything a verdict reads
# (an edge is compared with rates a grid spaces by a factor of 1.5 or more).
TOLERANCE = 1e-3
MAX_PRODUCTS = 200  # a bound on the cost of one measurement


@dataclass(frozen=True)
class Sharpness:
    """One measurement: the eigenvalue, the Hessian-vector products it took and the
    seconds they cost (``converged`` False: the bound on products came first, and the value
    is Lanczos's best so far)."""

    value: float
    products: int
    seconds: float
    converged: bool = True

    @property
    def edge(self) -> float:
        """``2 / λ``: the largest rate gradient descent is stable at on this curvature
        (infinite where the surface is flat or curves down)."""
        return 2.0 / self.value if self.value > 0 else math.inf


def largest_eigenvalue(product: Callable[[np.ndarray], np.ndarray], size: int, *,
                       preconditioner: np.ndarray | None = None, seed: int = 0,
                       tolerance: float = TOLERANCE,
                       max_products: int = MAX_PRODUCTS) -> Sharpness:
    """The largest (algebraic) eigenvalue of the symmetric operator ``product`` (a
    Hessian-vector product on flat vectors of ``size``), or of ``P⁻¹ H`` when
    ``preconditioner`` holds ``P``'s diagonal (positive)."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    scale = None if preconditioner is None else 1.0 / np.sqrt(
        np.asarray(preconditioner, dtype=np.float64))
    count = 0

    def matvec(vector: np.ndarray) -> np.ndarray:
        nonlocal count
        count += 1
        vector = np.asarray(vector, dtype=np.float64).reshape(-1)
        if scale is None:
            return np.asarray(product(vector), dtype=np.float64)
        return scale * np.asarray(product(scale * vector), dtype=np.float64)

    started = time.perf_counter()
    operator = LinearOperator((size, size), matvec=matvec, dtype=np.float64)
    start = np.random.default_rng(seed).standard_normal(size)
    if size == 1:  # ARPACK needs at least two dimensions
        value = float(matvec(np.ones(1))[0])
        return Sharpness(value, count, time.perf_counter() - started)
    try:
        values = eigsh(operator, k=1, which="LA", v0=start, tol=tolerance,
                       maxiter=max_products, return_eigenvectors=False)
        value, converged = float(values[0]), True
    except ArpackNoConvergence as exc:
        found = np.asarray(exc.eigenvalues, dtype=float)
        value, converged = (float(found.max()) if found.size else math.nan), False
    return Sharpness(value, count, time.perf_counter() - started, converged)


def sharpness_of(engine: Any, member: int, *, rows: int, max_products: int, seed: int,
                 preconditioner: np.ndarray | None = None) -> Sharpness:
    """The sharpness of ``engine``'s member ``member`` now (an
    :class:`~lrlab.training.engine.Engine`: its Hessian-vector products on the first
    ``rows`` training rows), or its preconditioned sharpness with ``preconditioner``."""

    def product(vector: np.ndarray) -> np.ndarray:
        return engine.hessian_product(member, vector, rows=rows)

    return largest_eigenvalue(product, engine.parameter_count(), preconditioner=preconditioner,
                              seed=seed, max_products=max_products)


def velocity_variables(optimizer: object, model: object) -> list[object]:
    """A Keras optimizer's running mean of squared gradients for each of ``model``'s
    trainable variables, in the model's order ([] for an optimizer without one). Keras
    keeps them in a private list, indexed by its own variable index."""
    velocities = getattr(optimizer, "_velocities", None)
    if not velocities:
        return []
    index = optimizer._get_variable_index  # type: ignore[attr-defined]
    return [velocities[index(v)] for v in model.trainable_variables]  # type: ignore[attr-defined]


def preconditioner_of(optimizer: object, velocities: list[np.ndarray], *,
                      step: int) -> np.ndarray | None:
    """The diagonal ``P`` that ``optimizer`` (a Keras optimizer: its class and settings)
    divides the gradient by after ``step`` steps, flat in the network's variable order,
    from its running mean of squared gradients ``velocities``; None for an optimizer
    without one (SGD), a centered RMSprop, or before the first step (no statistics yet).

    RMSprop steps ``lr · g / √(v + ε)``: ``P = √(v + ε)``. Adam steps
    ``lr · m̂ / (√v̂ + ε')`` with bias-corrected moments: as Keras computes it,
    ``P = (√v + ε) / √(1 − β₂ᵗ)``.
    """
    kind = type(optimizer).__name__.lower()
    if not velocities or step < 1 or kind not in ("rmsprop", "adam"):
        return None
    if getattr(optimizer, "centered", False):
        return None  # its denominator subtracts the mean gradient: not this diagonal
    v = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in velocities])
    epsilon = float(getattr(optimizer, "epsilon", 1e-7))
    if kind == "rmsprop":
        return np.sqrt(v + epsilon)
    beta_2 = float(getattr(optimizer, "beta_2", 0.999))
    return (np.sqrt(v) + epsilon) / math.sqrt(1.0 - beta_2 ** step)


def adaptive_edge(optimizer: object, learning_rate: float) -> float:
    """The preconditioned stability edge at ``learning_rate``: ``2 / lr`` for RMSprop
    without momentum, ``(2 + 2β₁) / ((1 − β₁) · lr)`` for Adam (38 / lr at β₁ = 0.9);
    NaN for an optimizer without a preconditioner (its edge is ``2 / λ_max``)."""
    kind = type(optimizer).__name__.lower()
    if kind == "rmsprop" and not getattr(optimizer, "momentum", 0.0):
        return 2.0 / learning_rate
    if kind == "adam":
        beta_1 = float(getattr(optimizer, "beta_1", 0.9))
        return (2 + 2 * beta_1) / ((1 - beta_1) * learning_rate)
    return math.nan
