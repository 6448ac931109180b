"""The JAX engine: the compiled-step interface on Keras's JAX backend, with trials stacked.

The same Keras model and ``keras.optimizers`` classes as the TensorFlow engine, driven
through Keras's stateless API (``stateless_call``, ``stateless_apply``) inside ``jax.jit``,
a whole epoch (a ``lax.scan`` over the batches) per call. The trials of a stack share an
optimizer setting and a seed, so they differ only in their rate: ``jax.vmap`` maps one
member's epoch over a leading axis of weights, optimizer state and peak rate, on the same
batches. Each member is masked, not mixed: one whose loss is no longer finite, or that the
loop stops, keeps its weights while the others go on exactly as they would without it.

Rates: every optimizer is built with a float learning rate, which Keras keeps as an
optimizer variable; each step writes the member's rate into that slot
(:func:`~lrlab.training.schedules.rate_variable`), computed by the same schedule object as
the TensorFlow engine (its ``peak`` read as the member's own): see
:mod:`lrlab.training.schedules` for the one route.
Hyperparameters such as ``rho`` are constants compiled into the step, which is why a stack
never mixes optimizer settings.

Programs are compiled ahead of time (``jit(...).lower(...).compile()``) so that the time
spent compiling is measured, and JAX's persistent cache keeps them across runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lrlab.experiment.config import ModelConfig, TrainingConfig
from lrlab.experiment.trials import OptimizerSetting
from lrlab.training._keras import import_keras
from lrlab.training.curvature import preconditioner_of, velocity_variables
from lrlab.training.data import Dataset
from lrlab.training.engine import DeviceData, EpochPlan, SeedWeights, Split, check_state
from lrlab.training.measures import Measures, baseline_of
from lrlab.training.model import (
    activation_values,
    build_network,
    build_optimizer,
    dead_share,
    ever_active,
)
from lrlab.training.schedules import peak_schedule, rate_variable

EVAL_BATCH = 4096  # as the TensorFlow engine's
# stack: auto on an accelerator. A guess, not a measurement: no GPU has been available to
# measure it (docs/engines.md); benchmarks/bench_engines.py --stacks measures it there.
AUTO_STACK = 256
CACHE_ENV = "LRLAB_CACHE_DIR"
MATMUL_PRECISION = {"float32": "highest", "tf32": "tensorfloat32"}


def compile_cache_dir(env: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """Where JAX's persistent compilation cache lives: ``$LRLAB_CACHE_DIR/jax``, else
    ``$XDG_CACHE_HOME/lrlab/jax``, else ``~/.cache/lrlab/jax``."""
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]) / "jax"
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "lrlab" / "jax"


def _use_compile_cache(jax: Any) -> str | None:
    """Turn on JAX's persistent cache (process-wide, as JAX's config is); None if its
    folder cannot be made (then every run compiles afresh, which is only slower)."""
    folder = compile_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    # Cache every program: lrlab's compile in seconds, each worth keeping.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return str(folder)


class _Setting:
    """One optimizer setting's Keras optimizer, its schedule, and where the rate and the
    step counter sit among the optimizer's variables."""

    def __init__(self, model: Any, setting: OptimizerSetting, plan: EpochPlan) -> None:
        self.schedule = peak_schedule(setting.schedule, steps_per_epoch=plan.steps_per_epoch,
                                      epochs=plan.epochs)
        self.optimizer_name = setting.optimizer
        self.optimizer = optimizer = build_optimizer(
            setting.optimizer, learning_rate=1.0, hyperparameters=dict(setting.hyperparameters))
        optimizer.build(model.trainable_variables)
        variables = optimizer.variables
        self.rate_slot = _index_of(variables, rate_variable(optimizer), "learning rate")
        self.step_slot = _index_of(variables, optimizer.iterations, "iteration counter")
        self.initial_state = [np.asarray(v.value) for v in variables]
        self.state_values = sum(int(np.prod(v.shape)) for v in variables)

    def rate(self, keras: Any, peak: Any, step: Any) -> Any:
        """The rate at optimizer step ``step`` of a member with peak ``peak``: the
        schedule's own expression, with its peak variable read as ``peak``."""
        with keras.StatelessScope(state_mapping=[(self.schedule.peak, peak)]):
            return keras.ops.cast(self.schedule(step), "float32")


def _index_of(variables: Sequence[Any], wanted: Any, what: str) -> int:
    for index, variable in enumerate(variables):
        if variable is wanted:
            return index
    raise RuntimeError(f"this Keras version keeps the optimizer's {what} elsewhere than "
                       f"among its variables; lrlab's jax engine cannot set it per trial")


# A member's state, as snapshot() and restore() order it.
_STATE = ("weights", "fixed", "optimizer")


class JaxEngine:
    """The :class:`~lrlab.training.engine.Engine` of Keras on JAX (see the module)."""

    def __init__(self, dataset: Dataset, *, model: ModelConfig, training: TrainingConfig) -> None:
        self._keras = import_keras("jax")
        import jax

        self._jax, self._jnp = jax, jax.numpy
        self._cache = _use_compile_cache(jax)
        self._device = jax.devices()[0]
        self._precision = training.precision
        self._stack = training.stack
        self.plan = EpochPlan.of(len(dataset.y_train), training)
        self.has_validation = dataset.has_validation
        data = DeviceData.put(dataset, self.plan, jax.device_put)
        self._x_train, self._y_train, self._splits = data.x_train, data.y_train, data.splits
        self.network = build_network(model, input_shape=dataset.input_shape,
                                     classes=dataset.classes, labels=dataset.labels)
        self._model = self.network.model
        self._logits = self.network.logits  # the loss is taken from the logits
        self.measures = Measures(self._keras, dataset.objective, head=self.network.head)
        self.baseline = baseline_of(self.measures, dataset)
        trainable, fixed = self._logits.trainable_variables, self._logits.non_trainable_variables
        self._weights = SeedWeights(lambda seed: self.network.initial.values(seed, trainable))
        self._fixed = SeedWeights(lambda seed: self.network.initial.values(seed, fixed))
        self._settings: dict[OptimizerSetting, _Setting] = {}
        self._programs: dict[tuple[Any, ...], Any] = {}
        self.compile_seconds = 0.0
        self._current: _Setting | None = None
        self._state: dict[str, Any] = {}

    # -- the Engine interface -------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        device = self._device
        return {"name": "jax", "jax": self._jax.__version__, "platform": device.platform,
                "device": device.device_kind if device.platform != "cpu" else "cpu",
                "precision": self._precision, "stack": self._stack,
                "compile_cache": self._cache, "model": self.network.describe()}

    def stack_limit(self, setting: OptimizerSetting) -> int:
        accelerated = self._device.platform != "cpu"
        wanted = (AUTO_STACK if accelerated else 1) if self._stack == "auto" else self._stack
        return max(1, min(wanted, self._members_that_fit(setting)))

    def start_stack(self, setting: OptimizerSetting, *, seed: int,
                    learning_rates: Sequence[float]) -> None:
        self._start(setting, seed=seed, members=len(learning_rates))
        self._state["peak"] = self._jnp.asarray(learning_rates, dtype="float32")

    def start_ramp(self, setting: OptimizerSetting, *, seed: int, rates: np.ndarray) -> None:
        self._start(setting, seed=seed, members=1)
        self._state["rates"] = self._jnp.asarray(rates, dtype="float32")

    def train(self, batches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        state, batches = self._state, self._jnp.asarray(batches)
        program = self._program("epoch", batches)
        state["weights"], state["fixed"], state["optimizer"], loss_sum, sums = program(
            self._x_train, self._y_train, state["weights"], state["fixed"], state["optimizer"],
            state["peak"], state["alive"], batches)
        # As the TensorFlow engine stops its loop: a non-finite loss ends a member's training.
        state["alive"] = state["alive"] & self._jnp.isfinite(loss_sum)
        return np.asarray(loss_sum, dtype=np.float64), np.asarray(sums, dtype=np.float64)

    def stop(self, members: Sequence[int]) -> None:
        self._state["alive"] = self._state["alive"].at[np.asarray(members)].set(False)

    def snapshot(self) -> list[list[np.ndarray]]:
        arrays = [np.asarray(a) for part in _STATE for a in self._state[part]]
        return [[a[member] for a in arrays] for member in range(int(arrays[0].shape[0]))]

    def restore(self, states: Sequence[Sequence[np.ndarray]]) -> None:
        state, jnp = self._state, self._jnp
        shapes = [tuple(a.shape[1:]) for part in _STATE for a in state[part]]
        for member in states:
            check_state(member, shapes)
        position = 0
        for part in _STATE:
            count = len(state[part])
            state[part] = [jnp.asarray(np.stack([m[position + i] for m in states]))
                           for i in range(count)]
            position += count

    def train_ramp(self, batches: np.ndarray) -> np.ndarray:
        state, batches = self._state, self._jnp.asarray(batches)
        program = self._program("ramp", batches)
        state["weights"], state["fixed"], state["optimizer"], losses = program(
            self._x_train, self._y_train, state["weights"], state["fixed"], state["optimizer"],
            state["rates"], batches)
        return np.asarray(losses[0])

    def evaluate(self, split: Split) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        x, y = self._splits[split]
        n = int(y.shape[0])
        weights, fixed = self._state["weights"], self._state["fixed"]
        members = int(weights[0].shape[0])
        measures = self.measures
        loss_sum, sums = np.zeros(members), np.zeros((members, len(measures.summed)))
        outputs = []
        for start in range(0, n, EVAL_BATCH):
            chunk = (x[start:start + EVAL_BATCH], y[start:start + EVAL_BATCH])
            program = self._program("evaluate", chunk[1])
            chunk_loss, chunk_sums, chunk_outputs = program(weights, fixed, *chunk)
            loss_sum += np.asarray(chunk_loss, dtype=np.float64)
            sums += np.asarray(chunk_sums, dtype=np.float64)
            if measures.whole:
                outputs.append(np.asarray(chunk_outputs))
        values = {m.key: sums[:, i] / n for i, m in enumerate(measures.summed)}
        if measures.whole:
            every = np.concatenate(outputs, axis=1)  # (members, n, outputs)
            labels = np.asarray(y)
            found = [measures.whole_values(labels, every[m]) for m in range(members)]
            values.update({metric.key: np.array([f[metric.key] for f in found])
                           for metric in measures.whole})
        return loss_sum / n, values

    def dead_units(self) -> np.ndarray:
        weights = self._state["weights"]
        members = int(weights[0].shape[0])
        if self.network.relu_outputs is None:
            return np.full(members, np.nan)
        x, _ = self._splits[Split.VALIDATION if self.has_validation else Split.REFERENCE]
        chunks = (x[start:start + EVAL_BATCH] for start in range(0, int(x.shape[0]), EVAL_BATCH))
        alive = ever_active([np.asarray(e) for e in self._program("relu", chunk)(
            weights, self._state["fixed"], chunk)] for chunk in chunks)
        # Per member: each layer's (members, units) rows.
        return np.array([dead_share([a[m] for a in alive]) for m in range(members)])

    def current_rates(self) -> np.ndarray:
        program = self._program("rates", self._state["peak"])
        return np.asarray(program(self._state["peak"], self._state["optimizer"]))

    # -- curvature (lrlab.training.curvature) ---------------------------------------------

    def parameter_count(self) -> int:
        return sum(int(np.prod(w.shape)) for w in self._logits.trainable_variables)

    def hessian_product(self, member: int, vector: np.ndarray, *, rows: int) -> np.ndarray:
        rows = min(rows, self.plan.n_train)
        key = ("hessian", rows)
        if key not in self._programs:  # one program for every setting: weights only
            self._programs[key] = self._jax.jit(self._hessian_program(rows))
        state = self._state
        weights = [w[member] for w in state["weights"]]
        fixed = [f[member] for f in state["fixed"]]
        with self._jax.default_matmul_precision(MATMUL_PRECISION[self._precision]):
            found = self._programs[key](weights, fixed, self._jnp.asarray(vector, "float32"))
        return np.asarray(found, dtype=np.float64)

    def preconditioner(self, member: int) -> np.ndarray | None:
        current = self._current
        assert current is not None
        optimizer = current.optimizer
        state = self._state["optimizer"]
        slots = [_index_of(optimizer.variables, v, "second moments")
                 for v in velocity_variables(optimizer, self._logits)]
        return preconditioner_of(optimizer, [np.asarray(state[i][member]) for i in slots],
                                 step=int(state[current.step_slot][member]))

    def gradient(self, member: int, rows: np.ndarray) -> np.ndarray:
        key = ("gradient",)
        if key not in self._programs:  # one program for every setting: weights only
            self._programs[key] = self._jax.jit(self._gradient_program())
        state = self._state
        weights = [w[member] for w in state["weights"]]
        fixed = [f[member] for f in state["fixed"]]
        with self._jax.default_matmul_precision(MATMUL_PRECISION[self._precision]):
            found = self._programs[key](weights, fixed, self._jnp.asarray(rows))
        return np.asarray(found, dtype=np.float64)

    def loss(self, member: int, rows: np.ndarray) -> float:
        key = ("loss",)
        if key not in self._programs:
            x_train, y_train, jnp = self._x_train, self._y_train, self._jnp

            def mean_loss(weights: Any, fixed: Any, rows: Any) -> Any:
                losses, _, _, _ = self._measured(weights, fixed, x_train[rows], y_train[rows],
                                                 training=False)
                return jnp.mean(losses)

            self._programs[key] = self._jax.jit(mean_loss)
        state = self._state
        with self._jax.default_matmul_precision(MATMUL_PRECISION[self._precision]):
            return float(self._programs[key]([w[member] for w in state["weights"]],
                                             [f[member] for f in state["fixed"]],
                                             self._jnp.asarray(rows)))

    def weight_shapes(self) -> list[tuple[int, ...]]:
        return [tuple(int(d) for d in v.shape) for v in self._logits.trainable_variables]

    def weights(self, member: int) -> np.ndarray:
        return np.concatenate([np.asarray(w[member], dtype=np.float32).reshape(-1)
                               for w in self._state["weights"]])

    def set_weights(self, member: int, flat: np.ndarray) -> None:
        found, position = [], 0
        for w in self._state["weights"]:
            size = int(np.prod(w.shape[1:]))
            part = np.asarray(flat[position:position + size], dtype=np.float32)
            found.append(w.at[member].set(self._jnp.asarray(part.reshape(w.shape[1:]))))
            position += size
        self._state["weights"] = found

    def _gradient_program(self) -> Callable[..., Any]:
        """One member's mean loss gradient on some training rows (inference mode), flat."""
        jax, jnp = self._jax, self._jnp
        x_train, y_train = self._x_train, self._y_train

        def gradient(weights: Any, fixed: Any, rows: Any) -> Any:
            def loss(weights: Any) -> Any:
                losses, _, _, _ = self._measured(weights, fixed, x_train[rows],
                                                 y_train[rows], training=False)
                return jnp.mean(losses)

            return jnp.concatenate([g.reshape(-1) for g in jax.grad(loss)(list(weights))])

        return gradient

    def _hessian_program(self, rows: int) -> Callable[..., Any]:
        """One member's loss Hessian (on the first ``rows`` training rows, in inference
        mode) times a flat vector: forward-over-reverse differentiation."""
        jax, jnp = self._jax, self._jnp
        x, y = self._x_train[:rows], self._y_train[:rows]
        shapes = [tuple(w.shape) for w in self._logits.trainable_variables]
        sizes = [int(np.prod(shape)) for shape in shapes]
        cuts = np.cumsum(sizes)[:-1].tolist()

        def product(weights: Any, fixed: Any, vector: Any) -> Any:
            def loss(weights: Any) -> Any:
                losses, _, _, _ = self._measured(weights, fixed, x, y, training=False)
                return jnp.mean(losses)

            tangent = [part.reshape(shape)
                       for part, shape in zip(jnp.split(vector, cuts), shapes, strict=True)]
            _, found = jax.jvp(jax.grad(loss), (list(weights),), (tangent,))
            return jnp.concatenate([h.reshape(-1) for h in found])

        return product

    # -- internals --------------------------------------------------------------------------

    def _start(self, setting: OptimizerSetting, *, seed: int, members: int) -> None:
        self._current = current = self._setting(setting)
        jnp = self._jnp

        def stacked(values: Sequence[np.ndarray]) -> list[Any]:
            return [jnp.broadcast_to(jnp.asarray(v), (members, *np.shape(v))) for v in values]

        self._state = {"weights": stacked(self._weights(seed)),
                       "fixed": stacked(self._fixed(seed)),
                       "optimizer": stacked(current.initial_state),
                       "alive": jnp.ones(members, dtype=bool)}

    def _setting(self, setting: OptimizerSetting) -> _Setting:
        """The optimizer (and its slots) of ``setting``, built once per sweep."""
        if setting not in self._settings:
            self._settings[setting] = _Setting(self._model, setting, self.plan)
        return self._settings[setting]

    def _members_that_fit(self, setting: OptimizerSetting) -> int:
        """How many members fit in half the device's memory, by a generous estimate: each
        needs its weights three times (weights, gradients, the update), its optimizer
        state twice, and the activations of a training and an evaluation batch (twice:
        forward and backward)."""
        stats = getattr(self._device, "memory_stats", lambda: None)() or {}
        limit = stats.get("bytes_limit")
        if not limit:
            return AUTO_STACK * 64  # a CPU: the machine's memory, not a device's, is the bound
        weights = sum(int(np.prod(w.shape)) for w in self._model.trainable_weights)
        activations = (self.plan.batch_size + EVAL_BATCH) * activation_values(self._model) * 2
        per_member = 4 * (3 * weights + 2 * self._setting(setting).state_values + activations)
        return max(1, int(limit // 2 // per_member))

    def _program(self, kind: str, shaped: Any) -> Any:
        """The compiled program of ``kind`` for the current setting, number of members and
        input shape, compiled (and timed) the first time."""
        members = int(self._state["weights"][0].shape[0])
        key = (kind, id(self._current), members, tuple(shaped.shape))
        if key not in self._programs:
            build = {"epoch": self._epoch_program, "ramp": self._ramp_program,
                     "evaluate": self._evaluate_program, "rates": self._rates_program,
                     "relu": self._relu_program}[kind]
            function, args = build(shaped)
            started = time.perf_counter()
            with self._jax.default_matmul_precision(MATMUL_PRECISION[self._precision]):
                self._programs[key] = self._jax.jit(function).lower(*args).compile()
            self.compile_seconds += time.perf_counter() - started
        return self._programs[key]

    def _member_step(self) -> Callable[..., Any]:
        """One member's optimizer step on one batch at ``rate``: new weights and optimizer
        state, the batch's mean loss, its size and hits."""
        current, jax, jnp = self._current, self._jax, self._jnp
        assert current is not None
        measured = self._measured
        factors = self.network.update_factors(current.optimizer_name)

        def step(weights: Any, fixed: Any, state: Any, rate: Any, x: Any, y: Any
                 ) -> tuple[Any, ...]:
            def loss_of(weights: Any) -> tuple[Any, Any]:
                losses, sums, new_fixed, _ = measured(weights, fixed, x, y, training=True)
                return jnp.mean(losses), (sums, new_fixed)

            (loss, (sums, fixed_after)), grads = jax.value_and_grad(loss_of, has_aux=True)(
                weights)
            state = list(state)
            state[current.rate_slot] = rate
            before = weights
            weights, state = current.optimizer.stateless_apply(state, grads, weights)
            if factors:  # µP's per-layer rates: each update scaled by its variable's factor
                weights = [old + k * (new - old) if k != 1.0 else new
                           for old, new, k in zip(before, weights, factors, strict=True)]
            return weights, fixed_after, state, loss, sums

        return step

    def _measured(self, weights: Any, fixed: Any, x: Any, y: Any, *, training: bool
                  ) -> tuple[Any, Any, Any, Any]:
        """Each row's loss (from the logits where the loss takes them), the sums of the
        summed metrics, the non-trainable variables after the call (batch statistics,
        the state of dropout's random generator), and the logits."""
        logits, fixed = self._logits.stateless_call(weights, fixed, x, training=training)
        measures = self.measures
        return (measures.example_losses(y, logits), measures.summed_of(y, logits), fixed,
                logits)

    def _epoch_program(self, batches: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        current, jax, jnp, keras = self._current, self._jax, self._jnp, self._keras
        assert current is not None
        step = self._member_step()
        size = float(batches.shape[1])
        summed = len(self.measures.summed)

        def member_epoch(x: Any, y: Any, weights: Any, fixed: Any, state: Any, peak: Any,
                         alive: Any, batches: Any) -> tuple[Any, ...]:
            def body(carry: Any, rows: Any) -> tuple[Any, None]:
                weights, fixed, state, loss_sum, sums = carry
                go = alive & jnp.isfinite(loss_sum)
                rate = current.rate(keras, peak, state[current.step_slot])
                new = step(weights, fixed, state, rate, x[rows], y[rows])

                def keep(new: Any, old: Any) -> Any:
                    return jnp.where(go, new, old)

                return (jax.tree.map(keep, new[0], weights), jax.tree.map(keep, new[1], fixed),
                        jax.tree.map(keep, new[2], state),
                        keep(loss_sum + new[3] * size, loss_sum),
                        keep(sums + new[4], sums)), None

            zero = jnp.zeros((), "float32")
            (weights, fixed, state, loss_sum, sums), _ = jax.lax.scan(
                body, (weights, fixed, state, zero, jnp.zeros((summed,), "float32")), batches)
            return weights, fixed, state, loss_sum, sums

        state = self._state
        stacked = jax.vmap(member_epoch, in_axes=(None, None, 0, 0, 0, 0, 0, None))
        if int(state["peak"].shape[0]) == 1:
            stacked = self._single_epoch(step, size)
        return stacked, (self._x_train, self._y_train, state["weights"], state["fixed"],
                         state["optimizer"], state["peak"], state["alive"], batches)

    def _single_epoch(self, step: Callable[..., Any], size: float) -> Callable[..., Any]:
        """A stack of one (the CPU's default) without the masks: each batch trains under
        ``lax.cond`` while the member is alive and its loss finite, and is skipped after,
        as the TensorFlow engine's loop stops. Selecting every weight and slot each step to
        keep a dead member frozen cost a quarter of the epoch on a CPU; a skipped branch
        costs nothing. The step is still mapped over the (one) member: the numbers are the
        stacked program's (tests/training/test_jax_engine.py checks to 1e-6)."""
        current, jax, jnp, keras = self._current, self._jax, self._jnp, self._keras
        assert current is not None

        def member_step(weights: Any, fixed: Any, state: Any, peak: Any, x: Any, y: Any
                        ) -> tuple[Any, ...]:
            return step(weights, fixed, state, current.rate(keras, peak, state[
                current.step_slot]), x, y)

        mapped = jax.vmap(member_step, in_axes=(0, 0, 0, 0, None, None))
        summed = len(self.measures.summed)

        def epoch(x: Any, y: Any, weights: Any, fixed: Any, state: Any, peak: Any,
                  alive: Any, batches: Any) -> tuple[Any, ...]:
            def body(carry: Any, rows: Any) -> tuple[Any, None]:
                def train(carry: Any) -> Any:
                    weights, fixed, state, loss_sum, sums = carry
                    weights, fixed, state, loss, batch_sums = mapped(
                        weights, fixed, state, peak, x[rows], y[rows])
                    return weights, fixed, state, loss_sum + loss * size, sums + batch_sums

                go = alive[0] & jnp.isfinite(carry[3][0])
                return jax.lax.cond(go, train, lambda carry: carry, carry), None

            zero = jnp.zeros((1,), "float32")
            (weights, fixed, state, loss_sum, sums), _ = jax.lax.scan(
                body, (weights, fixed, state, zero, jnp.zeros((1, summed), "float32")), batches)
            return weights, fixed, state, loss_sum, sums

        return epoch

    def _ramp_program(self, batches: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        jax = self._jax
        step = self._member_step()

        def member_ramp(x: Any, y: Any, weights: Any, fixed: Any, state: Any, rates: Any,
                        batches: Any) -> tuple[Any, ...]:
            def body(carry: Any, inputs: Any) -> tuple[Any, Any]:
                weights, fixed, state = carry
                rows, rate = inputs
                weights, fixed, state, loss, _ = step(weights, fixed, state, rate, x[rows],
                                                      y[rows])
                return (weights, fixed, state), loss

            (weights, fixed, state), losses = jax.lax.scan(body, (weights, fixed, state),
                                                           (batches, rates))
            return weights, fixed, state, losses

        state = self._state
        stacked = jax.vmap(member_ramp, in_axes=(None, None, 0, 0, 0, None, None))
        return stacked, (self._x_train, self._y_train, state["weights"], state["fixed"],
                         state["optimizer"], state["rates"], batches)

    def _evaluate_program(self, labels: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        jax, jnp = self._jax, self._jnp

        measures = self.measures

        def member_evaluate(weights: Any, fixed: Any, x: Any, y: Any) -> tuple[Any, Any, Any]:
            losses, sums, _, logits = self._measured(weights, fixed, x, y, training=False)
            return (jnp.sum(losses), sums,
                    measures.head(logits) if measures.whole else jnp.zeros(()))

        n = int(labels.shape[0])
        x = jax.ShapeDtypeStruct((n, *self._x_train.shape[1:]), "float32")
        return (jax.vmap(member_evaluate, in_axes=(0, 0, None, None)),
                (self._state["weights"], self._state["fixed"], x, labels))

    def _relu_program(self, x: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """Per member and hidden ReLU layer, whether each unit is above zero anywhere in
        the chunk ``x`` (its last axis is the unit)."""
        jax, jnp, probe = self._jax, self._jnp, self.network.relu_outputs
        position = {id(v): i for i, v in enumerate(self._logits.trainable_variables)}
        fixed_at = {id(v): i for i, v in enumerate(self._logits.non_trainable_variables)}
        trainable = [position[id(v)] for v in probe.trainable_variables]
        fixed = [fixed_at[id(v)] for v in probe.non_trainable_variables]

        def member_relu(weights: Any, fixed_values: Any, x: Any) -> list[Any]:
            outputs, _ = probe.stateless_call([weights[i] for i in trainable],
                                              [fixed_values[i] for i in fixed], x,
                                              training=False)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            return [jnp.max(out.reshape(-1, out.shape[-1]), axis=0) > 0 for out in outputs]

        return (jax.vmap(member_relu, in_axes=(0, 0, None)),
                (self._state["weights"], self._state["fixed"], x))

    def _rates_program(self, peaks: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        current, keras, jax = self._current, self._keras, self._jax
        assert current is not None

        def member_rate(peak: Any, state: Any) -> Any:
            return current.rate(keras, peak, state[current.step_slot])

        return jax.vmap(member_rate), (peaks, self._state["optimizer"])
