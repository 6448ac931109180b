"""The backend protocol: where a sweep's trials train, and how they report back.

A backend trains trials and reports every event (a trial started, an epoch finished, an
attempt failed and will be retried, a trial finished) to the runner through
:class:`TrialEvents`. Only the runner writes the run directory, so a sweep leaves the same
files whichever backend trained it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from lrlab.config import ModelConfig, TrainingConfig
from lrlab.data import Dataset
from lrlab.errors import LrlabError
from lrlab.records import EpochRecord, TrialOutcome
from lrlab.training import Trainer
from lrlab.trials import Trial

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


class Session(Protocol):
    """A backend ready to train a given list of trials (workers may still be starting)."""

    description: dict[str, Any]  # what environment.json records about the backend
    trains_here: bool  # whether trials train in this process (so its GPUs matter)

    def run(self, events: TrialEvents) -> None:
        """Train every trial, reporting to ``events``. On Ctrl-C, report the trials in
        progress as interrupted, then return: the runner tells the sweep was interrupted."""


class Backend(Protocol):
    def session(self, trials: Sequence[Trial], *, dataset: Dataset, model: ModelConfig,
                training: TrainingConfig) -> AbstractContextManager[Session]:
        """Get ready to train ``trials``: fail here (before the runner writes anything) if
        the backend cannot run them; release everything on exit."""


def error_text(exc: BaseException) -> str:
    """How a trial's ``error`` names an exception: ``RuntimeError: out of memory``."""
    return f"{type(exc).__name__}: {exc}"


def pin_threads(threads: int) -> bool:
    """Make TensorFlow in this process use ``threads`` threads for its operations, if it has
    not started yet (it reads the setting once); True when that is so. Every backend pins a
    trial's threads the same way, so that their numbers agree bit for bit."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    return "tensorflow" not in sys.modules
