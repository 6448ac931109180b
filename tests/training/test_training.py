from __future__ import annotations

import math

import numpy as np
import pytest

from lrlab.experiment.config import ExperimentConfig, parse_config
from lrlab.experiment.trials import Trial
from lrlab.rundir.records import TrialStatus
from lrlab.training import Trainer, make_trainer
from lrlab.training.data import load_dataset
from lrlab.training.model import build_network


@pytest.fixture(scope="module")
def trainer(tiny_config: ExperimentConfig) -> Trainer:
    return make_trainer(load_dataset(tiny_config.data), model=tiny_config.model,
                        training=tiny_config.training)


def test_initial_weights_depend_on_the_seed_only() -> None:
    config = parse_config("model: {hidden: [8, 4]}\nsweep: {optimizers: "
                          "[{name: sgd, learning_rates: [0.1]}]}")
    network = build_network(config.model, input_shape=(28, 28, 1), classes=10)
    a, b, c = (network.initial.values(s, network.model.weights) for s in (0, 0, 1))
    assert [w.shape for w in a] == [(784, 8), (8,), (8, 4), (4,), (4, 10), (10,)]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert not np.any(a[1]) and np.abs(a[0]).max() <= math.sqrt(6 / (784 + 8))  # Glorot


@pytest.mark.slow
def test_trial_learns_and_records_every_epoch(trainer: Trainer) -> None:
    seen = []
    outcome = trainer.train(Trial("rmsprop", 1e-3, 0, {"rho": 0.9}), on_epoch=seen.append)
    assert outcome.status is TrialStatus.COMPLETED
    assert [r.epoch for r in outcome.history] == [1, 2] and seen == outcome.history
    assert outcome.history[-1].lr == 0.001
    assert outcome.history[-1].loss < outcome.history[0].loss < outcome.initial_loss
    assert outcome.history[-1].val_accuracy > 0.5  # chance is 0.1
    assert outcome.test["accuracy"] > 0.5
    assert math.log(10) * 0.8 < outcome.initial_loss < math.log(10) * 1.5


def test_trials_of_a_seed_are_a_controlled_comparison(trainer: Trainer) -> None:
    """Same seed: same start and same batches, so a trial re-run after others in the same
    trainer (compiled step and optimizer reused) reproduces itself exactly."""
    trial = Trial("sgd", 0.1, 0, {"momentum": 0.9})
    first = trainer.train(trial)
    trainer.train(Trial("sgd", 0.5, 1, {"momentum": 0.9}))  # other rate, other seed
    trainer.train(Trial("rmsprop", 1e-2, 0, {}))
    again = trainer.train(trial)
    assert [r.loss for r in again.history] == [r.loss for r in first.history]
    assert again.test["accuracy"] == first.test["accuracy"]
    other_seed = trainer.train(Trial("sgd", 0.1, 1, {"momentum": 0.9}))
    assert other_seed.history[0].loss != first.history[0].loss


def test_divergence_is_a_result(trainer: Trainer) -> None:
    outcome = trainer.train(Trial("sgd", 1000.0, 0, {}))
    assert outcome.status is TrialStatus.DIVERGED
    assert outcome.diverged_epoch == 1 and len(outcome.history) == 1
    loss = outcome.history[0].loss
    assert not math.isfinite(loss) or loss > 4 * outcome.initial_loss


def trainer_with(config: ExperimentConfig, section: str, **changes: object) -> Trainer:
    """A Trainer for the tiny config with some keys of one section changed."""
    changed = config.model_copy(update={
        section: getattr(config, section).model_copy(update=changes)})
    return make_trainer(load_dataset(changed.data), model=changed.model, training=changed.training)


def test_diverge_factor_is_configurable(trainer: Trainer, tiny_config: ExperimentConfig) -> None:
    # A rate that overshoots at first without exploding: within the default factor of 4,
    # but past a factor barely above 1.
    trial = Trial("sgd", 2.0, 0, {})
    assert trainer.train(trial).status is TrialStatus.COMPLETED
    outcome = trainer_with(tiny_config, "training", diverge_factor=1.0001).train(trial)
    assert outcome.status is TrialStatus.DIVERGED
    assert outcome.history[0].loss > 1.0001 * outcome.initial_loss


def test_without_validation_set(tiny_config: ExperimentConfig) -> None:
    outcome = trainer_with(tiny_config, "data", validation=0).train(Trial("sgd", 0.1, 0, {}))
    assert outcome.status is TrialStatus.COMPLETED
    assert math.isnan(outcome.history[0].val_loss) and outcome.test["accuracy"] > 0.2


@pytest.mark.slow
def test_batch_larger_than_data_and_partial_last_batch(tiny_config: ExperimentConfig) -> None:
    for batch in (500, 1000, 7):  # 500 training images: one batch; clamped; ragged end
        trainer = trainer_with(tiny_config, "training", batch_size=batch, epochs=1)
        outcome = trainer.train(Trial("rmsprop", 1e-3, 0, {}))
        assert outcome.status is TrialStatus.COMPLETED and math.isfinite(outcome.history[0].loss)


def test_every_experiment_of_a_seed_starts_from_the_same_weights(
        tiny_config: ExperimentConfig) -> None:
    """Trials that differ in batch size (an axis) start from the very same weights
    for a seed: the comparison along the axis is controlled."""
    from lrlab.experiment.trials import plan_experiments

    axes = parse_config(TINY_AXES)
    first = {}
    for experiment in plan_experiments(axes):
        config = experiment.config
        trainer = make_trainer(load_dataset(config.data), model=config.model,
                               training=config.training)
        trial = experiment.trials[0]
        outcome = trainer.train(trial)
        assert outcome.status is TrialStatus.COMPLETED
        # The seed's initial loss on the same reference images is the same function of
        # the same weights: equal to the last bit across batch sizes.
        first.setdefault(trial.seed, outcome.initial_loss)
        assert outcome.initial_loss == first[trial.seed]


TINY_AXES = """\
data: {dataset: synthetic, train_limit: 600, validation: 100, test_limit: 200}
model: {hidden: [32]}
training: {epochs: 1, batch_size: [16, 128]}
sweep: {seeds: [3], optimizers: [{name: sgd, learning_rates: [0.1]}]}
"""


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["tensorflow", pytest.param("jax", marks=pytest.mark.jax)])
def test_early_stopping_and_dead_units_reach_the_run_directory(engine: str, tmp_path) -> None:
    """A sweep with early stopping on either engine: the rate that learns in an epoch is
    stopped after it stops improving, the diverging one kills its ReLU units, and
    result.json, results.csv and compare all say so."""
    import csv
    import json

    pytest.importorskip("jax") if engine == "jax" else None
    from lrlab.analysis.compare import compare_runs
    from lrlab.run.backends import LocalBackend
    from lrlab.run.sweep import run_sweep
    from lrlab.rundir.loading import scan_runs

    config = parse_config(f"""
name: stopping
data: {{dataset: synthetic, train_limit: 1100, validation: 200, test_limit: 300}}
model: {{hidden: [64]}}
training: {{epochs: 8, engine: {engine}, early_stopping: {{patience: 2}}}}
sweep: {{optimizers: [{{name: sgd, learning_rates: [0.3, 30.0]}}]}}
""")
    report = run_sweep(config, runs_dir=tmp_path, backend=LocalBackend(workers=1))
    results = {p.parent.name.split("-s0")[0]: json.loads(p.read_text())
               for p in report.run_dir.glob("trials/*/result.json")}
    learns, blows = results["sgd-lr3.00e-01"], results["sgd-lr3.00e+01"]
    assert learns["status"] == "stopped" and learns["stopped_epoch"] == learns["epochs"] < 8
    assert learns["best"]["epoch"] == learns["epochs"] - 2  # two epochs without a gain
    assert learns["dead_units"] < 0.5 and learns["failure"]["reason"] is None
    assert blows["status"] == "diverged" and blows["dead_units"] > 0.9
    rows = list(csv.DictReader((report.run_dir / "results.csv").open()))
    assert {r["status"] for r in rows} == {"stopped", "diverged"}
    scan = scan_runs([report.run_dir])
    (verdict,) = compare_runs(scan.frame, plans=scan.plans).verdicts
    assert verdict.best_learning_rate == 0.3 and not verdict.provisional
    from lrlab.analysis.status import read_status

    status = read_status(report.run_dir)
    assert status.finished == 2 and status.pending == 0
