"""Sweep expansion: a config becomes an ordered list of trials. Pure; no TensorFlow."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from lrlab.config import ExperimentConfig


@dataclass(frozen=True)
class Trial:
    """One training run: an optimizer at one learning rate and one hyperparameter setting,
    from the initial weights and data order of one seed."""

    optimizer: str
    learning_rate: float
    seed: int
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def trial_id(self) -> str:
        """Readable and stable: ``rmsprop-lr1.00e-03-s0-3f9a2c``.

        The hash covers every parameter, so trials that differ only in, say, momentum
        still get distinct ids; it is the same on every run of the same config.
        """
        digest = hashlib.sha256(
            json.dumps(self.params(), sort_keys=True).encode()).hexdigest()[:6]
        return f"{self.optimizer}-lr{self.learning_rate:.2e}-s{self.seed}-{digest}"

    def params(self) -> dict[str, Any]:
        """Flat, JSON-able parameters: what ``params.json`` stores and ``results.csv`` shows."""
        return {"optimizer": self.optimizer, "learning_rate": self.learning_rate,
                "seed": self.seed, **self.hyperparameters}


def expand_trials(config: ExperimentConfig) -> list[Trial]:
    """Every trial of a sweep, in a stable order.

    The order is optimizer (as listed) x learning rate (as listed) x the other
    hyperparameters (product, in their declared order) x seed.
    """
    trials = []
    for entry in config.sweep.optimizers:
        axes = entry.hyperparameter_axes()
        for lr in entry.rates():
            for values in itertools.product(*axes.values()):
                for seed in config.sweep.seeds:
                    trials.append(Trial(optimizer=entry.name, learning_rate=lr, seed=seed,
                                        hyperparameters=dict(zip(axes, values, strict=True))))
    return trials
