"""The compiled-step interface: what the trial loop needs from an engine (TensorFlow today).
Pure; an engine implements it with whatever framework it compiles with.

An engine holds the data, the network and one compiled training step per optimizer
setting. It knows nothing of epochs, divergence or records: the trial loop
(:mod:`lrlab.training.loop`) and the range test (:mod:`lrlab.training.range_test`) do.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from lrlab.config import TrainingConfig
from lrlab.trials import OptimizerSetting


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


class Engine(Protocol):
    """One data set and network; a compiled training step per optimizer setting."""

    plan: EpochPlan
    has_validation: bool

    def start_trial(self, setting: OptimizerSetting, *, seed: int,
                    learning_rate: float) -> None:
        """The seed's initial weights, fresh optimizer state, and the trial's (peak) rate."""

    def start_ramp(self, setting: OptimizerSetting, *, seed: int, rates: np.ndarray) -> None:
        """As :meth:`start_trial`, but step k trains at ``rates[k]`` (the range test)."""

    def train(self, batches: np.ndarray) -> tuple[float, float]:
        """Train on each row of ``batches`` (indices into the training set) in order, in
        one compiled call; return the batch-size-weighted loss sum and the number of
        correct predictions. Stops early once the loss is no longer finite."""

    def train_ramp(self, batches: np.ndarray) -> np.ndarray:
        """Train one row of ``batches`` per rate of :meth:`start_ramp`; return each step's
        loss (NaN and infinity included)."""

    def evaluate(self, split: Split) -> tuple[float, float]:
        """Mean loss and accuracy of the current weights on ``split``."""

    def current_rate(self) -> float:
        """The learning rate in effect now (after a schedule's latest step)."""
