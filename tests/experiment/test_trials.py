from __future__ import annotations

import pytest

from lrlab.experiment.config import parse_config
from lrlab.experiment.trials import expand_trials

GRID = """\
sweep:
  seeds: [0, 1]
  optimizers:
    - name: sgd
      learning_rates: [0.01, 0.1]
      momentum: [0.0, 0.9]
      nesterov: [false, true]
    - name: rmsprop
      learning_rates: {start: 1e-4, stop: 1e-2, num: 3}
"""


def test_product_in_stable_order() -> None:
    trials = expand_trials(parse_config(GRID))
    assert len(trials) == 2 * 2 * 2 * 2 + 3 * 2
    head = [(t.optimizer, t.learning_rate, t.hyperparameters["momentum"],
             t.hyperparameters["nesterov"], t.seed) for t in trials[:5]]
    assert head == [("sgd", 0.01, 0.0, False, 0), ("sgd", 0.01, 0.0, False, 1),
                    ("sgd", 0.01, 0.0, True, 0), ("sgd", 0.01, 0.0, True, 1),
                    ("sgd", 0.01, 0.9, False, 0)]
    assert [t.optimizer for t in trials[-6:]] == ["rmsprop"] * 6
    assert trials[-1].hyperparameters == {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                                          "centered": False}


def test_ids_are_readable_distinct_and_stable() -> None:
    first = [t.trial_id for t in expand_trials(parse_config(GRID))]
    again = [t.trial_id for t in expand_trials(parse_config(GRID))]
    assert first == again
    assert len(set(first)) == len(first)
    assert first[0].startswith("sgd-lr1.00e-02-s0-")
    assert first[-1].startswith("rmsprop-lr1.00e-02-s1-")


def test_id_depends_on_parameters_not_on_position() -> None:
    one = expand_trials(parse_config(GRID))
    reordered = parse_config(GRID.replace("[0.01, 0.1]", "[0.1, 0.01]"))
    ids = {t.trial_id for t in expand_trials(reordered)}
    assert ids == {t.trial_id for t in one}


def test_params_are_flat_and_name_the_whole_experiment() -> None:
    trial = expand_trials(parse_config(GRID))[0]
    assert trial.params() == {"optimizer": "sgd", "learning_rate": 0.01, "seed": 0,
                              "momentum": 0.0, "nesterov": False,
                              "data": "mnist[validation=10000]", "model": "dense(512)",
                              "batch_size": 32, "epochs": 3, "diverge_factor": 4.0}


@pytest.mark.parametrize("change", [
    ("sweep:", "training: {batch_size: 128}\nsweep:"),
    ("sweep:", "training: {epochs: 4}\nsweep:"),
    ("sweep:", "model: {hidden: [512], dropout: 0.2}\nsweep:"),
    ("sweep:", "model: {kind: conv}\nsweep:"),
    ("sweep:", "data: {dataset: fashion_mnist}\nsweep:"),
    ("sweep:", "data: {train_limit: 1000}\nsweep:"),
])
def test_what_defines_the_training_defines_the_id(change: tuple[str, str]) -> None:
    """The same rate at batch 32 and at batch 128 (or on other data, of another model) is
    another experiment: another id, and parameters that tell them apart in compare."""
    base = expand_trials(parse_config(GRID))
    other = expand_trials(parse_config(GRID.replace(*change, 1)))
    assert {t.trial_id for t in base}.isdisjoint(t.trial_id for t in other)
    assert all(a.params() != b.params() for a, b in zip(base, other, strict=True))


def test_engine_and_stacking_are_not_the_experiment() -> None:
    base = expand_trials(parse_config(GRID))
    other = expand_trials(parse_config(GRID.replace(
        "sweep:", "training: {engine: jax, stack: 4}\nsweep:", 1)))
    assert [t.trial_id for t in base] == [t.trial_id for t in other]


def test_legacy_ids_are_those_of_run_directories_written_before() -> None:
    legacy = expand_trials(parse_config(GRID), legacy=True)[0]
    assert legacy.params() == {"optimizer": "sgd", "learning_rate": 0.01, "seed": 0,
                               "momentum": 0.0, "nesterov": False}
    assert legacy.trial_id != expand_trials(parse_config(GRID))[0].trial_id
