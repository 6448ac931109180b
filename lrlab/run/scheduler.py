"""What the runner consults between rounds: which groups train next, and to which epoch.

The runner opens one backend session per experiment and asks its scheduler for rounds
until there are none; between two rounds the scheduler reads what the last one recorded
(through the runner's :class:`Book`) and decides the next. A grid sweep has one round,
every pending trial to its last epoch; a halving sweep (:mod:`lrlab.run.halving`) has one
per rung. The workers, their data and their compiled steps last across the rounds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from lrlab.experiment.config import ExperimentConfig
from lrlab.experiment.trials import Design, Trial
from lrlab.rundir.records import EpochRecord, TrialResult
from lrlab.training import Group


class Planned(Protocol):
    """One experiment as the runner prepared it: its config, trials, the groups still to
    train (none finished), and its data's objective."""

    config: ExperimentConfig
    trials: tuple[Trial, ...]
    groups: tuple[Group, ...]

    @property
    def objective(self) -> Any: ...

    @property
    def has_validation(self) -> bool: ...


class Book(Protocol):
    """What a scheduler may read and change of the run directory, through its one
    writer, the runner."""

    def result(self, trial: Trial) -> tuple[TrialResult | None, list[dict[str, float]]]:
        """The trial's result and history rows as recorded (None: no usable result)."""

    def failed_here(self, trial: Trial) -> bool:
        """Whether the trial failed in this session (it is not tried again until a
        resume)."""

    def prune(self, trial: Trial) -> None:
        """Record a paused trial as dropped at its rung."""

    def checkpoint(self, trial: Trial, *, epoch: int) -> tuple[Any, ...] | None:
        """A paused trial's state after ``epoch`` (None: none usable)."""

    def resumes(self, trial: Trial, history: Sequence[EpochRecord]) -> None:
        """The next round goes on with ``trial`` from these epochs."""

    def read_design(self) -> Design | None:
        """The sampled points as recorded (None: none yet)."""

    def write_design(self, design: Design) -> None: ...

    def plan(self, trials: Sequence[Trial]) -> None:
        """Trials a scheduler added to the experiment (a model-based sampler's next
        point): recorded in the run's order, judged by the experiment's objective."""

    def read_halving(self) -> dict[str, Any] | None: ...

    def write_halving(self, record: dict[str, Any]) -> None: ...


class Scheduler(Protocol):
    def rounds(self, experiment: Planned, book: Book) -> Iterator[Sequence[Group]]:
        """The rounds of ``experiment``, each a list of groups to train; the next is
        asked for once the last has been trained and recorded."""


class GridScheduler:
    """Every pending trial, to its last epoch, in one round."""

    def rounds(self, experiment: Planned, book: Book) -> Iterator[Sequence[Group]]:
        if experiment.groups:
            yield experiment.groups
