"""The TensorFlow engine: the compiled-step interface on Keras's TensorFlow backend.

A whole epoch runs inside one compiled ``tf.function`` (a ``tf.while_loop`` over the
batches), so Python is touched once per epoch, not once per batch. It is compiled by XLA,
except on a CPU for a network with convolutions: XLA's CPU convolutions are slow, and
TensorFlow's graph does them with oneDNN's kernels (docs/speed.md has the figures,
``benchmarks/bench_floor.py`` measures them). The model, and one
optimizer with its compiled loops per optimizer setting, are built once per sweep and
reused by every trial of that setting: a trial only resets weights and optimizer state
and assigns its learning rate, which costs milliseconds instead of a fresh compilation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from lrlab.experiment.config import ModelConfig, TrainingConfig
from lrlab.experiment.trials import OptimizerSetting
from lrlab.training._keras import import_keras, import_tensorflow
from lrlab.training.curvature import preconditioner_of, velocity_variables
from lrlab.training.data import Dataset
from lrlab.training.engine import DeviceData, EpochPlan, SeedWeights, Split, check_state
from lrlab.training.measures import Measures, baseline_of
from lrlab.training.model import build_network, build_optimizer, dead_share, ever_active
from lrlab.training.schedules import peak_schedule, rate_table

# Evaluation chunk: large enough to keep the matrix units busy, small enough that the
# activations of any hidden width stay well within memory.
EVAL_BATCH = 4096


def _convolves(model: Any) -> bool:
    """Whether any layer of ``model`` (nested models too) is a convolution."""
    layers = list(getattr(model, "layers", []))
    while layers:
        layer = layers.pop()
        if "Conv" in type(layer).__name__:
            return True
        layers.extend(getattr(layer, "layers", []))
    return False


class _Compiled:
    """A Keras optimizer built on the model's variables, its learning-rate schedule (how a
    rate reaches it: :mod:`lrlab.training.schedules`), and the two loops around its one
    training step: a whole epoch returning loss and hit sums, and the range test's ramp
    returning every loss."""

    def __init__(self, tf: Any, model: Any, logits_model: Any, measures: Measures,
                 optimizer: Any, rates: Any, *, xla: bool = True,
                 factors: list[float] | None = None) -> None:
        self.optimizer, self.rates = optimizer, rates
        optimizer.build(model.trainable_variables)
        self._initial_state = [v.numpy() for v in optimizer.variables]

        summed = len(measures.summed)

        def step(x: Any, y: Any, rows: Any) -> tuple[Any, Any, Any]:
            """One optimizer step on the batch ``rows``: its mean loss, size and the sums
            of its summed metrics."""
            x_batch, y_batch = tf.gather(x, rows), tf.gather(y, rows)
            with tf.GradientTape() as tape:
                logits = logits_model(x_batch, training=True)
                loss = measures.mean_loss(y_batch, logits)
            grads = tape.gradient(loss, model.trainable_variables)
            weights = model.trainable_variables
            # µP's per-layer rates: each update scaled by its variable's factor.
            before = ([tf.identity(w) if k != 1.0 else None
                       for w, k in zip(weights, factors, strict=True)] if factors else None)
            optimizer.apply(grads, weights)
            for w, k, old in zip(weights, factors or (), before or (), strict=False):
                if old is not None:
                    w.assign(old + k * (w - old))
            size = tf.cast(tf.shape(y_batch)[0], tf.float32)
            return loss, size, measures.summed_of(y_batch, logits)

        @tf.function(jit_compile=xla)
        def epoch(x: Any, y: Any, batches: Any) -> tuple[Any, Any]:
            """Every row of ``batches``; stop early once the loss is no longer finite,
            since every later step would be wasted on NaNs."""

            def keep_going(i: Any, loss_sum: Any, sums: Any) -> Any:
                return tf.logical_and(i < tf.shape(batches)[0], tf.math.is_finite(loss_sum))

            def body(i: Any, loss_sum: Any, sums: Any) -> Any:
                loss, size, batch_sums = step(x, y, batches[i])
                # Keras weights each batch's mean loss by its size; so do we.
                return i + 1, loss_sum + loss * size, sums + batch_sums

            _, loss_sum, sums = tf.while_loop(
                keep_going, body, (tf.constant(0), tf.constant(0.0), tf.zeros((summed,))))
            return loss_sum, sums

        @tf.function(jit_compile=xla)
        def ramp(x: Any, y: Any, batches: Any) -> Any:
            """Every row of ``batches``; every step's loss."""
            steps = tf.shape(batches)[0]

            def body(i: Any, losses: Any) -> Any:
                loss, _, _ = step(x, y, batches[i])
                return i + 1, losses.write(i, loss)

            _, losses = tf.while_loop(lambda i, _: i < steps, body,
                                      (tf.constant(0), tf.TensorArray(tf.float32, size=steps)))
            return losses.stack()

        self.epoch, self.ramp = epoch, ramp

    def reset(self) -> None:
        """Fresh optimizer state, the step counter too: a schedule starts over."""
        for variable, value in zip(self.optimizer.variables, self._initial_state, strict=True):
            variable.assign(value)


def gpu_names() -> list[str]:
    """This process's GPUs as TensorFlow names them (environment.json's ``gpus``)."""
    tf = import_tensorflow()
    return [device.name for device in tf.config.list_physical_devices("GPU")]


class TensorFlowEngine:
    """The :class:`~lrlab.training.engine.Engine` of Keras on TensorFlow."""

    def __init__(self, dataset: Dataset, *, model: ModelConfig, training: TrainingConfig) -> None:
        self._tf = tf = import_tensorflow()
        keras = import_keras("tensorflow")
        self.plan = EpochPlan.of(len(dataset.y_train), training)
        self.has_validation = dataset.has_validation
        data = DeviceData.put(dataset, self.plan, tf.constant)
        self._x_train, self._y_train, self._splits = data.x_train, data.y_train, data.splits
        self.network = network = build_network(model, input_shape=dataset.input_shape,
                                     classes=dataset.classes, labels=dataset.labels)
        self._model, logits_model = network.model, network.logits
        # From the logits where the loss takes them, as the jax engine: the same
        # arithmetic as Keras's own on a softmax output here (see logits_of).
        self.measures = measures = Measures(keras, dataset.objective, head=network.head)
        self.baseline = baseline_of(measures, dataset)
        self._compiled: dict[tuple[OptimizerSetting, int | None], _Compiled] = {}
        # Every variable, not only the weights: batch statistics and dropout's random
        # generator start each trial where the seed says too.
        self._variables = list(self._model.variables)
        self._initial = SeedWeights(lambda seed: network.initial.values(seed, self._variables))
        self._current: _Compiled | None = None
        self._stopped = False
        self._xla = bool(tf.config.list_logical_devices("GPU")) or not _convolves(network.model)

        @tf.function(jit_compile=self._xla)
        def evaluate_chunk(x: Any, y: Any) -> tuple[Any, Any, Any]:
            logits = logits_model(x, training=False)
            return (tf.reduce_sum(measures.example_losses(y, logits)),
                    measures.summed_of(y, logits),
                    measures.head(logits) if measures.whole else tf.zeros(()))

        self._evaluate_chunk = evaluate_chunk
        self._hvp: dict[int, Any] = {}  # rows -> the compiled Hessian-vector product
        self._gradient: Any = None  # the compiled gradient on given rows
        self._loss: Any = None  # the compiled mean loss on given rows

    compile_seconds = None  # XLA compiles inside the first call, which is not separable

    def describe(self) -> dict[str, Any]:
        tf = self._tf
        gpus = tf.config.list_logical_devices("GPU")
        return {"name": "tensorflow", "tensorflow": tf.__version__,
                "device": gpus[0].name if gpus else "cpu",
                # TensorFlow's default: TF32 matrix products on NVIDIA GPUs since Ampere.
                "precision": "tf32" if gpus and tf.config.experimental.
                is_tensor_float_32_execution_enabled() else "float32",
                "compiler": "xla" if self._xla else "graph",
                "model": self.network.describe()}

    def stack_limit(self, setting: OptimizerSetting) -> int:
        return 1

    def start_stack(self, setting: OptimizerSetting, *, seed: int,
                    learning_rates: Sequence[float]) -> None:
        if len(learning_rates) != 1:
            raise ValueError("the TensorFlow engine trains one trial at a time")
        compiled = self._start(setting, seed=seed, ramp_steps=None)
        compiled.rates.peak.assign(learning_rates[0])
        self._stopped = False

    def start_ramp(self, setting: OptimizerSetting, *, seed: int, rates: np.ndarray) -> None:
        compiled = self._start(setting, seed=seed, ramp_steps=len(rates))
        compiled.rates.table.assign(np.asarray(rates, dtype=np.float32))

    def train(self, batches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._stopped:
            return np.array([np.nan]), np.zeros((1, len(self.measures.summed)))
        loss_sum, sums = self._started().epoch(self._x_train, self._y_train,
                                               self._tf.constant(batches))
        return np.array([float(loss_sum)]), np.asarray(sums, dtype=np.float64)[None, :]

    def stop(self, members: Sequence[int]) -> None:
        self._stopped = self._stopped or 0 in members

    def snapshot(self) -> list[list[np.ndarray]]:
        return [[np.array(v.numpy()) for v in self._state_variables()]]

    def restore(self, states: Sequence[Sequence[np.ndarray]]) -> None:
        (state,) = states
        check_state(state, [tuple(v.shape) for v in self._state_variables()])
        for variable, value in zip(self._state_variables(), state, strict=True):
            variable.assign(value)

    def _state_variables(self) -> list[Any]:
        """The network's variables, then the current optimizer's (its counter first)."""
        return [*self._variables, *self._started().optimizer.variables]

    def train_ramp(self, batches: np.ndarray) -> np.ndarray:
        losses = self._started().ramp(self._x_train, self._y_train, self._tf.constant(batches))
        return np.asarray(losses)

    def evaluate(self, split: Split) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        x, y = self._splits[split]
        n = int(y.shape[0])
        measures = self.measures
        loss_sum, sums, outputs = 0.0, np.zeros(len(measures.summed)), []
        for start in range(0, n, EVAL_BATCH):
            chunk_loss, chunk_sums, chunk_outputs = self._evaluate_chunk(
                x[start:start + EVAL_BATCH], y[start:start + EVAL_BATCH])
            loss_sum += float(chunk_loss)
            sums += np.asarray(chunk_sums, dtype=np.float64)
            if measures.whole:
                outputs.append(np.asarray(chunk_outputs))
        values = {m.key: np.array([sums[i] / n]) for i, m in enumerate(measures.summed)}
        if measures.whole:
            whole = measures.whole_values(np.asarray(y), np.concatenate(outputs))
            values.update({key: np.array([value]) for key, value in whole.items()})
        return np.array([loss_sum / n]), values

    def dead_units(self) -> np.ndarray:
        probe = self.network.relu_outputs
        if probe is None:
            return np.array([np.nan])
        x, _ = self._splits[Split.VALIDATION if self.has_validation else Split.REFERENCE]

        def chunks() -> Iterator[list[np.ndarray]]:
            for start in range(0, int(x.shape[0]), EVAL_BATCH):
                outputs = probe(x[start:start + EVAL_BATCH], training=False)
                outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
                # A unit is the last axis: a dense unit, or a convolution's channel anywhere.
                yield [np.asarray(out).reshape(-1, out.shape[-1]).max(axis=0) > 0
                       for out in outputs]

        return np.array([dead_share(ever_active(chunks()))])

    def current_rates(self) -> np.ndarray:
        rate = self._started().optimizer.learning_rate
        return np.array([float(rate.numpy() if hasattr(rate, "numpy") else rate)])

    # -- curvature (lrlab.training.curvature) -------------------------------------------

    def parameter_count(self) -> int:
        return sum(int(np.prod(v.shape)) for v in self._model.trainable_variables)

    def hessian_product(self, member: int, vector: np.ndarray, *, rows: int) -> np.ndarray:
        if member != 0:
            raise ValueError("the TensorFlow engine trains one member")
        key = min(rows, self.plan.n_train)
        if key not in self._hvp:
            self._hvp[key] = self._hessian_program(key)
        return np.asarray(self._hvp[key](self._tf.constant(vector, dtype=self._tf.float32)),
                          dtype=np.float64)

    def preconditioner(self, member: int) -> np.ndarray | None:
        if member != 0:
            raise ValueError("the TensorFlow engine trains one member")
        optimizer = self._started().optimizer
        return preconditioner_of(optimizer, [
            np.asarray(v.numpy()) for v in velocity_variables(optimizer, self._model)],
            step=int(optimizer.iterations.numpy()))

    def gradient(self, member: int, rows: np.ndarray) -> np.ndarray:
        if member != 0:
            raise ValueError("the TensorFlow engine trains one member")
        if self._gradient is None:
            self._gradient = self._gradient_program()
        return np.asarray(self._gradient(self._tf.constant(rows, dtype=self._tf.int32)),
                          dtype=np.float64)

    def loss(self, member: int, rows: np.ndarray) -> float:
        if member != 0:
            raise ValueError("the TensorFlow engine trains one member")
        if self._loss is None:
            tf, measures, logits_model = self._tf, self.measures, self.network.logits
            x_train, y_train = self._x_train, self._y_train

            @tf.function(jit_compile=self._xla, reduce_retracing=True)
            def mean_loss(rows: Any) -> Any:
                return measures.mean_loss(tf.gather(y_train, rows),
                                          logits_model(tf.gather(x_train, rows),
                                                       training=False))

            self._loss = mean_loss
        return float(self._loss(self._tf.constant(rows, dtype=self._tf.int32)))

    def weight_shapes(self) -> list[tuple[int, ...]]:
        return [tuple(int(d) for d in v.shape) for v in self._model.trainable_variables]

    def weights(self, member: int) -> np.ndarray:
        if member != 0:
            raise ValueError("the TensorFlow engine trains one member")
        return np.concatenate([np.asarray(v.numpy(), dtype=np.float32).reshape(-1)
                               for v in self._model.trainable_variables])

    def set_weights(self, member: int, flat: np.ndarray) -> None:
        if member != 0:
            raise ValueError("the TensorFlow engine trains one member")
        position = 0
        for variable in self._model.trainable_variables:
            size = int(np.prod(variable.shape))
            variable.assign(np.asarray(flat[position:position + size], dtype=np.float32)
                            .reshape(tuple(variable.shape)))
            position += size

    def _gradient_program(self) -> Any:
        """The mean loss's gradient on some training rows (inference mode), flat."""
        tf, measures, logits_model = self._tf, self.measures, self.network.logits
        weights = self._model.trainable_variables
        x_train, y_train = self._x_train, self._y_train

        @tf.function(jit_compile=self._xla, reduce_retracing=True)
        def gradient(rows: Any) -> Any:
            x, y = tf.gather(x_train, rows), tf.gather(y_train, rows)
            with tf.GradientTape() as tape:
                loss = measures.mean_loss(y, logits_model(x, training=False))
            found = tape.gradient(loss, weights)
            return tf.concat([tf.reshape(g if g is not None else tf.zeros_like(w), [-1])
                              for g, w in zip(found, weights, strict=True)], 0)

        return gradient

    def _hessian_program(self, rows: int) -> Any:
        """The loss's Hessian (on the first ``rows`` training rows, in inference mode: no
        dropout) times a flat vector, by differentiating the gradient's product with it."""
        tf, measures, logits_model = self._tf, self.measures, self.network.logits
        weights = self._model.trainable_variables
        shapes = [tuple(v.shape) for v in weights]
        sizes = [int(np.prod(shape)) for shape in shapes]
        x, y = self._x_train[:rows], self._y_train[:rows]

        @tf.function(jit_compile=self._xla)
        def product(vector: Any) -> Any:
            parts = [tf.reshape(part, shape)
                     for part, shape in zip(tf.split(vector, sizes), shapes, strict=True)]
            with tf.GradientTape() as outer:
                with tf.GradientTape() as inner:
                    loss = measures.mean_loss(y, logits_model(x, training=False))
                grads = inner.gradient(loss, weights)
                dot = tf.add_n([tf.reduce_sum(g * p) for g, p in zip(grads, parts, strict=True)])
            found = outer.gradient(dot, weights)
            return tf.concat([tf.reshape(h if h is not None else tf.zeros_like(w), [-1])
                              for h, w in zip(found, weights, strict=True)], 0)

        return product

    # -- internals ----------------------------------------------------------------------

    def _start(self, setting: OptimizerSetting, *, seed: int,
               ramp_steps: int | None) -> _Compiled:
        key = (setting, ramp_steps)
        if key not in self._compiled:
            rates = (rate_table(ramp_steps) if ramp_steps is not None else peak_schedule(
                setting.schedule, steps_per_epoch=self.plan.steps_per_epoch,
                epochs=self.plan.epochs))
            optimizer = build_optimizer(setting.optimizer, learning_rate=rates,
                                        hyperparameters=dict(setting.hyperparameters))
            self._compiled[key] = _Compiled(
                self._tf, self._model, self.network.logits, self.measures, optimizer, rates,
                xla=self._xla, factors=self.network.update_factors(setting.optimizer))
        compiled = self._current = self._compiled[key]
        for variable, value in zip(self._variables, self._initial(seed), strict=True):
            variable.assign(value)
        compiled.reset()
        return compiled

    def _started(self) -> _Compiled:
        if self._current is None:
            raise RuntimeError("start_stack or start_ramp first")
        return self._current
