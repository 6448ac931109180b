"""The local backend: every trial in this process, one after another. The default; it needs
nothing beyond lrlab itself."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from lrlab.backends.base import TrainerFactory, TrialEvents, error_text
from lrlab.config import ModelConfig, TrainingConfig
from lrlab.data import Dataset
from lrlab.errors import LrlabError, stop_reason
from lrlab.records import TrialOutcome, TrialStatus
from lrlab.training import Trainer, make_trainer
from lrlab.trials import Trial

log = logging.getLogger(__name__)


class LocalBackend:
    def __init__(self, *, trainer_factory: TrainerFactory = make_trainer) -> None:
        self._trainer_factory = trainer_factory

    @contextlib.contextmanager
    def session(self, trials: Sequence[Trial], *, dataset: Dataset, model: ModelConfig,
                training: TrainingConfig) -> Iterator[_LocalSession]:
        yield _LocalSession(trials, lambda: self._trainer_factory(
            dataset, model=model, training=training))


class _LocalSession:
    description: dict[str, Any] = {"name": "local"}
    trains_here = True

    def __init__(self, trials: Sequence[Trial], make_trainer: Any) -> None:
        self._trials, self._make_trainer = trials, make_trainer

    def run(self, events: TrialEvents) -> None:
        # Built here, not in the session: TensorFlow starts only once there is work.
        trainer = self._make_trainer()
        for trial in self._trials:
            outcome = _train_one(trainer, trial, events)
            events.trial_finished(trial, outcome)
            if outcome.status is TrialStatus.INTERRUPTED:
                return


def _train_one(trainer: Trainer, trial: Trial, events: TrialEvents) -> TrialOutcome:
    events.trial_started(trial)
    try:
        return trainer.train(trial, on_epoch=lambda record: events.epoch_finished(trial, record))
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP raised as Interrupted
        return TrialOutcome(status=TrialStatus.INTERRUPTED, error=stop_reason(exc),
                            initial_loss=trainer.known_initial_loss(trial.seed))
    except LrlabError:
        raise  # the run directory itself is failing: stopping is the only safe move
    except Exception as exc:  # noqa: BLE001 - one broken trial must not end the sweep
        log.debug("trial %s failed", trial.trial_id, exc_info=True)
        return TrialOutcome(status=TrialStatus.FAILED, error=error_text(exc))
