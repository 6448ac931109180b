"""The Keras objects a trial trains: the network (built-in dense or convolutional, or a
user's factory), its logits, its seeded initial state, and its optimizer."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrlab.errors import UserCodeError
from lrlab.experiment.config import ModelConfig
from lrlab.experiment.mup import MupPlan, conv_plan
from lrlab.experiment.mup import plan as mup_plan
from lrlab.experiment.objective import HEAD_OF
from lrlab.experiment.optimizers import OPTIMIZERS
from lrlab.formatting import first_line
from lrlab.training._keras import import_keras
from lrlab.training.initial import InitialState
from lrlab.training.user_code import UserFunction, load_function


@dataclass
class Network:
    """A model ready to train: ``logits`` shares the model's variables and ends before any
    softmax (both engines take the loss from it, see :func:`logits_of`); ``initial``
    draws each seed's starting values of every variable."""

    model: Any
    logits: Any
    initial: InitialState
    # The activation the logits are read through (softmax, sigmoid, linear): the model's
    # own last one, taken off so that losses are computed from the logits.
    head: str = "softmax"
    factory: UserFunction | None = None
    notes: list[str] = field(default_factory=list)
    # What the user should be told once, before the trials start (a compile() ignored).
    warnings: list[str] = field(default_factory=list)
    # The outputs of the hidden ReLU layers, sharing the model's variables (None: it has
    # none, or is not a graph of layers): where dead units are counted.
    relu_outputs: Any = None
    # µP's rules (model.parametrization: mup; None: the standard parametrization).
    mup: MupPlan | None = None

    def update_factors(self, optimizer: str) -> list[float] | None:
        """Each trainable variable's learning-rate factor under ``optimizer``, applied to
        its updates by the engines (lrlab.experiment.mup); None: every factor is 1."""
        if self.mup is None:
            return None
        factors = self.mup.rate_factors(optimizer)
        return None if all(f == 1.0 for f in factors) else factors

    def describe(self) -> dict[str, Any]:
        """What environment.json records of the network: its layers and parameters."""
        model = self.model
        # Classes and shapes, not layer names: Keras numbers those per process (dense,
        # dense_1, ...), and the record must not depend on what else the process built.
        layers = [{"class": type(layer).__name__, "output_shape": _output_shape(layer),
                   "params": int(sum(np.prod(w.shape) for w in layer.weights))}
                  for layer in model.layers]
        described: dict[str, Any] = {
            "name": model.name, "layers": layers,
            "params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
            "non_trainable_params": int(sum(np.prod(w.shape)
                                            for w in model.non_trainable_weights))}
        if self.factory is not None:
            described["factory"] = self.factory.provenance()
        if self.notes or self.initial.notes:
            described["notes"] = [*self.notes, *self.initial.notes]
        if self.warnings:
            described["warnings"] = list(self.warnings)
        return described


def _output_shape(layer: Any) -> list[int | None] | None:
    try:
        return [None if d is None else int(d) for d in layer.output.shape]
    except (AttributeError, ValueError):  # a layer of a subclassed model
        return None


def build_network(config: ModelConfig, *, input_shape: tuple[int, ...], classes: int,
                  labels: str = "integer") -> Network:
    """The configured network for inputs of ``input_shape``, with ``classes`` outputs (K
    classes, 1 binary label, D targets) and the head ``labels`` take."""
    keras = import_keras()
    head = HEAD_OF[labels]
    factory, plan = None, None
    if config.kind == "factory":
        assert config.factory is not None  # the schema requires it
        factory = load_function(config.factory, key="model.factory")
        model = _from_factory(keras, factory, config, input_shape, classes, labels)
        plan = _factory_mup(model, config)
    elif config.kind == "conv":
        plan = (conv_plan(config.filters, config.base_of_filters(), config.hidden,
                          config.base(), input_shape=input_shape,
                          kernel_size=config.kernel_size, pool_size=config.pool_size,
                          output_multiplier=config.output_multiplier)
                if config.parametrization == "mup" else None)
        model = _convolutional(keras, config, input_shape, classes, head, plan)
    else:
        plan = (mup_plan(config.hidden, config.base(), inputs=int(np.prod(input_shape)),
                         classes=classes, output_multiplier=config.output_multiplier)
                if config.parametrization == "mup" else None)
        model = _dense(keras, config, input_shape, classes, head, plan)
    if head == "linear":  # regression: the model's output is the prediction, as it is
        logits, notes, found = model, [], "linear"
    else:
        logits, notes, found = logits_of(keras, model, input_shape, factory)
    if found not in (head, "linear"):
        raise UserCodeError(f"model.factory: {config.factory}: its model ends in a {found}, "
                            f"but {labels.replace('_', '-')} labels take a {head} head; end "
                            f"it in a {head} or in logits (no activation)")
    warnings = [] if factory is None or not getattr(model, "compiled", False) else [
        f"model.factory: {config.factory} returned a compiled model; its compile() is "
        f"ignored: each trial trains with its own optimizer and rate, on lrlab's loss (the "
        f"cross-entropy of the logits)"]
    return Network(model, logits, InitialState(keras, model), head, factory, notes,
                   warnings, relu_outputs_of(keras, model), plan)


def relu_outputs_of(keras: Any, model: Any) -> Any:
    """A model giving the outputs of ``model``'s hidden ReLU layers (a layer with a relu
    activation, a ReLU layer), or None: a unit whose output is zero on every input gets
    no gradient, so no rate can revive it (a 'dead' unit)."""
    if getattr(model, "inputs", None) is None:
        return None
    relu = keras.activations.relu
    hidden = [layer for layer in model.layers[:-1]
              if getattr(layer, "activation", None) is relu
              or isinstance(layer, keras.layers.ReLU)]
    if not hidden:
        return None
    return keras.Model(model.inputs, [layer.output for layer in hidden], name="lrlab_relu")


def mean_abs_outputs(network: Network, flat: np.ndarray, x: np.ndarray) -> dict[str, float]:
    """Each Dense layer's mean |output| on ``x`` (the last one's: the logits) at the flat
    trainable weights ``flat`` (an engine's), which the network's model takes on: µP's
    coordinate check (lrlab.run.coord_check)."""
    keras = import_keras()
    model = network.model
    position = 0
    for variable in model.trainable_variables:
        size = int(np.prod(variable.shape))
        variable.assign(flat[position:position + size].reshape(tuple(variable.shape)))
        position += size
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    probe = keras.Model(model.inputs[0], [layer.output for layer in dense])
    outputs = probe(x, training=False)
    names = [f"hidden {i + 1}" for i in range(len(dense) - 1)] + ["output"]
    return {name: float(np.mean(np.abs(np.asarray(out))))
            for name, out in zip(names, outputs, strict=True)}


def ever_active(chunks: Iterable[list[np.ndarray]]) -> list[np.ndarray]:
    """Per ReLU layer, whether each unit was above zero in any chunk of examples, from
    each chunk's own per-layer answer."""
    alive: list[np.ndarray] = []
    for ever in chunks:
        alive = ever if not alive else [a | e for a, e in zip(alive, ever, strict=True)]
    return alive


def dead_share(alive: list[np.ndarray]) -> float:
    """The share of units never active, from each ReLU layer's per-unit 'ever above zero'
    (over examples and, for convolutions, positions)."""
    total = sum(a.size for a in alive)
    return float(1 - sum(int(a.sum()) for a in alive) / total) if total else math.nan


def _dense(keras: Any, config: ModelConfig, input_shape: tuple[int, ...], classes: int,
           head: str = "softmax", plan: MupPlan | None = None) -> Any:
    """The classic network: ``Flatten``, ``Dense(h, activation)`` (and ``Dropout``) for
    each ``h`` in ``hidden``, then ``Dense(classes)`` and the head (softmax for classes).
    Under µP (``plan``) each kernel starts at µP's variance and the readout's input is
    scaled by ``output_multiplier / m`` (a Rescaling layer before it)."""
    layers = [keras.Input(input_shape), keras.layers.Flatten()]
    layers += _hidden(keras, config, config.dropout_rates(), plan)
    if plan is not None:
        layers.append(keras.layers.Rescaling(plan.readout_scale))
    # The softmax is a layer of its own (the same arithmetic as Dense's activation) so that
    # the logits have a name: see logits_of.
    layers += [keras.layers.Dense(classes, **_mup_init(keras, plan, len(config.hidden))),
               keras.layers.Activation(head)]
    return keras.Sequential(layers, name="lrlab_dense")


def _mup_init(keras: Any, plan: MupPlan | None, layer: int) -> dict[str, Any]:
    """A Dense or Conv2D layer's initializer arguments for µP's weight layer ``layer`` (its
    kernel: variable 2·layer); {} for Keras's defaults."""
    if plan is None:
        return {}
    variance = plan.variance(2 * layer)
    fan_in = plan.weights[2 * layer].fan_in
    return {"kernel_initializer": keras.initializers.VarianceScaling(
        scale=variance * fan_in, mode="fan_in", distribution="untruncated_normal"),
        "bias_initializer": "zeros"}


def _convolutional(keras: Any, config: ModelConfig, input_shape: tuple[int, ...],
                   classes: int, head: str = "softmax", plan: MupPlan | None = None) -> Any:
    """Keras's simple MNIST convnet, its sizes configurable: per entry of ``filters`` a
    ``Conv2D(f, kernel_size, activation)`` and ``MaxPooling2D(pool_size)``; then
    ``Flatten``, ``Dropout``, the ``hidden`` dense layers, and ``Dense(classes)``."""
    check_convolutional(config, input_shape)
    layers: list[Any] = [keras.Input(input_shape)]
    for index, filters in enumerate(config.filters):
        layers += [keras.layers.Conv2D(filters, config.kernel_size,
                                       activation=config.activation,
                                       **_mup_init(keras, plan, index)),
                   keras.layers.MaxPooling2D(config.pool_size)]
    rates = config.dropout_rates()
    layers.append(keras.layers.Flatten())
    if rates[0]:
        layers.append(keras.layers.Dropout(rates[0]))
    convolutions = len(config.filters)
    layers += _hidden(keras, config, rates[1:], plan, first=convolutions)
    if plan is not None:
        layers.append(keras.layers.Rescaling(plan.readout_scale))
    layers += [keras.layers.Dense(classes, **_mup_init(keras, plan,
                                                        convolutions + len(config.hidden))),
               keras.layers.Activation(head)]
    return keras.Sequential(layers, name="lrlab_conv")


def check_convolutional(config: ModelConfig, input_shape: tuple[int, ...]) -> None:
    """The built-in convnet fits the data: images, large enough for its blocks."""
    if len(input_shape) != 3:
        raise UserCodeError(f"model.kind: conv needs images (N, H, W) or (N, H, W, C); the "
                            f"data's rows have shape {input_shape}")
    size = min(input_shape[:2])
    for _ in config.filters:
        size = (size - config.kernel_size + 1) // config.pool_size
        if size < 1:
            raise UserCodeError(f"model.filters: {len(config.filters)} blocks of "
                                f"{config.kernel_size}x{config.kernel_size} convolution and "
                                f"{config.pool_size}x{config.pool_size} pooling shrink "
                                f"{input_shape[0]}x{input_shape[1]} images to nothing; "
                                f"expected fewer filters or a smaller kernel_size/pool_size")


def _hidden(keras: Any, config: ModelConfig, dropout: list[float],
            plan: MupPlan | None = None, *, first: int = 0) -> list[Any]:
    """The hidden Dense layers (and their dropout); under µP, weight layers ``first`` on."""
    layers = []
    for index, (units, rate) in enumerate(zip(config.hidden, dropout, strict=True)):
        layers.append(keras.layers.Dense(units, activation=config.activation,
                                         **_mup_init(keras, plan, first + index)))
        if rate:
            layers.append(keras.layers.Dropout(rate))
    return layers


def _factory_mup(model: Any, config: ModelConfig) -> MupPlan | None:
    """A factory's own µP: the MupPlan it set on its model as ``lrlab_mup`` (its
    initialisation and readout multiplier are the factory's to build; lrlab applies the
    per-layer rates), one rule per trainable variable."""
    found = getattr(model, "lrlab_mup", None)
    if found is None:
        return None
    if not isinstance(found, MupPlan) or len(found.weights) != len(model.trainable_variables):
        raise UserCodeError(f"model.factory: {config.factory}: its model's lrlab_mup must be "
                            f"lrlab.experiment.mup.plan(...) of its own shape, one rule per "
                            f"trainable variable ({len(model.trainable_variables)})")
    return found


def _from_factory(keras: Any, factory: UserFunction, config: ModelConfig,
                  input_shape: tuple[int, ...], classes: int, labels: str = "integer") -> Any:
    """The user's model, checked: a Keras model, built, with ``classes`` outputs."""
    model = factory.call(input_shape=input_shape, classes=classes, **config.args)
    where = f"model.factory: {config.factory}"
    if not isinstance(model, keras.Model):
        raise UserCodeError(f"{where} returned {type(model).__name__}; expected an "
                            f"uncompiled keras.Model")
    try:
        # A forward pass on one zero example: subclassed models need not know their shapes.
        out = tuple(model(np.zeros((1, *input_shape), np.float32), training=False).shape)
    except Exception as exc:  # noqa: BLE001 - the user's layers may raise anything
        raise UserCodeError(f"{where}: its model cannot take inputs of shape {input_shape} "
                            f"({type(exc).__name__}: {first_line(exc)})") from None
    out = (None, *out[1:])
    if len(out) != 2 or out[-1] != classes:
        raise UserCodeError(f"{where}: its model's output has shape {out}; expected "
                            f"(None, {classes}), {_width_reason(labels, classes, out)}")
    if not model.trainable_weights:
        raise UserCodeError(f"{where}: its model has no trainable weights")
    return model


def _width_reason(labels: str, classes: int, out: tuple[Any, ...]) -> str:
    """Why the labels need ``classes`` outputs, and the fix where the labels are the
    likely mistake."""
    if labels == "integer" and len(out) == 2 and out[-1] == 1 and classes == 2:
        return ("one unit per class; for one sigmoid unit on 0/1 labels, set "
                "objective.loss: binary_crossentropy")
    return {"integer": "one unit per class", "one_hot": "one unit per one-hot column",
            "binary": "one sigmoid unit for a binary label",
            "multi_label": "one sigmoid unit per label",
            "regression": "one unit per target column"}[labels]


def logits_of(keras: Any, model: Any, input_shape: tuple[int, ...],
              factory: UserFunction | None) -> tuple[Any, list[str], str]:
    """``model`` without its final softmax or sigmoid: the same variables, in the same
    order; a note of what was done; and the activation taken off (linear: none).

    Keras on TensorFlow computes the cross-entropy of a softmax output from the logits it
    remembers on the tensor (exact, with a gradient however wrong the prediction); on JAX
    it cannot, and clips the probabilities to [1e-7, 1 - 1e-7] instead, which flattens the
    loss of confidently wrong predictions and zeroes their gradient. Both engines
    therefore take the loss from the logits: the input of a final softmax layer, or the
    output of a last layer whose softmax activation is turned off (the model is lrlab's
    own copy, built for this sweep); a model that ends in neither gives logits already.
    """
    last = model.layers[-1] if model.layers else None
    graph = getattr(model, "inputs", None) is not None
    layer_head = _head_layer(keras, last)
    if graph and layer_head:
        logits = keras.Model(model.inputs, last.input, name="lrlab_logits")
        if [id(v) for v in logits.trainable_variables] != [
                id(v) for v in model.trainable_variables]:
            raise UserCodeError(f"model.factory: its {layer_head} layer is not the last step "
                                f"of the model; end it in logits or in a {layer_head}")
        return logits, [], layer_head
    heads = {"softmax": keras.activations.softmax, "sigmoid": keras.activations.sigmoid}
    activation = getattr(last, "activation", None)
    own = next((name for name, f in heads.items() if activation is f), None)
    if graph and own:
        last.activation = keras.activations.linear
        return model, [f"the {own} activation of {last.name} is left out: the loss is "
                       f"taken from its logits"], own
    if factory is not None and _looks_like_probabilities(model, input_shape):
        raise UserCodeError(f"model.factory: {factory.reference}: its model seems to end in "
                            f"a softmax that lrlab cannot take the logits from; end it in "
                            f"logits (no activation), a Softmax layer, or a Dense layer "
                            f"with activation='softmax'")
    return model, [], "linear"


def _head_layer(keras: Any, layer: Any) -> str | None:
    """``softmax`` or ``sigmoid`` where ``layer`` is a layer of only that activation."""
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    if isinstance(layer, keras.layers.Activation):
        for name in ("softmax", "sigmoid"):
            if layer.activation is getattr(keras.activations, name):
                return name
    return None


def _looks_like_probabilities(model: Any, input_shape: tuple[int, ...]) -> bool:
    probe = np.random.default_rng(0).normal(size=(4, *input_shape)).astype(np.float32)
    out = np.asarray(model(probe, training=False))
    return bool((out >= 0).all() and np.allclose(out.sum(axis=-1), 1.0, atol=1e-4))


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


def activation_values(model: Any) -> int:
    """How many values one example's forward pass produces, layer by layer (what a batch's
    activations cost in memory); the parameter count where layers' shapes are unknown."""
    total = 0
    for layer in model.layers:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            return int(sum(np.prod(w.shape) for w in model.trainable_weights))
        total += int(np.prod([d for d in shape[1:] if d is not None]))
    return total
