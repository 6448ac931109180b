"""The Keras objects a trial trains: the classic MNIST dense network (its hidden layers
configurable), its seeded initial weights, and its optimizer."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrlab._tf import import_keras
from lrlab.config import ModelConfig
from lrlab.optimizers import OPTIMIZERS
from lrlab.records import CLASSES

INPUT_DIM = 784


def build_model(config: ModelConfig) -> Any:
    """``Dense(h, activation)`` for each ``h`` in ``hidden``, then ``Dense(10, softmax)``.

    Images arrive flattened to 784 values, so the classic example's ``Flatten`` layer is
    done once in the data instead of on every batch.
    """
    keras = import_keras()
    layers = [keras.Input((INPUT_DIM,))]
    layers += [keras.layers.Dense(units, activation=config.activation) for units in config.hidden]
    layers.append(keras.layers.Dense(CLASSES, activation="softmax"))
    return keras.Sequential(layers, name="lrlab_dense")


def initial_weights(model: Any, *, seed: int) -> list[np.ndarray]:
    """Glorot-uniform kernels and zero biases (Keras's Dense defaults), drawn from ``seed``.

    Every trial of a seed starts from these exact arrays; that is what makes the sweep a
    controlled comparison of optimizers and learning rates.
    """
    keras = import_keras()
    weights = []
    for index, variable in enumerate(model.weights):
        shape = tuple(variable.shape)
        if len(shape) == 2:
            # One distinct, reproducible stream per layer and seed.
            init = keras.initializers.GlorotUniform(seed=seed * 1009 + index)
            weights.append(np.asarray(init(shape), dtype=np.float32))
        else:
            weights.append(np.zeros(shape, dtype=np.float32))
    return weights


def build_optimizer(name: str, *, learning_rate: Any, hyperparameters: dict[str, Any]) -> Any:
    """Return a new ``keras.optimizers`` instance for a validated trial.

    ``learning_rate`` is a number or a ``LearningRateSchedule``. Values are cast to the
    Python type Keras expects (``momentum: 0`` in YAML is an int, which Keras's SGD rejects).
    """
    keras = import_keras()
    spec = OPTIMIZERS[name]
    kinds = {h.name: h.kind for h in spec.all_hyperparameters}
    kwargs = {
        key: (bool(value) if kinds[key] == "bool" else float(value))
        for key, value in hyperparameters.items()
        if value is not None
    }
    cls = getattr(keras.optimizers, spec.keras_class)
    rate = float(learning_rate) if isinstance(learning_rate, (int, float)) else learning_rate
    return cls(learning_rate=rate, **kwargs)
