from __future__ import annotations

import math

import pytest
import yaml

from lrlab.errors import ConfigError
from lrlab.experiment.config import ExperimentConfig, ScheduleConfig, parse_config
from lrlab.experiment.trials import Trial, expand_trials
from lrlab.training import make_trainer
from lrlab.training.data import load_dataset
from lrlab.training.model import build_optimizer
from lrlab.training.schedules import peak_schedule, rate_variable

keras = pytest.importorskip("keras")
STEPS = [0, 1, 7, 10, 19, 20, 33, 60, 99, 100]


def rates(schedule, steps=STEPS) -> list[float]:
    return [float(schedule(step)) for step in steps]


def build_schedule(config: ScheduleConfig, *, peak: float, steps_per_epoch: int, epochs: int):
    """A peak schedule with its peak assigned, as the engine does for each trial."""
    schedule = peak_schedule(config, steps_per_epoch=steps_per_epoch, epochs=epochs)
    schedule.peak.assign(peak)
    return schedule


def test_step_and_exponential_match_keras() -> None:
    for kind, staircase in (("step", True), ("exponential", False)):
        ours = build_schedule(ScheduleConfig(type=kind, decay_rate=0.3, decay_epochs=2),
                              peak=0.05, steps_per_epoch=10, epochs=10)
        keras_own = keras.optimizers.schedules.ExponentialDecay(
            0.05, decay_steps=20, decay_rate=0.3, staircase=staircase)
        assert rates(ours) == pytest.approx(rates(keras_own), rel=1e-6)


def test_cosine_with_warmup_matches_keras() -> None:
    ours = build_schedule(ScheduleConfig(type="cosine", final_fraction=0.1, warmup_epochs=1.5),
                          peak=0.2, steps_per_epoch=10, epochs=10)
    keras_own = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=100 - 15, alpha=0.1, warmup_target=0.2, warmup_steps=15)
    assert rates(ours) == pytest.approx(rates(keras_own), rel=1e-5, abs=1e-9)


def test_warmup_then_constant_and_peak_is_a_variable() -> None:
    ours = build_schedule(ScheduleConfig(warmup_epochs=1), peak=0.1, steps_per_epoch=10,
                          epochs=3)
    assert rates(ours, [0, 5, 10, 25]) == pytest.approx([0.0, 0.05, 0.1, 0.1])
    ours.peak.assign(1.0)  # what a new trial does instead of recompiling
    assert rates(ours, [5, 25]) == pytest.approx([0.5, 1.0])


def test_a_constant_rate_is_a_flat_schedule_whose_peak_must_be_set() -> None:
    flat = peak_schedule(ScheduleConfig(), steps_per_epoch=10, epochs=3)
    assert all(map(math.isnan, rates(flat, [0, 29])))  # unset: visible at once, not 0
    flat.peak.assign(0.01)
    assert rates(flat, [0, 15, 29]) == pytest.approx([0.01] * 3)


def test_config_forms_labels_and_errors() -> None:
    config = parse_config("""
sweep:
  optimizers:
    - name: sgd
      learning_rates: [0.1]
      schedule: [constant, cosine, {type: step, decay_rate: 0.1, warmup_epochs: 0.5}]
""")
    trials = expand_trials(config)
    assert [t.schedule.label() for t in trials] == [
        "constant", "cosine", "step(decay_rate=0.1,warmup_epochs=0.5)"]
    assert "schedule" not in trials[0].params()  # constant-rate ids are unchanged
    assert trials[1].params()["schedule"] == "cosine"
    assert trials[1].trial_id.startswith("sgd-lr1.00e-01-cosine-s0-")
    # As run directories written before schedules existed name it:
    assert expand_trials(config, legacy=True)[0].trial_id == "sgd-lr1.00e-01-s0-9b487d"
    with pytest.raises(ConfigError, match=r"optimizers\[0\].schedule.decay_rate: Input "
                                          r"should be greater than 0"):
        parse_config("sweep: {optimizers: [{name: sgd, learning_rates: [1], "
                     "schedule: {type: step, decay_rate: 0}}]}")
    # The shorthand is named as written; the mapping's key as written.
    with pytest.raises(ConfigError, match=r"\[0\].schedule: Input should be 'constant'"):
        parse_config("sweep: {optimizers: [{name: sgd, learning_rates: [1], schedule: linear}]}")
    with pytest.raises(ConfigError, match="schedule.type: Input should be 'constant'"):
        parse_config("sweep: {optimizers: [{name: sgd, learning_rates: [1], "
                     "schedule: {type: linear}}]}")


def test_resolved_config_round_trips_and_omits_constant() -> None:
    plain = parse_config("sweep: {optimizers: [{name: sgd, learning_rates: [1]}]}")
    assert "schedule" not in plain.to_dict()["sweep"]["optimizers"][0]
    cosine = parse_config("sweep: {optimizers: [{name: sgd, learning_rates: [1], "
                          "schedule: cosine}]}")
    again = parse_config(yaml.safe_dump(cosine.to_dict()))
    assert again == cosine


@pytest.mark.slow
def test_history_shows_the_rate_in_effect(tiny_config: ExperimentConfig) -> None:
    config = tiny_config.model_copy(update={
        "training": tiny_config.training.model_copy(update={"epochs": 3})})
    trainer = make_trainer(load_dataset(config.data), model=config.model,
                           training=config.training)
    halving = trainer.train(Trial("sgd", 0.1, 0, {}, ScheduleConfig(type="step")))
    assert [r.lr for r in halving.history] == pytest.approx([0.05, 0.025, 0.0125])
    # The same compiled step serves another peak rate.
    other = trainer.train(Trial("sgd", 0.4, 0, {}, ScheduleConfig(type="step")))
    assert [r.lr for r in other.history] == pytest.approx([0.2, 0.1, 0.05])
    constant = trainer.train(Trial("sgd", 0.1, 0, {}))
    assert [r.lr for r in constant.history] == [0.1, 0.1, 0.1]
    assert constant.history[-1].loss != halving.history[-1].loss


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam"])
def test_the_jax_engine_s_rate_slot_is_where_keras_keeps_the_rate(name: str) -> None:
    """The jax engine writes each member's rate into the variable rate_variable names:
    that must be the one the optimizer steps with, among its variables. Fails when an
    installed Keras moves it."""
    optimizer = build_optimizer(name, learning_rate=1.0, hyperparameters={})
    weight = keras.Variable([1.0])
    optimizer.build([weight])
    slot = rate_variable(optimizer)
    assert any(v is slot for v in optimizer.variables)
    slot.assign(0.25)
    assert float(optimizer.learning_rate) == 0.25
    if name == "sgd":  # one step moves the weight by the rate the slot holds
        optimizer.apply([keras.ops.convert_to_tensor([2.0])], [weight])
        assert float(weight.numpy()[0]) == pytest.approx(1.0 - 0.25 * 2.0)
