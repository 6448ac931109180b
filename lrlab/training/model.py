"""The Keras objects a trial trains: the classic MNIST dense network (its hidden layers
configurable), its seeded initial weights, and its optimizer."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrlab.experiment.config import ModelConfig
from lrlab.experiment.optimizers import OPTIMIZERS
from lrlab.rundir.records import CLASSES
from lrlab.training._keras import import_keras

INPUT_DIM = 784
WEIGHTS_STREAM = 1009


def build_model(config: ModelConfig) -> Any:
    """``Dense(h, activation)`` for each ``h`` in ``hidden``, then ``Dense(10)`` and softmax.

    Images arrive flattened to 784 values, so the classic example's ``Flatten`` layer is
    done once in the data instead of on every batch.
    """
    keras = import_keras()
    layers = [keras.Input((INPUT_DIM,))]
    layers += [keras.layers.Dense(units, activation=config.activation) for units in config.hidden]
    # The softmax is a layer of its own (the same arithmetic as Dense's activation) so that
    # the logits have a name: see logits_model.
    layers += [keras.layers.Dense(CLASSES), keras.layers.Activation("softmax")]
    return keras.Sequential(layers, name="lrlab_dense")


def logits_model(model: Any) -> Any:
    """``model`` without its softmax: the same variables, in the same order.

    Keras on TensorFlow computes the cross-entropy of a softmax output from the logits it
    remembers on the tensor (exact, with a gradient however wrong the prediction); on JAX
    it cannot, and clips the probabilities to [1e-7, 1 - 1e-7] instead, which flattens the
    loss of confidently wrong predictions and zeroes their gradient. The JAX engine
    therefore takes the loss from these logits, as TensorFlow does.
    """
    keras = import_keras()
    logits = keras.Model(model.inputs, model.layers[-2].output, name="lrlab_logits")
    if [id(v) for v in logits.trainable_variables] != [id(v) for v in model.trainable_variables]:
        raise RuntimeError("the logits model does not share the model's variables in order")
    return logits


def initial_weights(model: Any, *, seed: int) -> list[np.ndarray]:
    """Glorot-uniform kernels and zero biases (Keras's Dense defaults), drawn from ``seed``.

    Every trial of a seed starts from these exact arrays; that is what makes the sweep a
    controlled comparison of optimizers and learning rates. They are drawn with NumPy, not
    Keras's initializers, whose random streams differ between Keras backends: the same
    seed starts from the same weights on every engine.
    """
    weights = []
    for index, variable in enumerate(model.weights):
        shape = tuple(variable.shape)
        if len(shape) == 2:
            fan_in, fan_out = shape
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            # One distinct, reproducible stream per layer and seed (three numbers: never
            # the stream of an epoch's batch order, which is drawn from two).
            rng = np.random.default_rng([seed, WEIGHTS_STREAM, index])
            weights.append(rng.uniform(-limit, limit, shape).astype(np.float32))
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
