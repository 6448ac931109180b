"""The compiled-step interface: what the trial loop needs from an engine (TensorFlow or JAX).
Pure; an engine implements it with whatever framework it compiles with.

An engine holds the data, the network and one compiled training step per optimizer
setting. It knows nothing of epochs, divergence or records: the trial loop
(:mod:`lrlab.training.loop`) and the range test (:mod:`lrlab.training.range_test`) do.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lrlab.experiment.config import TrainingConfig
from lrlab.experiment.trials import OptimizerSetting
from lrlab.training.measures import Measures


class Split(str, enum.Enum):
    VALIDATION = "validation"
    TEST = "test"
    # The first REFERENCE_IMAGES training images: the initial loss, divergence's yardstick.
    REFERENCE = "reference"


REFERENCE_IMAGES = 10_000


@dataclass(frozen=True)
class EpochPlan:
    """How an epoch is cut into batches. A batch larger than the training set is the whole
    set, as in ``model.fit``; the last batch may be partial."""

    n_train: int
    batch_size: int
    epochs: int

    @classmethod
    def of(cls, n_train: int, training: TrainingConfig) -> EpochPlan:
        return cls(n_train, min(training.batch_size, n_train), training.epochs)

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.n_train // self.batch_size)


@dataclass
class DeviceData:
    """A data set where an engine computes, put there once: the training arrays and every
    split it evaluates (the reference images are the first of the training set)."""

    x_train: Any
    y_train: Any
    splits: dict[Split, tuple[Any, Any]]

    @classmethod
    def put(cls, dataset: Any, plan: EpochPlan, put: Callable[[np.ndarray], Any]) -> DeviceData:
        x_train, y_train = put(dataset.x_train), put(dataset.y_train)
        reference = min(REFERENCE_IMAGES, plan.n_train)
        return cls(x_train, y_train, {
            Split.VALIDATION: (put(dataset.x_val), put(dataset.y_val)),
            Split.TEST: (put(dataset.x_test), put(dataset.y_test)),
            Split.REFERENCE: (x_train[:reference], y_train[:reference]),
        })


class SeedWeights:
    """Each seed's initial weights, drawn once by ``draw`` and kept: every trial of a seed,
    on either engine, starts from the very same arrays."""

    def __init__(self, draw: Callable[[int], list[np.ndarray]]) -> None:
        self._draw = draw
        self._drawn: dict[int, list[np.ndarray]] = {}

    def __call__(self, seed: int) -> list[np.ndarray]:
        if seed not in self._drawn:
            self._drawn[seed] = self._draw(seed)
        return self._drawn[seed]


def check_state(arrays: Sequence[np.ndarray], shapes: Sequence[tuple[int, ...]]) -> None:
    """A ValueError unless ``arrays`` have exactly ``shapes``: a checkpoint of another
    network or optimizer cannot go on here."""
    found = [tuple(np.shape(a)) for a in arrays]
    if found != [tuple(s) for s in shapes]:
        raise ValueError(f"a checkpoint of {len(found)} arrays does not fit this network and "
                         f"optimizer ({len(shapes)} arrays, or other shapes)")


class Engine(Protocol):
    """One data set and network; a compiled training step per optimizer setting, which
    trains a *stack* of trials at once: trials of one setting and seed that differ only in
    their learning rate, on the same batches. An engine that cannot stack has a stack
    limit of 1."""

    plan: EpochPlan
    has_validation: bool
    # The objective's loss and metrics in Keras's terms (lrlab.training.measures), and
    # each column's baseline: its value for the constant prediction.
    measures: Measures
    baseline: dict[str, float]
    # Seconds spent compiling so far (None: the engine cannot tell compiling from running).
    compile_seconds: float | None

    def describe(self) -> dict[str, Any]:
        """What environment.json records of the engine: its name, device, precision."""

    def stack_limit(self, setting: OptimizerSetting) -> int:
        """The most trials of ``setting`` one compiled step trains at once."""

    def start_stack(self, setting: OptimizerSetting, *, seed: int,
                    learning_rates: Sequence[float]) -> None:
        """For each (peak) rate, a member with the seed's initial weights and fresh
        optimizer state."""

    def start_ramp(self, setting: OptimizerSetting, *, seed: int, rates: np.ndarray) -> None:
        """One member, as :meth:`start_stack`, but step k trains at ``rates[k]`` (the range
        test)."""

    def train(self, batches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Train every member on each row of ``batches`` (indices into the training set) in
        order, in one compiled call; return each member's batch-size-weighted loss sum and
        the sums of the objective's summed metrics over the examples, (members, metrics).
        A member stops changing once its loss sum is no longer finite (the TensorFlow
        engine stops the call there)."""

    def stop(self, members: Sequence[int]) -> None:
        """Train these members no more (they diverged): their weights stay as they are,
        for evaluation, while the others go on exactly as they would without them."""

    def snapshot(self) -> list[list[np.ndarray]]:
        """Each member's state now, as arrays: every variable of its network and of its
        optimizer (the step counter too), so that :meth:`restore` goes on bit for bit."""

    def restore(self, states: Sequence[Sequence[np.ndarray]]) -> None:
        """After :meth:`start_stack`, each member's state as :meth:`snapshot` gave it (a
        paused trial going on); ValueError if the arrays are not this network's."""

    def train_ramp(self, batches: np.ndarray) -> np.ndarray:
        """Train one row of ``batches`` per rate of :meth:`start_ramp`; return each step's
        loss (NaN and infinity included)."""

    def evaluate(self, split: Split) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Each member's mean loss on ``split``, and each metric's value by its key."""

    def current_rates(self) -> np.ndarray:
        """Each member's learning rate in effect now (after a schedule's latest step)."""

    def parameter_count(self) -> int:
        """The trainable values of one member's network (the Hessian's side)."""

    def hessian_product(self, member: int, vector: np.ndarray, *, rows: int) -> np.ndarray:
        """The Hessian of member ``member``'s mean training loss on the first ``rows``
        training rows (inference mode: no dropout), at its weights now, times the flat
        ``vector`` (the trainable variables in order): :mod:`lrlab.training.curvature`
        finds the sharpness from these products."""

    def preconditioner(self, member: int) -> np.ndarray | None:
        """The diagonal the member's optimizer divides its gradient by now, flat
        (:func:`lrlab.training.curvature.preconditioner_of`); None without one."""

    def gradient(self, member: int, rows: np.ndarray) -> np.ndarray:
        """The gradient of member ``member``'s mean training loss on the training rows
        ``rows`` (indices; inference mode), at its weights now, flat:
        :mod:`lrlab.training.noise` measures the gradient noise scale from these."""

    def loss(self, member: int, rows: np.ndarray) -> float:
        """Member ``member``'s mean training loss on the training rows ``rows`` (indices;
        inference mode), at its weights now."""

    def weight_shapes(self) -> list[tuple[int, ...]]:
        """The trainable variables' shapes, in order (how a flat vector is laid out)."""

    def weights(self, member: int) -> np.ndarray:
        """Member ``member``'s trainable weights now, flat (in the variables' order)."""

    def set_weights(self, member: int, flat: np.ndarray) -> None:
        """Give member ``member`` the flat trainable weights ``flat`` (the loss surface
        around a path is read this way: lrlab.run.path)."""

    def dead_units(self) -> np.ndarray:
        """Each member's share of hidden ReLU units that output zero on every validation
        image (the reference images without a validation set); NaN where the network
        has no such units."""
