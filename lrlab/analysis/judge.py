"""The one judge of a trial: which column the verdict reads by default, the epoch a value
is read at, whether the trial learned (beat its baseline by the objective's margin), and
the gravest reason it fails. The sweep calls it when it writes result.json; compare, the
report, adaptive rounds and TensorBoard read what it says, so they cannot disagree. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lrlab.analysis.failures import Facts, History, trial_reason
from lrlab.experiment.objective import Objective, base_of, split_of

# What a run directory that recorded no baseline is judged against (lrlab before 0.4):
# the chance level of ten classes for an accuracy, and for a loss its initial value.
UNRECORDED_CHANCE = 0.1


def default_metric(objective: Objective, *, has_validation: bool) -> str:
    """The objective's verdict column, or its test value for a sweep without validation
    (the training value would reward memorising)."""
    if has_validation or not objective.verdict.startswith("val_"):
        return objective.verdict
    return "test_" + base_of(objective.verdict)


def pick(values: Sequence[float] | np.ndarray, *, at: str | int, objective: Objective,
         column: str) -> int | None:
    """The index of the epoch a trial's ``column`` is read at: its best (the earliest on
    ties), its last, or an epoch number; None where there is none."""
    if at == "last":
        return len(values) - 1 if len(values) else None
    if isinstance(at, int):
        return at - 1 if at <= len(values) else None
    return objective.best_of(column, [float(v) for v in values])


def baseline_of(column: str, baseline: Mapping[str, float], *, chance: float | None = None,
                initial_loss: float = math.nan) -> float:
    """A column's baseline: as recorded; else (older runs) the chance level for an
    accuracy and the initial loss for a loss."""
    value = baseline.get(column)
    if value is not None and math.isfinite(value):
        return float(value)
    if base_of(column).endswith("accuracy"):
        return UNRECORDED_CHANCE if chance is None else chance
    return initial_loss if base_of(column) == "loss" else math.nan


def learns(objective: Objective, column: str, value: float, baseline: float, *,
           recorded: bool = True) -> bool:
    """Whether ``value`` shows learning: beyond the baseline by the objective's margin.
    A loss judged against its initial value (no baseline recorded) need only be below it."""
    if not recorded and base_of(column) == "loss":
        return math.isfinite(value) and value < baseline
    return objective.beats(column, value, baseline)


@dataclass(frozen=True)
class Judgement:
    """What the judge says of one trial: the column and epoch its value is read at, the
    value, its baseline, whether it stalled, and its gravest reason (with the facts)."""

    column: str
    value: float
    epoch: int | None
    baseline: float
    stalled: bool
    reason: tuple[str, Facts] | None


def judge_trial(history: History, *, status: str, test: Mapping[str, float],
                baseline: Mapping[str, float], objective: Objective, has_validation: bool,
                column: str | None = None, at: str | int = "best",
                diverged_epoch: float = math.nan, initial_loss: float = math.nan,
                dead_units: float = math.nan, chance: float | None = None) -> Judgement:
    """Judge one trial from its per-epoch ``history`` (columns of values), its ``test``
    values (by metric: loss, accuracy...) and the ``baseline`` of each column."""
    column = column or default_metric(objective, has_validation=has_validation)
    if split_of(column) == "test":
        value = float(test.get(base_of(column), math.nan))
        epoch = len(history.get("loss", ())) or None
    else:
        values = np.asarray(history.get(column, ()), dtype=float)
        index = pick(values, at=at, objective=objective, column=column)
        value = float(values[index]) if index is not None else math.nan
        epoch = None if index is None else index + 1
    recorded = column in baseline
    floor = baseline_of(column, baseline, chance=chance, initial_loss=initial_loss)
    stalled = status in ("completed", "stopped") and not learns(
        objective, column, value, floor, recorded=recorded)
    reason = trial_reason(history, status=status, diverged_epoch=diverged_epoch,
                          initial_loss=initial_loss, stalled=stalled, dead_units=dead_units)
    return Judgement(column, value, epoch, floor, stalled, reason)
