"""Sweep expansion: a config becomes an ordered list of trials. Pure; no TensorFlow."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from lrlab.errors import ConfigError
from lrlab.experiment.config import ExperimentConfig, LogSpace, ScheduleConfig
from lrlab.experiment.space import draw_units, shown
from lrlab.formatting import plural

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


@dataclass(frozen=True)
class Design:
    """The sampled coordinates of a sweep: row i is point i, one column per sampled
    setting (``dimensions``), each in [0, 1). A run directory keeps its design, so that a
    resumed sweep trains the very points it began with, whatever SciPy draws now."""

    sampler: str
    seed: int
    dimensions: tuple[str, ...]
    units: tuple[tuple[float, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"sampler": self.sampler, "seed": self.seed,
                "dimensions": list(self.dimensions), "units": [list(u) for u in self.units]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Design:
        """A design as :meth:`to_dict` wrote it; ValueError if it is not one."""
        try:
            design = cls(str(data["sampler"]), int(data["seed"]),
                         tuple(str(d) for d in data["dimensions"]),
                         tuple(tuple(float(x) for x in row) for row in data["units"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"expected sampler, seed, dimensions and units ({exc})") from None
        if any(len(row) != len(design.dimensions) or not all(0 <= x < 1 for x in row)
               for row in design.units):
            raise ValueError("expected one coordinate in [0, 1) per dimension in each row")
        return design

    def unit(self, point: int, dimension: str) -> float:
        return self.units[point][self.dimensions.index(dimension)]


def sampled_dimensions(config: ExperimentConfig) -> tuple[str, ...]:
    """The sampled settings, in design order: the experiment's ranges, then each
    optimizer entry's (its rate first)."""
    return (*(axis.name for axis in config.axes if axis.sampled),
            *(f"sweep.optimizers[{i}].{key}" for i, entry in enumerate(config.sweep.optimizers)
              for key in entry.sampled()))


def draw_design(config: ExperimentConfig, *, recorded: Design | None = None) -> Design:
    """The design of ``config``: its sampler's first ``points`` points. ``recorded`` (a
    run directory's) is kept as it is, and extended by the same sequence when more points
    are asked for; one of another sampler, seed or dimensions is not the same design."""
    sweep, dimensions = config.sweep, sampled_dimensions(config)
    kept = recorded.units if recorded is not None and (
        recorded.sampler, recorded.seed, recorded.dimensions) == (
        sweep.sampler, sweep.sampler_seed, dimensions) else ()
    wanted = config.points if sweep.sampled else 0
    if sweep.model_based:  # drawn as the sweep goes (lrlab.run.sampled): only what is kept
        return Design(sweep.sampler, sweep.sampler_seed, dimensions, tuple(kept[:wanted]))
    if len(kept) >= wanted:
        units = kept[:wanted]
    else:
        drawn = draw_units(sweep.sampler, wanted, len(dimensions), sweep.sampler_seed)
        units = (*kept, *(tuple(float(x) for x in row) for row in drawn[len(kept):]))
    return Design(sweep.sampler, sweep.sampler_seed, dimensions, tuple(units))


@dataclass(frozen=True)
class Experiment:
    """One point of the experiment's space (its data, model and training settings, as a
    config without axes) and the trials that train on it, in sweep order."""

    config: ExperimentConfig
    trials: tuple[Trial, ...]


def count_trials(config: ExperimentConfig) -> int:
    """How many trials :func:`expand_trials` makes, counted without making them."""
    grids = math.prod(len(axis.values) for axis in config.axes if not axis.sampled)
    sampled_experiment = any(axis.sampled for axis in config.axes)
    total = 0
    for entry in config.sweep.optimizers:
        total += _entry_size(entry, config, sampled_experiment=sampled_experiment)
    points = config.points if sampled_experiment else 1
    return total * grids * points * len(config.sweep.seeds)


def _entry_size(entry: Any, config: ExperimentConfig, *, sampled_experiment: bool) -> int:
    return math.prod(_entry_sizes(entry, config, sampled_experiment=sampled_experiment))


def _entry_sizes(entry: Any, config: ExperimentConfig, *,
                 sampled_experiment: bool) -> list[int]:
    """An entry's factors: its points (when only it samples), rates, schedules, and the
    values of each listed hyperparameter."""
    rates = entry.learning_rates
    own_points = config.points if entry.sampled() and not sampled_experiment else 1
    listed = 1 if entry.rate_range else (rates.num if isinstance(rates, LogSpace)
                                         else len(rates))
    return [own_points, listed, len(entry.schedule),
            *(len(v) for v in entry.hyperparameter_axes().values())]


def check_size(config: ExperimentConfig, *, max_trials: int = MAX_TRIALS) -> None:
    """A ConfigError when the sweep has more than ``max_trials`` trials, saying how many
    and where they come from."""
    trials = count_trials(config)
    if trials <= max_trials:
        return
    sampled_experiment = any(axis.sampled for axis in config.axes)
    parts = []
    for entry in config.sweep.optimizers:
        sizes = _entry_sizes(entry, config, sampled_experiment=sampled_experiment)
        parts.append(f"{entry.name} {' x '.join(f'{n:,}' for n in sizes if n > 1) or '1'}")
    axes = [f"{len(a.values):,} {a.name}" for a in config.axes if not a.sampled]
    if sampled_experiment:
        axes.append(f"{config.points:,} points")
    raise ConfigError(f"the sweep has {trials:,} trials (({' + '.join(parts)}) x "
                      f"{''.join(f'{a} x ' for a in axes)}"
                      f"{plural(len(config.sweep.seeds), 'seed')}); lrlab runs at most "
                      f"{max_trials:,} unless told: shrink the grid, or raise the limit with "
                      f"`max_trials`", mentions=["max_trials"])


def plan_experiments(config: ExperimentConfig, *, legacy: bool = False,
                     design: Design | None = None) -> list[Experiment]:
    """The sweep's experiments (points of its data, model and training axes), each with
    its trials, in a stable order.

    The order is the experiment's grid axes (product, section by section) x its sampled
    points; within one, optimizer (as listed) x sampled point x learning rate (as listed)
    x schedule x the other hyperparameters (product, in their declared order) x seed.
    Every seed trains the same points, so verdicts stay paired by seed. ``design`` is the
    sampled points (default: drawn now, see :func:`draw_design`). ``legacy`` leaves out
    the experiment's context, as trial ids of run format 1 do (see
    :mod:`lrlab.rundir.formats`), so that such directories resume and read with their
    own trial ids.
    """
    design = design or draw_design(config)
    grids = [axis for axis in config.axes if not axis.sampled]
    ranges = [axis for axis in config.axes if axis.sampled]
    base = min(_batch_sizes(config))
    experiments: dict[tuple[Any, ...], list[Trial]] = {}
    configs: dict[tuple[Any, ...], ExperimentConfig] = {}
    for values in itertools.product(*(axis.values for axis in grids)):
        for point in (range(len(design.units)) if ranges else [None]):
            chosen = list(zip(grids, values, strict=True))
            if point is not None:
                chosen += [(axis, axis.range.at(design.unit(point, axis.name)))
                           for axis in ranges if axis.range is not None]
            here = config.at({axis.path: axis.setting(v) for axis, v in chosen})
            # The training settings are context columns already.
            columns = tuple((axis.column, shown(axis.setting(v))) for axis, v in chosen
                            if axis.path[0] != "training")
            context = () if legacy else (*experiment_context(here), *columns)
            trials = experiments.setdefault(context, [])
            configs.setdefault(context, here)
            for index, entry in enumerate(config.sweep.optimizers):
                trials.extend(_entry_trials(
                    entry, index, here, design=design, point=point, base=base,
                    context=context, seeds=config.sweep.seeds))
    return [Experiment(configs[key], tuple(trials)) for key, trials in experiments.items()]


def _batch_sizes(config: ExperimentConfig) -> list[int]:
    for axis in config.axes:
        if axis.path == ("training", "batch_size"):
            return [int(axis.range.low)] if axis.range else [int(v) for v in axis.values]
    return [config.training.batch_size]


def _entry_trials(entry: Any, index: int, here: ExperimentConfig, *, design: Design,
                  point: int | None, base: int, context: tuple[tuple[str, Any], ...],
                  seeds: list[int]) -> list[Trial]:
    sampled = entry.sampled()
    points = [point] if point is not None or not sampled else range(len(design.units))
    axes = entry.hyperparameter_axes()
    trials = []
    for at in points:
        drawn = {key: spec.at(design.unit(at, f"sweep.optimizers[{index}].{key}"))
                 for key, spec in sampled.items()} if sampled else {}
        rates = [drawn.pop("learning_rate")] if "learning_rate" in drawn else entry.rates()
        for rate in rates:
            lr = entry.scaled(rate, here.training.batch_size, base)
            for schedule in entry.schedule:
                for values in itertools.product(*axes.values()):
                    hyperparameters = {**dict(zip(axes, values, strict=True)), **drawn}
                    for seed in seeds:
                        trials.append(Trial(
                            optimizer=entry.name, learning_rate=lr, seed=seed,
                            hyperparameters=hyperparameters,
                            schedule=schedule, context=context))
    return trials


def expand_trials(config: ExperimentConfig, *, legacy: bool = False,
                  design: Design | None = None) -> list[Trial]:
    """Every trial of a sweep, in a stable order (see :func:`plan_experiments`)."""
    return [trial for experiment in plan_experiments(config, legacy=legacy, design=design)
            for trial in experiment.trials]


@dataclass(frozen=True)
class Addition:
    """A trial an adaptive sweep added beyond the config's grid: trial ``like`` (of the
    same experiment and optimizer setting) at another rate and seed."""

    like: str
    learning_rate: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"like": self.like, "learning_rate": self.learning_rate, "seed": self.seed}

    @classmethod
    def from_dict(cls, data: Any) -> Addition:
        """An addition as :meth:`to_dict` wrote it; ValueError if it is not one."""
        try:
            addition = cls(str(data["like"]), float(data["learning_rate"]), int(data["seed"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"expected like, learning_rate and seed ({exc})") from None
        if not (math.isfinite(addition.learning_rate) and addition.learning_rate > 0
                and addition.seed >= 0):
            raise ValueError("expected a positive learning_rate and a seed >= 0")
        return addition


def with_additions(experiments: list[Experiment],
                   additions: list[Addition]) -> list[Experiment]:
    """The experiments with each addition appended to the one holding the trial it is
    like (itself possibly an earlier addition), after that experiment's own trials.
    ValueError if an addition is like no trial of the sweep."""
    where = {t.trial_id: (i, t) for i, e in enumerate(experiments) for t in e.trials}
    extra: list[list[Trial]] = [[] for _ in experiments]
    for addition in additions:
        if addition.like not in where:
            raise ValueError(f"an added trial is like {addition.like!r}, which the sweep "
                             f"does not have")
        index, template = where[addition.like]
        trial = dataclasses.replace(template, learning_rate=addition.learning_rate,
                                    seed=addition.seed)
        if trial.trial_id not in where:
            where[trial.trial_id] = (index, trial)
            extra[index].append(trial)
    return [dataclasses.replace(e, trials=(*e.trials, *more))
            for e, more in zip(experiments, extra, strict=True)]
