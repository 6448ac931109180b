"""The engine-independent trial loop and range test, on a scripted engine: what any engine
(TensorFlow or JAX) gets from them without writing it again."""

from __future__ import annotations

import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from lrlab.experiment.config import TrainingConfig
from lrlab.experiment.objective import DEFAULT_OBJECTIVE
from lrlab.experiment.trials import OptimizerSetting, Trial
from lrlab.rundir.records import TrialStatus
from lrlab.training.engine import EpochPlan, Split
from lrlab.training.loop import Trainer, epoch_order
from lrlab.training.range_test import ramp_losses


class ScriptedEngine:
    """Every batch of member k has loss ``losses[epoch - 1]`` times ``scale[k]`` (its rate
    x 10 by default) and every image is right; records what the loop asked for."""

    compile_seconds = 0.0

    def __init__(self, *, n_train: int, batch_size: int, epochs: int,
                 losses: list[float], val_accuracy: list[list[float]] | None = None) -> None:
        self.plan = EpochPlan.of(n_train, TrainingConfig(batch_size=batch_size, epochs=epochs))
        self.has_validation = True
        # The default objective's metrics without Keras: accuracy, a summed metric.
        self.measures = SimpleNamespace(objective=DEFAULT_OBJECTIVE,
                                        summed=DEFAULT_OBJECTIVE.metrics, whole=())
        self.baseline = {"val_accuracy": 0.1}
        self.losses, self.calls = losses, []
        # Per epoch, each member's validation accuracy (default 0.9 throughout).
        self.val_accuracy = val_accuracy
        self._epoch = 0
        self._scale = np.ones(1)

    def describe(self) -> dict:
        return {"name": "scripted"}

    def stack_limit(self, setting) -> int:
        return 8

    def start_stack(self, setting, *, seed, learning_rates) -> None:
        self.calls.append(("start", setting, seed, list(learning_rates)))
        self._epoch = 0
        self._scale = np.array([10 * r for r in learning_rates])
        self.compile_seconds += 3.0

    def start_ramp(self, setting, *, seed, rates) -> None:
        self.calls.append(("ramp", setting, seed, len(rates)))

    def train(self, batches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if batches.shape[0] > 1 or batches.shape[1] == self.plan.batch_size:
            self._epoch += 1  # the full batches of an epoch come first
        self.calls.append(("train", batches.shape))
        loss = self.losses[self._epoch - 1]
        return (loss * batches.size * self._scale,
                np.full((len(self._scale), 1), batches.size))

    def stop(self, members) -> None:
        self.calls.append(("stop", list(members)))

    def train_ramp(self, batches: np.ndarray) -> np.ndarray:
        self.calls.append(("train_ramp", batches.shape))
        return np.arange(len(batches), dtype=np.float32)

    def evaluate(self, split: Split) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(("evaluate", split))
        members = len(self._scale)
        if split is Split.REFERENCE:
            return np.full(members, 2.0), {"accuracy": np.full(members, 0.1)}
        if split is Split.VALIDATION and self.val_accuracy is not None:
            return (np.full(members, 0.5),
                    {"accuracy": np.array(self.val_accuracy[self._epoch - 1])})
        return np.full(members, 0.5), {"accuracy": np.full(members, 0.9)}

    def current_rates(self) -> np.ndarray:
        return self._scale / 10

    def dead_units(self) -> np.ndarray:
        return self._scale / 100  # a share per member, to see it reach the outcome


def test_epochs_batches_and_records() -> None:
    engine = ScriptedEngine(n_train=100, batch_size=32, epochs=2, losses=[1.5, 1.0])
    outcome = Trainer(engine, training=TrainingConfig(batch_size=32, epochs=2)).train(
        Trial("sgd", 0.1, 7, {"momentum": 0.9}))
    assert outcome.status is TrialStatus.COMPLETED and outcome.initial_loss == 2.0
    assert engine.calls[0] == ("start", OptimizerSetting.of("sgd", {"momentum": 0.9}), 7, [0.1])
    # Three full batches in one call, the partial last batch of 4 in a second, per epoch.
    trains = [c[1] for c in engine.calls if c[0] == "train"]
    assert trains == [(3, 32), (1, 4)] * 2
    assert [r.loss for r in outcome.history] == [1.5, 1.0]
    assert [r.val_accuracy for r in outcome.history] == [0.9, 0.9]
    assert outcome.test["accuracy"] == 0.9 and outcome.history[0].accuracy == 1.0


def test_divergence_stops_the_trial_and_is_a_result() -> None:
    engine = ScriptedEngine(n_train=64, batch_size=32, epochs=5, losses=[1.0, 9.0, 0.1])
    outcome = Trainer(engine, training=TrainingConfig(batch_size=32, epochs=5,
                                                      diverge_factor=4)).train(
        Trial("sgd", 0.1, 0))
    # 9.0 > 4 x the initial loss of 2.0: diverged at epoch 2, nothing after it.
    assert outcome.status is TrialStatus.DIVERGED and outcome.diverged_epoch == 2
    assert len(outcome.history) == 2 and not math.isnan(outcome.test["loss"])


def test_a_stack_trains_its_members_together_and_stops_only_the_diverged() -> None:
    engine = ScriptedEngine(n_train=64, batch_size=32, epochs=3, losses=[0.5, 3.0, 0.2])
    trainer = Trainer(engine, training=TrainingConfig(batch_size=32, epochs=3,
                                                      diverge_factor=4))
    stack = [Trial("sgd", rate, 0) for rate in (0.1, 0.4, 0.2)]
    events = trainer.iter_stack(stack)
    seen = []
    while True:
        try:
            seen.append(next(events))
        except StopIteration as done:
            outcomes = done.value
            break
    # Member 1 (loss 4 x 3.0 = 12 > 4 x 2.0 at epoch 2) diverges and is stopped, alone.
    assert [m for m, _ in seen] == [0, 1, 2, 0, 1, 2, 0, 2]
    assert ("stop", [1]) in engine.calls
    assert [o.status for o in outcomes] == [TrialStatus.COMPLETED, TrialStatus.DIVERGED,
                                             TrialStatus.COMPLETED]
    assert outcomes[1].diverged_epoch == 2 and len(outcomes[1].history) == 2
    assert [r.lr for r in outcomes[2].history] == [0.2] * 3
    # One start for the whole stack; its compile time is shared by its members.
    assert [c for c in engine.calls if c[0] == "start"] == [
        ("start", OptimizerSetting.of("sgd", {}), 0, [0.1, 0.4, 0.2])]
    assert all(o.stack_size == 3 and o.compile_seconds == 1.0 for o in outcomes)


def test_early_stopping_stops_members_one_by_one_at_their_own_epoch() -> None:
    # Member 0 plateaus after epoch 1, member 1 improves by less than min_delta after
    # epoch 2, member 2 improves every epoch; patience 2 over 6 epochs.
    engine = ScriptedEngine(n_train=64, batch_size=32, epochs=6, losses=[1.0] * 6,
                            val_accuracy=[[0.50, 0.50, 0.50], [0.50, 0.60, 0.60],
                                          [0.50, 0.6005, 0.70], [0.50, 0.601, 0.80],
                                          [0.40, 0.60, 0.85], [0.40, 0.60, 0.90]])
    training = TrainingConfig(batch_size=32, epochs=6,
                              early_stopping={"patience": 2, "min_delta": 0.005})
    trials = [Trial("sgd", rate, 0, {}) for rate in (0.01, 0.02, 0.03)]
    outcomes = list(_drain(Trainer(engine, training=training).iter_stack(trials)))
    assert [o.status for o in outcomes] == [TrialStatus.STOPPED, TrialStatus.STOPPED,
                                            TrialStatus.COMPLETED]
    assert [o.stopped_epoch for o in outcomes] == [3, 4, None]
    assert [len(o.history) for o in outcomes] == [3, 4, 6]
    assert [c for c in engine.calls if c[0] == "stop"] == [("stop", [0]), ("stop", [1])]
    assert [o.dead_units for o in outcomes] == pytest.approx([0.001, 0.002, 0.003])


def test_early_stopping_on_a_falling_loss_and_never_at_the_last_epoch() -> None:
    engine = ScriptedEngine(n_train=64, batch_size=32, epochs=3, losses=[1.0, 1.0, 1.0])
    training = TrainingConfig(batch_size=32, epochs=3,
                              early_stopping={"patience": 2, "metric": "loss"})
    outcome = Trainer(engine, training=training).train(Trial("sgd", 0.1, 0, {}))
    # No improvement after epoch 1, but the second stale epoch is the last: nothing saved.
    assert outcome.status is TrialStatus.COMPLETED and outcome.stopped_epoch is None
    engine = ScriptedEngine(n_train=64, batch_size=32, epochs=4, losses=[1.0, 0.9, 0.95, 0.91])
    outcome = Trainer(engine, training=TrainingConfig(
        batch_size=32, epochs=4, early_stopping={"patience": 1, "metric": "loss"})).train(
        Trial("sgd", 0.1, 0, {}))
    assert (outcome.status, outcome.stopped_epoch) == (TrialStatus.STOPPED, 3)


def _drain(generator):
    while True:
        try:
            next(generator)
        except StopIteration as finished:
            return finished.value


def test_a_stack_must_share_setting_and_seed() -> None:
    engine = ScriptedEngine(n_train=64, batch_size=32, epochs=1, losses=[1.0])
    trainer = Trainer(engine, training=TrainingConfig(batch_size=32, epochs=1))
    with pytest.raises(ValueError, match="share"):
        next(trainer.iter_stack([Trial("sgd", 0.1, 0), Trial("sgd", 0.1, 1)]))


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
                                    "lrlab.rundir.records", "lrlab.rundir.loading",
                                    "lrlab.analysis.compare",
                                    "lrlab.present.render"])
def test_pure_modules_do_not_import_tensorflow(module: str) -> None:
    code = f"import sys, {module}; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_early_stopping_watches_the_verdict_unless_told_and_a_column_never_recorded_is_refused(
        ) -> None:
    from lrlab.experiment.config import EarlyStoppingConfig
    from lrlab.experiment.objective import ObjectiveError, build_objective
    from lrlab.training.loop import check_stopping, stopping_metric

    regression = build_objective(loss="mse", labels="regression")
    unset = EarlyStoppingConfig(patience=2)
    assert stopping_metric(unset, regression) == "val_mean_absolute_error"
    check_stopping(unset, regression)
    told = EarlyStoppingConfig(patience=2, metric="val_accuracy")
    assert stopping_metric(told, DEFAULT_OBJECTIVE) == "val_accuracy"
    with pytest.raises(ObjectiveError, match="val_accuracy is not recorded every epoch"):
        check_stopping(told, regression)
