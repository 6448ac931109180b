"""µP, the maximal-update parametrization (Yang et al. 2022, "Tensor Programs V"; the
``mup`` package), for lrlab's built-in dense and convolutional networks: how each weight
is initialised, what the output layer's input is multiplied by, and how much each weight's
learning rate is scaled, as the network's widths grow from a base. Under it the best
learning rate stays put as the network widens, so a rate tuned on a narrow network
transfers. Pure: the rules, as numbers; lrlab.training.model builds them into Keras
layers and the engines apply the rates.

With ``m`` a hidden layer's width over its base width, a weight is *input-like* (its
fan-out grows: the first layer), *hidden* (both fans grow) or *output-like* (its fan-in
grows: the readout); a hidden layer's bias is input-like, the readout's is fixed. As
``mup``'s MuReadout, MuSGD and MuAdam give them:

- initial variance ``1/fan_in`` for input and hidden weights; the readout's ``1/base
  fan-in`` (mup's standard initialisation times ``m``), its input multiplied by
  ``output_multiplier / m``; biases zero;
- SGD: an input-like weight's rate times ``m_out``, an output-like one's times ``m_in``, a
  hidden one's times ``m_out / m_in``;
- Adam and the other entrywise-normalising optimizers: a hidden weight's rate over
  ``m_in``, every other unchanged.

Keras has one rate per optimizer. lrlab scales each weight's *update* instead (the change
the optimizer made, times the weight's factor), which is the same as a rate per weight for
every optimizer whose step is proportional to its rate (SGD with or without momentum,
Adam, RMSprop...), on both engines and in stacks alike. Decoupled weight decay is scaled
with it (mup keeps the product of rate and decay fixed instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# The optimizers whose step divides the gradient entrywise by its own scale (mup's
# "Adam-like": MuAdam's rule), and those whose step is the gradient times the rate
# ("SGD-like": MuSGD's). Others have no µP rule here.
ADAM_LIKE = ("adam", "adamw", "adamax", "nadam", "rmsprop", "adagrad", "lion")
SGD_LIKE = ("sgd",)
FAMILIES = (*SGD_LIKE, *ADAM_LIKE)


@dataclass(frozen=True)
class Weight:
    """One trainable variable of the dense network: its role and its fans' width
    multipliers (1 for the input's and the classes' side)."""

    role: str  # input, hidden, output, hidden_bias, output_bias
    fan_in: int
    m_in: float
    m_out: float


@dataclass(frozen=True)
class MupPlan:
    """Every trainable variable's rules, in the network's order (kernel, bias per layer)."""

    weights: tuple[Weight, ...]
    output_multiplier: float

    def variance(self, index: int) -> float:
        """The initial variance of variable ``index`` (0 for biases)."""
        weight = self.weights[index]
        if weight.role == "output":
            return weight.m_in / weight.fan_in  # 1 / base fan-in
        return 1.0 / weight.fan_in if weight.role in ("input", "hidden") else 0.0

    @property
    def readout_scale(self) -> float:
        """What the readout's input is multiplied by: ``output_multiplier / m``."""
        (output,) = [w for w in self.weights if w.role == "output"]
        return self.output_multiplier / output.m_in

    def rate_factors(self, optimizer: str) -> list[float]:
        """Each variable's learning-rate factor under ``optimizer`` (a Keras name)."""
        name = optimizer.lower()
        if name not in FAMILIES:
            raise ValueError(f"µP has rules for {', '.join(FAMILIES)}; not {optimizer}")
        sgd = name in SGD_LIKE
        found = []
        for w in self.weights:
            if sgd:
                found.append({"input": w.m_out, "hidden_bias": w.m_out, "output": w.m_in,
                              "hidden": w.m_out / w.m_in, "output_bias": 1.0}[w.role])
            else:
                found.append(1.0 / w.m_in if w.role == "hidden" else 1.0)
        return found


def plan(hidden: Sequence[int], base: Sequence[int], *, inputs: int, classes: int,
         output_multiplier: float = 1.0) -> MupPlan:
    """The rules for a dense network of ``hidden`` widths whose base widths are ``base``
    (one per hidden layer), on ``inputs`` features with ``classes`` outputs."""
    if len(base) != len(hidden):
        raise ValueError(f"base widths {list(base)} for {len(hidden)} hidden layers; "
                         f"expected one per layer")
    if not hidden:
        raise ValueError("µP needs at least one hidden layer (a width to grow)")
    multipliers = [h / b for h, b in zip(hidden, base, strict=True)]
    fans = [inputs, *hidden]
    ins = [1.0, *multipliers]
    return plan_layers([(fans[i], ins[i], m) for i, m in enumerate(multipliers)]
                       + [(hidden[-1], multipliers[-1], 1.0)],
                       output_multiplier=output_multiplier)


def conv_plan(filters: Sequence[int], base_filters: Sequence[int], hidden: Sequence[int],
              base_hidden: Sequence[int], *, input_shape: tuple[int, ...], kernel_size: int,
              pool_size: int, output_multiplier: float = 1.0) -> MupPlan:
    """The rules for lrlab's convnet: a convolution's channels are its width (its kernel's
    fan-in is kernel_size² times the channels before it), the flattened features grow with
    the last convolution's channels, then the hidden dense layers and the readout."""
    if len(base_filters) != len(filters) or len(base_hidden) != len(hidden):
        raise ValueError("one base width per convolution and per hidden layer")
    channels = [h / b for h, b in zip(filters, base_filters, strict=True)]
    units = [h / b for h, b in zip(hidden, base_hidden, strict=True)]
    side, before, m_in = min(input_shape[:2]), int(input_shape[2]), 1.0
    layers = []
    for count, m in zip(filters, channels, strict=True):
        layers.append((kernel_size * kernel_size * before, m_in, m))
        side = (side - kernel_size + 1) // pool_size
        before, m_in = count, m
    fan_in = side * side * before  # the flattened features
    for width, m in zip(hidden, units, strict=True):
        layers.append((fan_in, m_in, m))
        fan_in, m_in = width, m
    layers.append((fan_in, m_in, 1.0))
    return plan_layers(layers, output_multiplier=output_multiplier)


def plan_layers(layers: Sequence[tuple[int, float, float]], *,
                output_multiplier: float = 1.0) -> MupPlan:
    """The rules for a chain of weight layers, each a kernel and a bias, given as (fan-in,
    its width multiplier, the fan-out's), the first fed by the data and the last the
    readout."""
    weights: list[Weight] = []
    for index, (fan_in, m_in, m_out) in enumerate(layers):
        last = index == len(layers) - 1
        weights.append(Weight("output" if last else "input" if index == 0 else "hidden",
                              fan_in, m_in, m_out))
        weights.append(Weight("output_bias" if last else "hidden_bias", 1, 1.0, m_out))
    return MupPlan(tuple(weights), output_multiplier)
