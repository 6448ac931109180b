"""The trial loop, independent of the engine: epochs in a controlled order, divergence,
and the records a trial leaves. Pure (NumPy); the engine does the arithmetic."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator

import numpy as np

from lrlab.config import TrainingConfig
from lrlab.records import EpochRecord, TrialOutcome, TrialStatus
from lrlab.training.engine import Engine, Split
from lrlab.trials import Trial

EpochCallback = Callable[[EpochRecord], None]


def epoch_order(n: int, *, seed: int, epoch: int) -> np.ndarray:
    """The order in which an epoch visits the n training images.

    It depends on (seed, epoch) only, so every trial of a seed sees the same batches.
    """
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


class Trainer:
    """Trains the trials of one sweep on one engine.

    Keep one ``Trainer`` for a whole sweep: its engine caches what trials can share
    (compiled steps, initial weights per seed), so the per-trial overhead stays small.
    """

    def __init__(self, engine: Engine, *, training: TrainingConfig) -> None:
        self.engine = engine
        self._training = training
        self._initial_loss: dict[int, float] = {}

    def train(self, trial: Trial, *, on_epoch: EpochCallback | None = None) -> TrialOutcome:
        """Train one trial from its seed's initial weights; return its history and result.

        Divergence ends the trial early and is a result, not an error. Exceptions (and
        Ctrl-C) propagate to the caller, which owns the bookkeeping of partial trials.
        """
        epochs = self.iter_train(trial)
        while True:
            try:
                record = next(epochs)
            except StopIteration as finished:
                return finished.value
            if on_epoch is not None:
                on_epoch(record)

    def iter_train(self, trial: Trial) -> Generator[EpochRecord, None, TrialOutcome]:
        """:meth:`train` as a generator: yields each epoch's record as it finishes and
        returns the outcome (``outcome = yield from trainer.iter_train(trial)``), so that a
        remote worker can stream epochs back without threads or callbacks."""
        started = time.perf_counter()
        engine = self.engine
        engine.start_trial(trial.setting, seed=trial.seed, learning_rate=trial.learning_rate)
        initial_loss = self._initial_loss_of(trial.seed)
        outcome = TrialOutcome(status=TrialStatus.COMPLETED, initial_loss=initial_loss)
        # Divergence: the epoch's training loss is not finite, or far above where it began.
        limit = self._training.diverge_factor * initial_loss
        for epoch in range(1, engine.plan.epochs + 1):
            record = self._train_epoch(seed=trial.seed, epoch=epoch)
            outcome.history.append(record)
            yield record
            if not math.isfinite(record.loss) or record.loss > limit:
                outcome.status, outcome.diverged_epoch = TrialStatus.DIVERGED, epoch
                break
        outcome.test_loss, outcome.test_accuracy = engine.evaluate(Split.TEST)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def known_initial_loss(self, seed: int) -> float:
        """The seed's initial loss if already measured (NaN if not): what an interrupted
        trial reached."""
        return self._initial_loss.get(seed, math.nan)

    def _initial_loss_of(self, seed: int) -> float:
        """The loss of the seed's initial weights (just loaded), measured once per seed."""
        if seed not in self._initial_loss:
            self._initial_loss[seed], _ = self.engine.evaluate(Split.REFERENCE)
        return self._initial_loss[seed]

    def _train_epoch(self, *, seed: int, epoch: int) -> EpochRecord:
        engine, plan = self.engine, self.engine.plan
        started = time.perf_counter()
        n, batch = plan.n_train, plan.batch_size
        order = epoch_order(n, seed=seed, epoch=epoch)
        full = n // batch * batch
        # Full batches in one compiled call; the last partial batch (kept, as model.fit
        # does) in a second call with its own shape.
        parts = [order[:full].reshape(-1, batch)]
        if full < n:
            parts.append(order[full:].reshape(1, -1))
        loss_sum = correct = 0.0
        for part in parts:
            part_loss, part_correct = engine.train(part)
            loss_sum += part_loss
            correct += part_correct
            if not math.isfinite(loss_sum):
                break
        val_loss, val_accuracy = (engine.evaluate(Split.VALIDATION) if engine.has_validation
                                  else (math.nan, math.nan))
        return EpochRecord(
            epoch=epoch, lr=engine.current_rate(), loss=loss_sum / n, accuracy=correct / n,
            val_loss=val_loss, val_accuracy=val_accuracy,
            seconds=time.perf_counter() - started)
