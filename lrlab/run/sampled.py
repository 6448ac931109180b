"""The model-based sampler's scheduler: a round per point, each chosen (through Optuna, by
:mod:`lrlab.analysis.sampling`) from the values of the points before it.

A point is trained on every seed, and its optimizer entry's study is told the mean over
the seeds of the verdict's column (at each trial's best epoch, as compare reads it; a
diverged trial counts as its baseline, the constant prediction's value): the noise the
sampler sees is the seeds' mean's, and the verdict at the end is paired by seed as in any
sweep. Each point is recorded in design.json before it trains, so a kill at any moment
resumes its trials, then asks for the next point from the same results.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from lrlab.analysis.sampling import next_point
from lrlab.experiment.config import ExperimentConfig
from lrlab.experiment.objective import base_of
from lrlab.experiment.trials import Design, Trial, plan_experiments, sampled_dimensions
from lrlab.run.scheduler import Book, Planned
from lrlab.rundir.records import TrialResult, TrialStatus
from lrlab.training import Group, plan_groups


class ModelBasedScheduler:
    def __init__(self, config: ExperimentConfig) -> None:
        self.config = config

    def rounds(self, experiment: Planned, book: Book) -> Iterator[Sequence[Group]]:
        config = self.config
        stacking = config.training.stacks
        design = book.read_design() or Design(config.sweep.sampler, config.sweep.sampler_seed,
                                              (), ())
        known = list(experiment.trials)
        pending = [t for t in known if _unsettled(t, book)]
        if pending:  # the recorded points' trials a kill left
            yield plan_groups(pending, done=(), stacking=stacking)
        objective = experiment.objective
        column = (objective.verdict if experiment.has_validation
                  else base_of(objective.verdict))
        while len(design.units) < config.points:
            design = self._next(design, known, book, column=column,
                                maximize=objective.higher_is_better(column))
            book.write_design(design)  # before the point trains: a kill resumes it
            ids = {t.trial_id for t in known}
            (planned,) = plan_experiments(config, design=design)
            added = [t for t in planned.trials if t.trial_id not in ids]
            book.plan(added)
            known += added
            yield plan_groups(added, done=(), stacking=stacking)

    def _next(self, design: Design, known: Sequence[Trial], book: Book, *, column: str,
              maximize: bool) -> Design:
        """``design`` and one more point: each optimizer entry's coordinates asked of its
        own study, from its points' values so far."""
        config = self.config
        dimensions = sampled_dimensions(config)
        row = [0.0] * len(dimensions)
        for index, entry in enumerate(config.sweep.optimizers):
            own = [d for d in dimensions if d.startswith(f"sweep.optimizers[{index}].")]
            if not own:
                continue
            history = []
            for units in design.units:
                trials = _trials_at(known, entry, index, units, dimensions)
                history.append(([units[dimensions.index(d)] for d in own],
                                _seed_mean(trials, book, column)))
            asked = next_point(own, history, sampler=config.sweep.sampler,
                               seed=config.sweep.sampler_seed * 1009 + index,
                               number=len(design.units), maximize=maximize)
            for name, value in zip(own, asked, strict=True):
                row[dimensions.index(name)] = value
        return Design(design.sampler, design.seed, tuple(dimensions),
                      (*design.units, tuple(row)))


def _trials_at(known: Sequence[Trial], entry: Any, index: int, units: Sequence[float],
               dimensions: Sequence[str]) -> list[Trial]:
    """The trials of optimizer entry ``index`` at the point ``units``: the settings it drew
    there, on every seed."""
    drawn = {key: spec.at(units[dimensions.index(f"sweep.optimizers[{index}].{key}")])
             for key, spec in entry.sampled().items()}
    return [t for t in known if t.optimizer == entry.name and all(
        (t.learning_rate if key == "learning_rate" else t.hyperparameters.get(key)) == value
        for key, value in drawn.items())]


def _seed_mean(trials: Sequence[Trial], book: Book, column: str) -> float:
    """The point's value: the mean over its seeds (NaN: none has a result)."""
    values = [_value(result, column) for result, _ in map(book.result, trials)
              if result is not None and result.status.finished]
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _value(result: TrialResult, column: str) -> float:
    """A trial's value at its best epoch; a diverged one's, its baseline."""
    if result.status is TrialStatus.DIVERGED:
        return float(result.baseline.get(column, math.nan))
    return float(result.best.get(column, math.nan))


def _unsettled(trial: Trial, book: Book) -> bool:
    if book.failed_here(trial):
        return False
    result, _ = book.result(trial)
    return result is None or not result.status.settled
