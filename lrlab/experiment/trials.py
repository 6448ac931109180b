"""Sweep expansion: a config becomes an ordered list of trials. Pure; no TensorFlow."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from lrlab.errors import ConfigError
from lrlab.experiment.config import ExperimentConfig, LogSpace, ScheduleConfig

# The most trials a sweep runs without being asked: far more than a study needs (a grid of
# 20 rates x 5 optimizers x 10 seeds is 1,000), and what a typo such as `num: 100000`
# would otherwise start without a word.
MAX_TRIALS = 10_000


@dataclass(frozen=True)
class OptimizerSetting:
    """An optimizer with every setting but its learning rate: the trials that share one
    differ only in rate and seed, and an engine compiles one training step for all of them
    (rho, momentum and the schedule's shape are constants inside Keras's update step; the
    rate is a variable)."""

    optimizer: str
    hyperparameters: tuple[tuple[str, Any], ...] = ()  # sorted (name, value) pairs
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)

    @classmethod
    def of(cls, optimizer: str, hyperparameters: dict[str, Any],
           schedule: ScheduleConfig | None = None) -> OptimizerSetting:
        return cls(optimizer, tuple(sorted(hyperparameters.items())),
                   schedule or ScheduleConfig())

    @property
    def key(self) -> str:
        """A readable, stable string naming the setting (schedulers group trials by it)."""
        return repr((self.optimizer, list(self.hyperparameters), self.schedule.label()))


@dataclass(frozen=True)
class Trial:
    """One training run: an optimizer at one learning rate and one hyperparameter setting,
    from the initial weights and data order of one seed."""

    optimizer: str
    learning_rate: float
    seed: int
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    # What else defines the training: the data, the model, the batch size, the epochs...
    # (see experiment_context); empty in run directories written before it was recorded.
    context: tuple[tuple[str, Any], ...] = ()

    @property
    def trial_id(self) -> str:
        """Readable and stable: ``rmsprop-lr1.00e-03-s0-3f9a2c`` (``-cosine`` etc. after the
        rate when the rate is scheduled).

        The hash covers every parameter, so trials that differ only in, say, momentum or
        batch size still get distinct ids; it is the same on every run of the same config.
        """
        digest = hashlib.sha256(
            json.dumps(self.params(), sort_keys=True).encode()).hexdigest()[:6]
        schedule = "" if self.schedule.is_constant else f"-{self.schedule.type}"
        return f"{self.optimizer}-lr{self.learning_rate:.2e}{schedule}-s{self.seed}-{digest}"

    @property
    def setting(self) -> OptimizerSetting:
        return OptimizerSetting.of(self.optimizer, self.hyperparameters, self.schedule)

    def params(self) -> dict[str, Any]:
        """Flat, JSON-able parameters: what ``params.json`` stores and ``results.csv`` shows.

        A constant rate adds no ``schedule`` key, so ids of constant-rate trials are the
        same as before schedules existed.
        """
        params = {"optimizer": self.optimizer, "learning_rate": self.learning_rate,
                  "seed": self.seed, **self.hyperparameters}
        if not self.schedule.is_constant:
            params["schedule"] = self.schedule.label()
        return {**params, **dict(self.context)}


# The settings of the experiment, besides the optimizer's, that every trial records.
CONTEXT_KEYS = ("data", "model", "batch_size", "epochs", "diverge_factor")


def experiment_context(config: ExperimentConfig) -> tuple[tuple[str, Any], ...]:
    """What defines a trial's training besides its optimizer, rate and seed: a trial's
    parameters (and so its id) include it, so that trials of different experiments (the
    same rate at another batch size, on other data, of another model) are never pooled.
    How it is computed (engine, stacking, precision, backend) is not part of it."""
    training = config.training
    values = (config.data.label(), config.model.label(), training.batch_size,
              training.epochs, training.diverge_factor)
    return tuple(zip(CONTEXT_KEYS, values, strict=True))


def count_trials(config: ExperimentConfig) -> int:
    """How many trials :func:`expand_trials` makes, counted without making them."""
    total = 0
    for entry in config.sweep.optimizers:
        rates = entry.learning_rates
        axes = [len(values) for values in entry.hyperparameter_axes().values()]
        total += ((rates.num if isinstance(rates, LogSpace) else len(rates))
                  * len(entry.schedule) * math.prod(axes))
    return total * len(config.sweep.seeds)


def check_size(config: ExperimentConfig, *, max_trials: int = MAX_TRIALS) -> None:
    """A ConfigError when the sweep has more than ``max_trials`` trials, saying how many
    and where they come from."""
    trials = count_trials(config)
    if trials <= max_trials:
        return
    parts = []
    for entry in config.sweep.optimizers:
        rates = entry.learning_rates
        sizes = [rates.num if isinstance(rates, LogSpace) else len(rates), len(entry.schedule),
                 *(len(v) for v in entry.hyperparameter_axes().values())]
        parts.append(f"{entry.name} {' x '.join(f'{n:,}' for n in sizes if n > 1) or '1'}")
    raise ConfigError(f"the sweep has {trials:,} trials (({' + '.join(parts)}) x "
                      f"{len(config.sweep.seeds):,} seed(s)); lrlab runs at most "
                      f"{max_trials:,} unless told: shrink the grid, or raise the limit with "
                      f"`max_trials`", mentions=["max_trials"])


def expand_trials(config: ExperimentConfig, *, legacy: bool = False) -> list[Trial]:
    """Every trial of a sweep, in a stable order.

    The order is optimizer (as listed) x learning rate (as listed) x schedule x the other
    hyperparameters (product, in their declared order) x seed. ``legacy`` leaves out the
    experiment's context, as run directories written before it was recorded have it, so
    that they resume and read with their own trial ids.
    """
    context = () if legacy else experiment_context(config)
    trials = []
    for entry in config.sweep.optimizers:
        axes = entry.hyperparameter_axes()
        for lr in entry.rates():
            for schedule in entry.schedule:
                for values in itertools.product(*axes.values()):
                    for seed in config.sweep.seeds:
                        trials.append(Trial(
                            optimizer=entry.name, learning_rate=lr, seed=seed,
                            hyperparameters=dict(zip(axes, values, strict=True)),
                            schedule=schedule, context=context))
    return trials
