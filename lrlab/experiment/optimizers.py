"""Which Keras optimizers lrlab can sweep and what each accepts. Pure data.

The table lets a config be validated without importing TensorFlow;
:func:`lrlab.training.model.build_optimizer` builds the Keras object from it. Defaults are Keras 3's
own, written out so that the resolved ``sweep.yaml`` says exactly what ran.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Kind = Literal["float", "bool"]


@dataclass(frozen=True)
class Hyperparameter:
    """One constructor argument of a Keras optimizer, with the values lrlab accepts.

    ``default=None`` means "Keras's default is off": the key is left out of the
    constructor call (and of the trial's parameters) unless the config sets it.
    """

    name: str
    kind: Kind = "float"
    default: float | bool | None = None
    low: float = -math.inf
    high: float = math.inf
    low_inclusive: bool = True
    high_inclusive: bool = True

    def describe(self) -> str:
        """Human-readable accepted range, for error messages and the config reference."""
        if self.kind == "bool":
            return "true or false"
        lo = "(" if not self.low_inclusive else "["
        hi = ")" if not self.high_inclusive else "]"
        if self.high == math.inf:
            return "a number > 0" if (self.low == 0 and not self.low_inclusive) else (
                f"a number >= {self.low:g}" if self.low > -math.inf else "a number"
            )
        if self.low == -math.inf:
            return f"a number <= {self.high:g}"
        return f"a number in {lo}{self.low:g}, {self.high:g}{hi}"

    def accepts(self, value: float) -> bool:
        above = value >= self.low if self.low_inclusive else value > self.low
        below = value <= self.high if self.high_inclusive else value < self.high
        return above and below


def _unit(name: str, default: float, *, closed: bool = True) -> Hyperparameter:
    """A coefficient in [0, 1] (or [0, 1) when 1 would stop the running average moving)."""
    return Hyperparameter(name, default=default, low=0.0, high=1.0, high_inclusive=closed)


def _positive(name: str, default: float | None) -> Hyperparameter:
    return Hyperparameter(name, default=default, low=0.0, low_inclusive=False)


def _nonnegative(name: str, default: float | None) -> Hyperparameter:
    return Hyperparameter(name, default=default, low=0.0)


def _flag(name: str, default: bool) -> Hyperparameter:
    return Hyperparameter(name, kind="bool", default=default)


# Arguments every Keras optimizer takes; off unless the config sets them.
COMMON: tuple[Hyperparameter, ...] = (
    _nonnegative("weight_decay", None),
    _positive("clipnorm", None),
    _positive("clipvalue", None),
    _positive("global_clipnorm", None),
)

_ADAM_LIKE = (_unit("beta_1", 0.9, closed=False), _unit("beta_2", 0.999, closed=False),
              _positive("epsilon", 1e-7))


@dataclass(frozen=True)
class OptimizerSpec:
    """A Keras optimizer class by its lrlab name, and the hyperparameters it accepts."""

    name: str
    keras_class: str
    hyperparameters: tuple[Hyperparameter, ...]

    @property
    def all_hyperparameters(self) -> tuple[Hyperparameter, ...]:
        own = {h.name for h in self.hyperparameters}
        return self.hyperparameters + tuple(h for h in COMMON if h.name not in own)


OPTIMIZERS: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        OptimizerSpec("sgd", "SGD", (_unit("momentum", 0.0), _flag("nesterov", False))),
        OptimizerSpec("rmsprop", "RMSprop", (
            _unit("rho", 0.9, closed=False), _unit("momentum", 0.0),
            _positive("epsilon", 1e-7), _flag("centered", False))),
        OptimizerSpec("adam", "Adam", _ADAM_LIKE + (_flag("amsgrad", False),)),
        OptimizerSpec("adamw", "AdamW", (_nonnegative("weight_decay", 0.004),)
                      + _ADAM_LIKE + (_flag("amsgrad", False),)),
        OptimizerSpec("adamax", "Adamax", _ADAM_LIKE),
        OptimizerSpec("nadam", "Nadam", _ADAM_LIKE),
        OptimizerSpec("lamb", "Lamb", _ADAM_LIKE),
        OptimizerSpec("lion", "Lion", (_unit("beta_1", 0.9), _unit("beta_2", 0.99, closed=False))),
        OptimizerSpec("adagrad", "Adagrad", (
            _nonnegative("initial_accumulator_value", 0.1), _positive("epsilon", 1e-7))),
        OptimizerSpec("adadelta", "Adadelta", (
            _unit("rho", 0.95, closed=False), _positive("epsilon", 1e-7))),
        OptimizerSpec("ftrl", "Ftrl", (
            Hyperparameter("learning_rate_power", default=-0.5, high=0.0),
            _nonnegative("initial_accumulator_value", 0.1),
            _nonnegative("l1_regularization_strength", 0.0),
            _nonnegative("l2_regularization_strength", 0.0),
            _nonnegative("l2_shrinkage_regularization_strength", 0.0),
            _nonnegative("beta", 0.0))),
        OptimizerSpec("adafactor", "Adafactor", (
            Hyperparameter("beta_2_decay", default=-0.8),
            _positive("epsilon_1", 1e-30), _positive("epsilon_2", 1e-3),
            _positive("clip_threshold", 1.0), _flag("relative_step", True))),
    )
}
