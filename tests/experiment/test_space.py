"""Any setting an axis: grids and sampled ranges of data, model and training settings,
their expansion into trials, the samplers' points, and rate scaling with the batch size."""

from __future__ import annotations

import collections
import math

import numpy as np
import pytest
import yaml

from lrlab.errors import ConfigError
from lrlab.experiment.config import parse_config
from lrlab.experiment.space import draw_units
from lrlab.experiment.trials import (
    Design,
    check_size,
    count_trials,
    draw_design,
    expand_trials,
    plan_experiments,
)

SWEEP = "sweep:\n  seeds: [0, 1]\n  optimizers:\n    - {name: sgd, learning_rates: [0.01, 0.1]}\n"


def config(head: str, sweep: str = SWEEP):
    return parse_config(head + sweep, source="c.yaml")


@pytest.mark.parametrize(("head", "column", "values"), [
    ("training: {batch_size: [32, 128]}\n", "batch_size", [32, 128]),
    ("training: {epochs: [1, 2, 4]}\n", "epochs", [1, 2, 4]),
    ("model: {hidden: [[64], [128, 128]]}\n", "model.hidden", [64, "128,128"]),
    ("model: {dropout: {values: [0.0, 0.2]}}\n", "model.dropout", [0.0, 0.2]),
    ("model: {kind: conv, kernel_size: [3, 5]}\n", "model.kernel_size", [3, 5]),
    ("model: {factory: 'm:f', args: {width: {values: [8, 16]}}}\n", "model.args.width",
     [8, 16]),
    ("data: {train_limit: [1000, 4000]}\n", "data.train_limit", [1000, 4000]),
    ("data: {dataset: loader, loader: 'd:f', args: {n: {values: [1, 2]}}}\n", "data.args.n",
     [1, 2]),
])
def test_each_kind_of_setting_expands_into_an_axis(head: str, column: str,
                                                   values: list) -> None:
    cfg = config(head)
    trials = expand_trials(cfg)
    assert len(trials) == count_trials(cfg) == 2 * 2 * len(values)  # rates x seeds x values
    assert len({t.trial_id for t in trials}) == len(trials)
    seen = [t.params()[column] for t in trials]
    assert list(dict.fromkeys(seen)) == values
    # Every value is a whole experiment: its own config, its trials' context says it.
    experiments = plan_experiments(cfg)
    assert len(experiments) == len(values)
    for experiment in experiments:
        assert not experiment.config.axes
        assert {t.params()[column] for t in experiment.trials} == {
            experiment.trials[0].params()[column]}


def test_an_experiment_config_is_that_point_of_the_space() -> None:
    cfg = config("training: {batch_size: [32, 128], epochs: 2}\nmodel: {hidden: [[64], [256]]}\n")
    points = {(e.config.training.batch_size, tuple(e.config.model.hidden))
              for e in plan_experiments(cfg)}
    assert points == {(32, (64,)), (32, (256,)), (128, (64,)), (128, (256,))}
    labels = {t.params()["model"] for t in expand_trials(cfg)}
    assert labels == {"dense(64)", "dense(256)"}


def test_lists_that_are_one_value_stay_one_value() -> None:
    # hidden's list is the layers; a factory's list argument is passed whole; a one-value
    # list of a scalar setting is that value.
    cfg = config("model: {factory: 'm:f', args: {sizes: [8, 16]}}\ntraining: {batch_size: [64]}\n")
    assert cfg.axes == ()
    assert cfg.model.args == {"sizes": [8, 16]} and cfg.training.batch_size == 64
    assert config("model: {hidden: [256, 128]}\n").model.hidden == [256, 128]
    assert config("model: {hidden: [[256, 128]]}\n").model.hidden == [256, 128]


def test_the_config_round_trips_with_its_axes() -> None:
    cfg = config("training: {batch_size: [32, 64]}\nmodel: {hidden: [[64], [128]], "
                 "dropout: {values: [0.1, 0.3]}}\n")
    again = parse_config(yaml.safe_dump(cfg.to_dict(), sort_keys=False))  # as sweep.yaml is
    assert again.to_dict() == cfg.to_dict()
    assert [t.trial_id for t in expand_trials(again)] == [t.trial_id for t in expand_trials(cfg)]
    # The keys' order in the file orders the trials, never their ids.
    shuffled = parse_config(yaml.safe_dump(cfg.to_dict(), sort_keys=True))
    assert {t.trial_id for t in expand_trials(shuffled)} == {
        t.trial_id for t in expand_trials(cfg)}


@pytest.mark.parametrize(("head", "expected"), [
    ("training: {engine: [tensorflow, jax]}\n",
     "c.yaml:1: training.engine: the engine is not an axis; run one sweep per value"),
    ("training: {batch_size: [32, 0]}\n",
     "c.yaml:1: training.batch_size: Input should be greater than or equal to 1 (got 0)"),
    ("training: {batch_size: [32, 32]}\n",
     "c.yaml:1: training.batch_size: duplicate value 32"),
    ("training: {batch_size: {low: 64, high: 32}}\n",
     "c.yaml:1: training.batch_size: low (64) must be below high (32)"),
    ("training: {batch_size: {low: 32, high: 64, lg: true}}\n",
     "c.yaml:1: training.batch_size.lg: unknown key of a range; expected one of: low, high"),
    ("model: {dropout: {low: 0.0, high: 1.5}}\n",
     "c.yaml:1: model.dropout: Input should be less than 1 (got 1.5)"),
    ("model: {dropout: {low: 0, high: 0.5, log: true}}\n",
     "c.yaml:1: model.dropout: log: a log scale needs low > 0"),
    ("axes: {}\n", "c.yaml:1: axes: unknown key"),
])
def test_a_bad_axis_is_one_line_naming_it(head: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(head, SWEEP.replace("[0.01, 0.1]", "{low: 0.01, high: 0.1}")
               if "low" in head else SWEEP)
    assert str(caught.value).startswith(expected), str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_sampler_must_fit_the_ranges() -> None:
    with pytest.raises(ConfigError, match=r"sweep.sampler: grid cannot draw sweep.optimizers"
                                          r"\[0\].learning_rates's range"):
        config("", "sweep:\n  sampler: grid\n  optimizers:\n"
                   "    - {name: sgd, learning_rates: {low: 0.001, high: 1}}\n")
    with pytest.raises(ConfigError, match="sweep.sampler: sobol draws from ranges"):
        config("", "sweep:\n  sampler: sobol\n" + SWEEP.split("\n", 1)[1])
    # A range and no word on how: Sobol, 16 points.
    cfg = config("", "sweep:\n  optimizers:\n"
                     "    - {name: sgd, learning_rates: {low: 0.001, high: 1}}\n")
    assert (cfg.sweep.sampler, cfg.points, len(expand_trials(cfg))) == ("sobol", 16, 16)


SAMPLED = ("sweep:\n  sampler: {sampler}\n  points: {points}\n  seeds: [0, 1, 2]\n"
           "  optimizers:\n"
           "    - {{name: sgd, learning_rates: {{low: 0.0001, high: 1}}, "
           "momentum: {{low: 0.0, high: 0.95}}}}\n"
           "    - {{name: rmsprop, learning_rates: [0.001]}}\n")


@pytest.mark.parametrize("sampler", ["random", "sobol", "halton"])
def test_sampled_points_are_paired_across_seeds_and_extend(sampler: str) -> None:
    cfg = config("training: {batch_size: {low: 16, high: 256, log: true}}\n",
                 SAMPLED.format(sampler=sampler, points=8))
    trials = expand_trials(cfg)
    assert len(trials) == count_trials(cfg) == 8 * (1 + 1) * 3
    # Every point of the design trains with every seed: verdicts stay paired.
    seeds = collections.defaultdict(set)
    for t in trials:
        params = t.params()
        seeds[tuple(sorted((k, str(v)) for k, v in params.items() if k != "seed"))].add(
            params["seed"])
    assert set(map(frozenset, seeds.values())) == {frozenset({0, 1, 2})}
    sgd = [t for t in trials if t.optimizer == "sgd" and t.seed == 0]
    assert all(1e-4 <= t.learning_rate <= 1 and 0 <= t.hyperparameters["momentum"] <= 0.95
               for t in sgd)
    batches = {dict(t.context)["batch_size"] for t in trials}
    assert all(isinstance(b, int) and 16 <= b <= 256 for b in batches)
    # The same config draws the same points; more points extend them.
    assert [t.trial_id for t in expand_trials(cfg)] == [t.trial_id for t in trials]
    more = config("training: {batch_size: {low: 16, high: 256, log: true}}\n",
                  SAMPLED.format(sampler=sampler, points=16))
    assert draw_design(more).units[:8] == draw_design(cfg).units
    assert {t.trial_id for t in trials} < {t.trial_id for t in expand_trials(more)}


def test_a_recorded_design_is_kept_and_extended_not_redrawn() -> None:
    cfg = config("", SAMPLED.format(sampler="sobol", points=4))
    drawn = draw_design(cfg)
    recorded = Design(drawn.sampler, drawn.seed, drawn.dimensions,
                      tuple((0.5, 0.5) for _ in range(2)))  # what an older SciPy drew, say
    kept = draw_design(cfg, recorded=recorded)
    assert kept.units[:2] == recorded.units and kept.units[2:] == drawn.units[2:]
    rates = [t.learning_rate for t in expand_trials(cfg, design=kept)
             if t.optimizer == "sgd" and t.seed == 0]
    assert rates[0] == rates[1] == pytest.approx(1e-2)  # the geometric middle of the range
    # Another sampler or seed is another design: drawn afresh.
    other = Design("halton", drawn.seed, drawn.dimensions, recorded.units)
    assert draw_design(cfg, recorded=other).units == drawn.units
    assert Design.from_dict(kept.to_dict()) == kept
    with pytest.raises(ValueError, match="one coordinate in"):
        Design.from_dict({**kept.to_dict(), "units": [[0.5, 1.5]]})


def test_quasi_random_points_cover_the_square_evenly() -> None:
    # Scrambled Sobol fills the unit square more evenly than random points: the largest
    # empty cell of a 4x4 grid is what a user's range would miss.
    def empty_cells(units: np.ndarray) -> int:
        cells = {(int(x * 4), int(y * 4)) for x, y in units}
        return 16 - len(cells)
    assert empty_cells(draw_units("sobol", 16, 2, seed=0)) == 0
    assert empty_cells(draw_units("halton", 64, 2, seed=0)) == 0
    assert draw_units("sobol", 4, 2, seed=1).tolist() != draw_units("sobol", 4, 2, 2).tolist()


@pytest.mark.parametrize(("rule", "power"), [("linear", 1.0), ("sqrt", 0.5), ("none", 0.0)])
def test_rates_follow_the_batch_size_by_the_rule(rule: str, power: float) -> None:
    cfg = config("training: {batch_size: [32, 128, 512]}\n",
                 "sweep:\n  optimizers:\n    - {name: sgd, learning_rates: [0.1], "
                 f"scale_rates: {rule}}}\n")
    rates = {dict(t.context)["batch_size"]: t.learning_rate for t in expand_trials(cfg)}
    assert rates == {b: pytest.approx(0.1 * (b / 32) ** power) for b in (32, 128, 512)}
    based = config("training: {batch_size: 256}\n", "sweep:\n  optimizers:\n    - {name: sgd, "
                   f"learning_rates: [0.1], scale_rates: {rule}, base_batch_size: 64}}\n")
    assert expand_trials(based)[0].learning_rate == pytest.approx(0.1 * 4 ** power)


def test_ids_of_a_config_without_axes_are_unchanged() -> None:
    # The seed experiment's ids, as its documented outputs show them.
    cfg = parse_config(open("configs/mnist.yaml").read())
    ids = [t.trial_id for t in expand_trials(cfg)]
    assert "sgd-lr1.00e-01-s0-ccb348" in ids and "rmsprop-lr1.00e-03-s0-da7ea1" in ids


def test_a_sweep_too_large_says_where_its_trials_come_from() -> None:
    cfg = config("training: {batch_size: [32, 64, 128]}\nmodel: {hidden: [[64], [128]]}\n")
    assert count_trials(cfg) == 2 * 2 * 3 * 2
    with pytest.raises(ConfigError, match=r"24 trials \(\(sgd 2\) x 2 model.hidden x 3 "
                                          r"training.batch_size x 2 seeds\)"):
        check_size(cfg, max_trials=10)
    assert math.isclose(len(expand_trials(cfg)), 24)
