"""The backend protocol: where a sweep's trials train, and how they report back.

A backend trains trials and reports every event (a trial started, an epoch finished, an
attempt failed and will be retried, a trial finished) to the runner through
:class:`TrialEvents`. Only the runner writes the run directory, so a sweep leaves the same
files whichever backend trained it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from lrlab.engines import engine as engine_spec
from lrlab.errors import LrlabError
from lrlab.experiment.config import ModelConfig, TrainingConfig
from lrlab.experiment.trials import Trial
from lrlab.rundir.records import EpochRecord, TrialOutcome, TrialStatus
from lrlab.training import Group, Trainer, TrialEvent, Work
from lrlab.training.data import Dataset

# How a backend makes its Trainer(s): ``factory(dataset, model=..., training=...)``;
# lrlab.training.make_trainer unless a test passes one that fails on purpose.
TrainerFactory = Callable[..., Trainer]


class BackendError(LrlabError):
    """A backend cannot start or go on: a missing package, an unreachable cluster, too few
    resources for one trial, workers that cannot start."""


class TrialEvents(Protocol):
    """What a backend reports, in order for each trial: started, epochs, then finished;
    ``trial_retrying`` between attempts, after which the trial starts again from scratch.
    The epochs reported make the trial's history: an outcome need not repeat them."""

    def trial_started(self, trial: Trial) -> None: ...

    def epoch_finished(self, trial: Trial, record: EpochRecord) -> None: ...

    def trial_retrying(self, trial: Trial, *, error: str, attempt: int) -> None: ...

    def trial_finished(self, trial: Trial, outcome: TrialOutcome) -> None: ...

    def notice(self, text: str) -> None:
        """Something the user should know that is not about one trial (a lost worker)."""

    def engine_ready(self, description: dict[str, Any]) -> None:
        """A worker built its engine (``Engine.describe()``: name, device, precision); each
        distinct one is reported once."""


class Session(Protocol):
    """A backend ready to train a given list of groups (workers may still be starting)."""

    description: dict[str, Any]  # what environment.json records about the backend
    trains_here: bool  # whether trials train in this process (so its GPUs matter)

    def run(self, events: TrialEvents, groups: Sequence[Group] | Work | None = None) -> None:
        """Train every group's pending trials (``groups``, else the session's own),
        reporting to ``events``; a :class:`~lrlab.training.Work` may grow while it runs,
        and the session takes its groups until none is queued and no worker holds one.
        A session runs as many rounds as its runner asks (a
        halving sweep's rungs), its workers and their compiled steps kept between them.
        On Ctrl-C, report the trials in progress as interrupted, then return: the runner
        tells the sweep was interrupted."""


class Backend(Protocol):
    def session(self, groups: Sequence[Group], *, dataset: Dataset, model: ModelConfig,
                training: TrainingConfig) -> AbstractContextManager[Session]:
        """Get ready to train ``groups`` (each goes whole to one worker, which trains it in
        stacks; later rounds' groups are as many or fewer): fail here (before the runner
        writes anything) if the backend cannot run them; release everything on exit."""


def as_work(groups: Sequence[Group] | Work | None, own: Sequence[Group]) -> Work:
    """A session's round as work to take from: ``groups`` (else the session's ``own``)."""
    if isinstance(groups, Work):
        return groups
    return Work(own if groups is None else groups)


def reserved(backend: Backend) -> AbstractContextManager[Any]:
    """What a backend holds across the sessions of one sweep, when it trains several
    experiments: a backend may define ``reserve()`` (a context manager; Ray stays connected
    through it), and one that does not needs nothing held."""
    reserve = getattr(backend, "reserve", None)
    return reserve() if reserve is not None else contextlib.nullcontext()


def error_text(exc: BaseException) -> str:
    """How a trial's ``error`` names an exception: ``RuntimeError: out of memory``."""
    return f"{type(exc).__name__}: {exc}"


def pin_threads(engine: str, threads: int) -> bool:
    """Make ``engine``'s framework in this process use ``threads`` threads for its
    operations, if it has not started yet (it reads the setting once); True when that is
    so. Every backend pins a trial's threads the same way, so that their numbers agree bit
    for bit."""
    return engine_spec(engine).pin_threads(threads)


class GroupProgress:
    """What a backend knows of a group while a worker trains it: which of its pending
    trials started and finished, and their seed's initial loss. It passes the worker's
    events on, and ends the trials left open when the worker stops or fails."""

    def __init__(self, group: Group) -> None:
        self.group = group
        self._started: set[str] = set()
        self._finished: set[str] = set()
        self._initial_loss = math.nan

    def report(self, event: TrialEvent, events: TrialEvents) -> None:
        trial = event.trial
        if event.kind == "started":
            self._started.add(trial.trial_id)
            events.trial_started(trial)
        elif event.kind == "epoch":
            assert event.record is not None
            self._initial_loss = event.initial_loss
            events.epoch_finished(trial, event.record)
        else:
            assert event.outcome is not None
            self._finished.add(trial.trial_id)
            events.trial_finished(trial, event.outcome)

    @property
    def unfinished(self) -> list[Trial]:
        return [t for t in self.group.recorded if t.trial_id not in self._finished]

    @property
    def done(self) -> bool:
        return not self.unfinished

    def interrupted(self, events: TrialEvents, *, error: str) -> None:
        """The trials that started and did not finish were interrupted (the others have
        not begun: nothing is recorded of them)."""
        for trial in self.unfinished:
            if trial.trial_id in self._started:
                self._end(trial, events, TrialOutcome(
                    status=TrialStatus.INTERRUPTED, error=error,
                    initial_loss=self._initial_loss))

    def failed(self, events: TrialEvents, *, error: str) -> None:
        """Every pending trial not finished failed with ``error``."""
        for trial in self.unfinished:
            if trial.trial_id not in self._started:
                self._started.add(trial.trial_id)
                events.trial_started(trial)
            self._end(trial, events, TrialOutcome(status=TrialStatus.FAILED, error=error))

    def retrying(self, events: TrialEvents, *, error: str, attempt: int) -> Group:
        """What to train again: the trials not finished, each told so (whether or not its
        "started" event arrived before the worker died: the attempt was its too)."""
        for trial in self.unfinished:
            events.trial_retrying(trial, error=error, attempt=attempt)
        return self.group.only(t.trial_id for t in self.unfinished)

    def _end(self, trial: Trial, events: TrialEvents, outcome: TrialOutcome) -> None:
        self._finished.add(trial.trial_id)
        events.trial_finished(trial, outcome)
