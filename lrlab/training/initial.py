"""Each seed's starting values of every variable of a model, whatever its layers: what makes
a sweep a controlled comparison (every trial of a seed starts from the very same arrays)
and the two engines comparable (they start from the same arrays too).

A variable is drawn the way its layer's own initializer would draw it, but with NumPy from
the seed, not with Keras's random streams, which differ between Keras backends: Keras's
variance-scaling family (Glorot, He, LeCun: uniform, normal, truncated normal), random
uniform, normal and truncated normal, zeros, ones and constants. Any other initializer
(orthogonal, identity, one of the user's) is Keras's own, called with a seed derived from
the trial's: reproducible on each engine, but not the same numbers on both; the network's
notes say which variables those are. Random layers (dropout) draw from generators whose
state starts from the trial's seed too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# Streams of NumPy's generator, by the numbers that follow the seed: a weight's is
# (seed, 1009, index), a random layer's (seed, 1013, index); never an epoch's batch order,
# which is drawn from two numbers.
WEIGHTS_STREAM, RANDOM_LAYERS_STREAM = 1009, 1013
# An initializer's attribute names the variable it fills, mostly by its prefix
# (kernel_initializer: kernel); these are the exceptions.
ODD_NAMES = {"recurrent": "recurrent_kernel", "depthwise": "depthwise_kernel",
             "pointwise": "pointwise_kernel"}

Draw = Callable[[int], np.ndarray]


class InitialState:
    """How each variable of ``model`` starts, drawn per seed (see the module)."""

    def __init__(self, keras: Any, model: Any) -> None:
        self._draws: dict[int, Draw] = {}
        self.notes: list[str] = []
        initializers = _initializers_by_variable(model)
        weights = list(model.weights)
        for index, variable in enumerate(weights):
            initializer = initializers.get(id(variable))
            self._draws[id(variable)] = self._plan(keras, variable, initializer, index)
        weight_ids = {id(w) for w in weights}
        extras = [v for v in model.variables if id(v) not in weight_ids]
        for index, variable in enumerate(extras):
            if "seed_generator" in variable.path:
                self._draws[id(variable)] = _seed_state(variable, index)
            else:
                self._draws[id(variable)] = _as_built(variable)
                self.notes.append(f"{variable.path} starts as built (no initializer known)")

    def values(self, seed: int, variables: Sequence[Any]) -> list[np.ndarray]:
        """The starting values of ``variables`` (any of the model's) for ``seed``."""
        return [self._draws[id(v)](seed) for v in variables]

    def _plan(self, keras: Any, variable: Any, initializer: Any, index: int) -> Draw:
        shape, dtype = tuple(int(d) for d in variable.shape), np.dtype(variable.dtype)
        if initializer is None:
            self.notes.append(f"{variable.path} starts as built (no initializer found)")
            return _as_built(variable)
        drawn = _numpy_draw(keras, initializer, shape)
        if drawn is not None:
            return lambda seed: drawn(np.random.default_rng(
                [seed, WEIGHTS_STREAM, index])).astype(dtype)
        self.notes.append(f"{variable.path}: {type(initializer).__name__} is drawn by Keras "
                          f"(seeded, but not the same numbers on both engines)")
        return _keras_draw(keras, initializer, shape, dtype, index)


def _initializers_by_variable(model: Any) -> dict[int, Any]:
    found: dict[int, Any] = {}
    flatten = getattr(model, "_flatten_layers", None)
    layers = list(flatten(include_self=False)) if flatten else list(model.layers)
    for layer in layers:
        own = {id(w) for w in layer.weights}
        for attribute, initializer in vars(layer).items():
            if not attribute.endswith("_initializer") or initializer is None:
                continue
            stem = attribute.removesuffix("_initializer")
            for name in (stem, ODD_NAMES.get(stem)):
                variable = getattr(layer, name, None) if name else None
                if variable is not None and id(variable) in own:
                    found.setdefault(id(variable), initializer)
    return found


def _numpy_draw(keras: Any, initializer: Any, shape: tuple[int, ...]
                ) -> Callable[[np.random.Generator], np.ndarray] | None:
    """The initializer's distribution, drawn with NumPy; None if it is not one lrlab knows."""
    inits = keras.initializers
    if isinstance(initializer, inits.VarianceScaling):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out,
               "fan_avg": (fan_in + fan_out) / 2.0}[initializer.mode]
        variance = initializer.scale / max(1.0, fan)
        if initializer.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return lambda rng: rng.uniform(-limit, limit, shape)
        if initializer.distribution == "truncated_normal":
            # Keras's constant: the standard deviation of a unit normal cut at +-2.
            return _truncated(0.0, math.sqrt(variance) / 0.87962566103423978, shape)
        return lambda rng: rng.normal(0.0, math.sqrt(variance), shape)
    if isinstance(initializer, inits.Zeros):
        return lambda rng: np.zeros(shape)
    if isinstance(initializer, inits.Ones):
        return lambda rng: np.ones(shape)
    if isinstance(initializer, inits.Constant):
        value = float(np.asarray(initializer.value))
        return lambda rng: np.full(shape, value)
    if isinstance(initializer, inits.RandomUniform):
        low, high = float(initializer.minval), float(initializer.maxval)
        return lambda rng: rng.uniform(low, high, shape)
    if isinstance(initializer, inits.TruncatedNormal):
        return _truncated(float(initializer.mean), float(initializer.stddev), shape)
    if isinstance(initializer, inits.RandomNormal):
        mean, stddev = float(initializer.mean), float(initializer.stddev)
        return lambda rng: rng.normal(mean, stddev, shape)
    return None


def _truncated(mean: float, stddev: float, shape: tuple[int, ...]
               ) -> Callable[[np.random.Generator], np.ndarray]:
    """A normal cut at two standard deviations, as Keras's: values beyond are redrawn."""
    def draw(rng: np.random.Generator) -> np.ndarray:
        values = rng.normal(0.0, 1.0, shape)
        outside = np.abs(values) > 2
        while outside.any():
            values[outside] = rng.normal(0.0, 1.0, int(outside.sum()))
            outside = np.abs(values) > 2
        return mean + stddev * values
    return draw


def _fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """Keras's fans: a kernel's inputs and outputs times its receptive field."""
    if not shape:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def _keras_draw(keras: Any, initializer: Any, shape: tuple[int, ...], dtype: np.dtype,
                index: int) -> Draw:
    def draw(seed: int) -> np.ndarray:
        derived = int(np.random.default_rng([seed, WEIGHTS_STREAM, index]).integers(2**31))
        try:
            seeded = type(initializer).from_config({**initializer.get_config(),
                                                    "seed": derived})
        except Exception:  # noqa: BLE001 - an initializer without a seed draws as it will
            seeded = initializer
        return np.asarray(seeded(shape, dtype=str(dtype))).astype(dtype)
    return draw


def _seed_state(variable: Any, index: int) -> Draw:
    dtype = np.dtype(variable.dtype)

    def draw(seed: int) -> np.ndarray:
        start = np.random.default_rng([seed, RANDOM_LAYERS_STREAM, index]).integers(2**31)
        state = np.zeros(tuple(variable.shape), dtype=dtype)
        state.flat[0] = start
        return state
    return draw


def _as_built(variable: Any) -> Draw:
    value = np.array(variable.numpy() if hasattr(variable, "numpy") else variable.value)
    return lambda seed: value.copy()
