"""The engine-independent trial loop and range test, on a scripted engine: what any engine
(TensorFlow today, JAX next) gets from them without writing it again."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from lrlab.config import TrainingConfig
from lrlab.records import TrialStatus
from lrlab.training.engine import EpochPlan, Split
from lrlab.training.loop import Trainer, epoch_order
from lrlab.training.range_test import ramp_losses
from lrlab.trials import OptimizerSetting, Trial


class ScriptedEngine:
    """Every batch has loss ``losses[epoch - 1]`` and every image is right; records what
    the loop asked for."""

    def __init__(self, *, n_train: int, batch_size: int, epochs: int,
                 losses: list[float]) -> None:
        self.plan = EpochPlan.of(n_train, TrainingConfig(batch_size=batch_size, epochs=epochs))
        self.has_validation = True
        self.losses, self.calls = losses, []
        self._epoch = 0

    def start_trial(self, setting, *, seed, learning_rate) -> None:
        self.calls.append(("start", setting, seed, learning_rate))
        self._epoch = 0

    def start_ramp(self, setting, *, seed, rates) -> None:
        self.calls.append(("ramp", setting, seed, len(rates)))

    def train(self, batches: np.ndarray) -> tuple[float, float]:
        if batches.shape[0] > 1 or batches.shape[1] == self.plan.batch_size:
            self._epoch += 1  # the full batches of an epoch come first
        self.calls.append(("train", batches.shape))
        loss = self.losses[self._epoch - 1]
        return loss * batches.size, float(batches.size)

    def train_ramp(self, batches: np.ndarray) -> np.ndarray:
        self.calls.append(("train_ramp", batches.shape))
        return np.arange(len(batches), dtype=np.float32)

    def evaluate(self, split: Split) -> tuple[float, float]:
        self.calls.append(("evaluate", split))
        return (2.0, 0.1) if split is Split.REFERENCE else (0.5, 0.9)

    def current_rate(self) -> float:
        return 0.1


def test_epochs_batches_and_records() -> None:
    engine = ScriptedEngine(n_train=100, batch_size=32, epochs=2, losses=[1.5, 1.0])
    outcome = Trainer(engine, training=TrainingConfig(batch_size=32, epochs=2)).train(
        Trial("sgd", 0.1, 7, {"momentum": 0.9}))
    assert outcome.status is TrialStatus.COMPLETED and outcome.initial_loss == 2.0
    assert engine.calls[0] == ("start", OptimizerSetting.of("sgd", {"momentum": 0.9}), 7, 0.1)
    # Three full batches in one call, the partial last batch of 4 in a second, per epoch.
    trains = [c[1] for c in engine.calls if c[0] == "train"]
    assert trains == [(3, 32), (1, 4)] * 2
    assert [r.loss for r in outcome.history] == [1.5, 1.0]
    assert [r.val_accuracy for r in outcome.history] == [0.9, 0.9]
    assert outcome.test_accuracy == 0.9 and outcome.history[0].accuracy == 1.0


def test_divergence_stops_the_trial_and_is_a_result() -> None:
    engine = ScriptedEngine(n_train=64, batch_size=32, epochs=5, losses=[1.0, 9.0, 0.1])
    outcome = Trainer(engine, training=TrainingConfig(batch_size=32, epochs=5,
                                                      diverge_factor=4)).train(
        Trial("sgd", 10.0, 0))
    # 9.0 > 4 x the initial loss of 2.0: diverged at epoch 2, nothing after it.
    assert outcome.status is TrialStatus.DIVERGED and outcome.diverged_epoch == 2
    assert len(outcome.history) == 2 and not math.isnan(outcome.test_loss)


def test_the_initial_loss_is_measured_once_per_seed() -> None:
    engine = ScriptedEngine(n_train=64, batch_size=32, epochs=1, losses=[1.0])
    trainer = Trainer(engine, training=TrainingConfig(batch_size=32, epochs=1))
    for trial in (Trial("sgd", 0.1, 0), Trial("sgd", 0.2, 0), Trial("sgd", 0.1, 1)):
        trainer.train(trial)
    assert [c for c in engine.calls if c == ("evaluate", Split.REFERENCE)] == [
        ("evaluate", Split.REFERENCE)] * 2


def test_the_ramp_follows_the_seeds_epoch_orders() -> None:
    engine = ScriptedEngine(n_train=50, batch_size=20, epochs=1, losses=[1.0])
    setting = OptimizerSetting.of("rmsprop", {})
    losses = ramp_losses(engine, setting, seed=3, rates=np.geomspace(1e-5, 1, 6))
    assert engine.calls == [("ramp", setting, 3, 6), ("train_ramp", (6, 20))]
    assert losses.dtype == np.float64 and list(losses) == [0, 1, 2, 3, 4, 5]


def test_epoch_order_depends_on_seed_and_epoch_only() -> None:
    np.testing.assert_array_equal(epoch_order(10, seed=1, epoch=2), epoch_order(10, seed=1,
                                                                               epoch=2))
    assert sorted(epoch_order(10, seed=1, epoch=2)) == list(range(10))
    assert list(epoch_order(10, seed=1, epoch=2)) != list(epoch_order(10, seed=1, epoch=3))


@pytest.mark.parametrize("module", ["lrlab.training.loop", "lrlab.training.range_test",
                                    "lrlab.records", "lrlab.runs", "lrlab.compare",
                                    "lrlab.render"])
def test_pure_modules_do_not_import_tensorflow(module: str) -> None:
    code = f"import sys, {module}; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
