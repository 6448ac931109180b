from __future__ import annotations

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


def test_params_are_flat() -> None:
    trial = expand_trials(parse_config(GRID))[0]
    assert trial.params() == {"optimizer": "sgd", "learning_rate": 0.01, "seed": 0,
                              "momentum": 0.0, "nesterov": False}
