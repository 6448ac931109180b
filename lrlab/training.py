"""Training one trial: a compiled epoch loop over the real Keras layers and optimizers.

A whole epoch runs inside one XLA-compiled ``tf.function`` (a ``tf.while_loop`` over the
batches), so Python is touched once per epoch, not once per batch. The compiled functions,
the model and each optimizer are built once per sweep and reused by every trial with the
same optimizer settings: a trial only resets weights and optimizer state and assigns its
learning rate, which costs milliseconds instead of a fresh compilation.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrlab._tf import import_keras, import_tensorflow
from lrlab.config import ModelConfig, TrainingConfig
from lrlab.data import Dataset
from lrlab.model import build_model, initial_weights
from lrlab.optimizers import build_optimizer
from lrlab.schedules import build_schedule, rate_table
from lrlab.trials import Trial

# Evaluation chunk: large enough to keep the matrix units busy, small enough that the
# activations of any hidden width stay well within memory.
EVAL_BATCH = 4096
# The initial loss, the reference for divergence, is measured on this many training images.
REFERENCE_IMAGES = 10_000


class TrialStatus(str, enum.Enum):
    COMPLETED = "completed"
    DIVERGED = "diverged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """A finished trial is a result; ``--resume`` skips it."""
        return self in (TrialStatus.COMPLETED, TrialStatus.DIVERGED)


@dataclass(frozen=True)
class EpochRecord:
    """One row of ``history.csv``. ``lr`` is the rate in effect at the end of the epoch."""

    epoch: int
    lr: float
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float


@dataclass
class TrialOutcome:
    status: TrialStatus
    history: list[EpochRecord] = field(default_factory=list)
    initial_loss: float = math.nan
    diverged_epoch: int | None = None
    test_loss: float = math.nan
    test_accuracy: float = math.nan
    seconds: float = 0.0
    error: str | None = None


EpochCallback = Callable[[EpochRecord], None]


class _CompiledOptimizer:
    """A Keras optimizer built on the model's variables, with its compiled step: a whole
    epoch returning loss and hit sums, or (``per_step``, for the range test) every loss."""

    def __init__(self, tf: Any, model: Any, optimizer: Any, loss_fn: Any,
                 schedule: Any = None, *, per_step: bool = False) -> None:
        self.optimizer, self.schedule = optimizer, schedule
        optimizer.build(model.trainable_variables)
        self._initial_state = [v.numpy() for v in optimizer.variables]
        if per_step:
            self.run_batches = self._per_step_losses(tf, model, optimizer, loss_fn)
            return

        @tf.function(jit_compile=True)
        def run_batches(x: Any, y: Any, batches: Any) -> tuple[Any, Any]:
            """Train on each row of ``batches`` (indices into x, y); stop early once the
            loss is no longer finite, since every later step would be wasted on NaNs."""

            def keep_going(i: Any, loss_sum: Any, correct: Any) -> Any:
                return tf.logical_and(i < tf.shape(batches)[0], tf.math.is_finite(loss_sum))

            def step(i: Any, loss_sum: Any, correct: Any) -> Any:
                x_batch, y_batch = tf.gather(x, batches[i]), tf.gather(y, batches[i])
                with tf.GradientTape() as tape:
                    probs = model(x_batch, training=True)
                    loss = loss_fn(y_batch, probs)
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply(grads, model.trainable_variables)
                size = tf.cast(tf.shape(y_batch)[0], tf.float32)
                hits = tf.equal(tf.argmax(probs, axis=-1, output_type=tf.int32), y_batch)
                # Keras weights each batch's mean loss by its size; so do we.
                return (i + 1, loss_sum + loss * size,
                        correct + tf.reduce_sum(tf.cast(hits, tf.float32)))

            zero = tf.constant(0.0)
            _, loss_sum, correct = tf.while_loop(keep_going, step, (tf.constant(0), zero, zero))
            return loss_sum, correct

        self.run_batches = run_batches

    @staticmethod
    def _per_step_losses(tf: Any, model: Any, optimizer: Any, loss_fn: Any) -> Any:
        @tf.function(jit_compile=True)
        def run_batches(x: Any, y: Any, batches: Any) -> Any:
            """Train on each row of ``batches``; return every batch's loss (range test)."""
            steps = tf.shape(batches)[0]

            def step(i: Any, losses: Any) -> Any:
                x_batch, y_batch = tf.gather(x, batches[i]), tf.gather(y, batches[i])
                with tf.GradientTape() as tape:
                    loss = loss_fn(y_batch, model(x_batch, training=True))
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply(grads, model.trainable_variables)
                return i + 1, losses.write(i, loss)

            _, losses = tf.while_loop(lambda i, _: i < steps, step,
                                      (tf.constant(0), tf.TensorArray(tf.float32, size=steps)))
            return losses.stack()

        return run_batches

    def reset(self, learning_rate: float | None) -> None:
        """Fresh optimizer state; then the trial's rate (None: the schedule holds the rates)."""
        for variable, value in zip(self.optimizer.variables, self._initial_state, strict=True):
            variable.assign(value)  # the step counter too: a schedule starts over
        if learning_rate is None:
            return
        if self.schedule is not None:
            self.schedule.peak.assign(learning_rate)
        else:
            self.optimizer.learning_rate = learning_rate


class Trainer:
    """Trains the trials of one sweep: one data set, one architecture, one training setup.

    Keep one ``Trainer`` for a whole sweep; it caches what trials can share (compiled
    steps, initial weights per seed), so the per-trial overhead stays small and flat.
    """

    def __init__(self, dataset: Dataset, *, model: ModelConfig, training: TrainingConfig) -> None:
        self._tf = tf = import_tensorflow()
        self._keras = keras = import_keras()
        self._training = training
        self._has_validation = dataset.has_validation
        self._x_train, self._y_train = tf.constant(dataset.x_train), tf.constant(dataset.y_train)
        self._n_train = len(dataset.y_train)
        # A batch larger than the data set is the whole data set, as in model.fit.
        self.batch_size = min(training.batch_size, self._n_train)
        self.steps_per_epoch = -(-self._n_train // self.batch_size)  # the last may be partial
        self._x_val, self._y_val = tf.constant(dataset.x_val), tf.constant(dataset.y_val)
        self._x_test, self._y_test = tf.constant(dataset.x_test), tf.constant(dataset.y_test)
        self._model = build_model(model)
        self._loss_fn = keras.losses.SparseCategoricalCrossentropy()
        self._compiled: dict[str, _CompiledOptimizer] = {}
        self._seeds: dict[int, tuple[list[np.ndarray], float]] = {}

        @tf.function(jit_compile=True)
        def evaluate_chunk(x: Any, y: Any) -> tuple[Any, Any]:
            probs = self._model(x, training=False)
            losses = keras.losses.sparse_categorical_crossentropy(y, probs)
            hits = tf.equal(tf.argmax(probs, axis=-1, output_type=tf.int32), y)
            return tf.reduce_sum(losses), tf.reduce_sum(tf.cast(hits, tf.float32))

        self._evaluate_chunk = evaluate_chunk

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
        weights, initial_loss = self._seed_state(trial.seed)
        compiled = self._optimizer_for(trial)
        self._model.set_weights(weights)
        compiled.reset(trial.learning_rate)

        outcome = TrialOutcome(status=TrialStatus.COMPLETED, initial_loss=initial_loss)
        limit = self._training.diverge_factor * initial_loss
        for epoch in range(1, self._training.epochs + 1):
            record = self._train_epoch(compiled, seed=trial.seed, epoch=epoch)
            outcome.history.append(record)
            yield record
            if not math.isfinite(record.loss) or record.loss > limit:
                outcome.status, outcome.diverged_epoch = TrialStatus.DIVERGED, epoch
                break
        outcome.test_loss, outcome.test_accuracy = self._evaluate(self._x_test, self._y_test)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def range_test(self, trial: Trial, *, rates: np.ndarray) -> np.ndarray:
        """The LR range test: one batch per rate, in order, from the seed's initial weights;
        returns the training loss of every batch (NaN and inf included: the caller cuts).

        All steps run in one compiled loop; the rate of step k is ``rates[k]``.
        """
        tf = self._tf
        compiled = self._range_step_for(trial, steps=len(rates))
        weights, _ = self._seed_state(trial.seed)
        self._model.set_weights(weights)
        compiled.reset(None)
        compiled.schedule.table.assign(np.asarray(rates, dtype=np.float32))
        n, batch = self._n_train, self.batch_size
        order = np.concatenate([epoch_order(n, seed=trial.seed, epoch=e)
                                for e in range(1, -(-len(rates) * batch // n) + 1)])
        batches = order[: len(rates) * batch].reshape(len(rates), batch)
        losses = compiled.run_batches(self._x_train, self._y_train, tf.constant(batches))
        return np.asarray(losses, dtype=np.float64)

    # -- internals ----------------------------------------------------------------------

    def _range_step_for(self, trial: Trial, *, steps: int) -> _CompiledOptimizer:
        key = repr(("range", trial.optimizer, sorted(trial.hyperparameters.items()), steps))
        if key not in self._compiled:
            table = rate_table(steps)
            optimizer = build_optimizer(trial.optimizer, learning_rate=table,
                                        hyperparameters=trial.hyperparameters)
            self._compiled[key] = _CompiledOptimizer(self._tf, self._model, optimizer,
                                                     self._loss_fn, table, per_step=True)
        return self._compiled[key]

    def _seed_state(self, seed: int) -> tuple[list[np.ndarray], float]:
        """Initial weights of a seed and the loss they give, computed once per seed."""
        if seed not in self._seeds:
            weights = initial_weights(self._model, seed=seed)
            self._model.set_weights(weights)
            n = min(REFERENCE_IMAGES, self._n_train)
            loss, _ = self._evaluate(self._x_train[:n], self._y_train[:n])
            self._seeds[seed] = (weights, loss)
        return self._seeds[seed]

    def _optimizer_for(self, trial: Trial) -> _CompiledOptimizer:
        key = compile_key(trial)
        if key not in self._compiled:
            schedule = None
            if not trial.schedule.is_constant:
                schedule = build_schedule(trial.schedule, peak=trial.learning_rate,
                                          steps_per_epoch=self.steps_per_epoch,
                                          epochs=self._training.epochs)
            optimizer = build_optimizer(trial.optimizer,
                                        learning_rate=schedule or trial.learning_rate,
                                        hyperparameters=trial.hyperparameters)
            self._compiled[key] = _CompiledOptimizer(self._tf, self._model, optimizer,
                                                     self._loss_fn, schedule)
        return self._compiled[key]

    def _train_epoch(self, compiled: _CompiledOptimizer, *, seed: int, epoch: int) -> EpochRecord:
        tf = self._tf
        started = time.perf_counter()
        n, batch = self._n_train, self.batch_size
        order = epoch_order(n, seed=seed, epoch=epoch)
        full = n // batch * batch
        # Full batches in one compiled call; the last partial batch (kept, as model.fit
        # does) in a second call with its own shape.
        parts = [order[:full].reshape(-1, batch)]
        if full < n:
            parts.append(order[full:].reshape(1, -1))
        loss_sum = correct = 0.0
        for part in parts:
            part_loss, part_correct = compiled.run_batches(
                self._x_train, self._y_train, tf.constant(part))
            loss_sum += float(part_loss)
            correct += float(part_correct)
            if not math.isfinite(loss_sum):
                break
        val_loss, val_accuracy = (self._evaluate(self._x_val, self._y_val)
                                  if self._has_validation else (math.nan, math.nan))
        return EpochRecord(
            epoch=epoch, lr=_current_rate(compiled.optimizer), loss=loss_sum / n,
            accuracy=correct / n, val_loss=val_loss, val_accuracy=val_accuracy,
            seconds=time.perf_counter() - started,
        )

    def _evaluate(self, x: Any, y: Any) -> tuple[float, float]:
        n = int(y.shape[0])
        loss_sum = correct = 0.0
        for start in range(0, n, EVAL_BATCH):
            chunk_loss, chunk_correct = self._evaluate_chunk(
                x[start:start + EVAL_BATCH], y[start:start + EVAL_BATCH])
            loss_sum += float(chunk_loss)
            correct += float(chunk_correct)
        return loss_sum / n, correct / n


def compile_key(trial: Trial) -> str:
    """Trials with equal keys share one optimizer and compiled step (only the rate differs).

    Hyperparameters other than the learning rate are Python constants inside Keras's update
    step, so each distinct setting needs its own optimizer and compiled step. The schedule's
    shape is too; its peak (the trial's rate) is a variable.
    """
    return repr((trial.optimizer, sorted(trial.hyperparameters.items()), trial.schedule.label()))


def epoch_order(n: int, *, seed: int, epoch: int) -> np.ndarray:
    """The order in which an epoch visits the n training images.

    It depends on (seed, epoch) only, so every trial of a seed sees the same batches.
    """
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


def _current_rate(optimizer: Any) -> float:
    rate = optimizer.learning_rate
    value = float(rate.numpy() if hasattr(rate, "numpy") else rate)
    # The variable is float32: print 0.001, not its binary neighbour 0.0010000000474974513.
    return float(f"{value:.7g}")
