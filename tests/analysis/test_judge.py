"""The one judge of a trial: the sweep's result.json and compare say the same of every
trial, and a range of rates all too small says which rates to add."""

import json
import math
from pathlib import Path

from lrlab.analysis.compare import compare_runs, trial_values
from lrlab.analysis.judge import default_metric, judge_trial
from lrlab.experiment.config import parse_config
from lrlab.experiment.objective import DEFAULT_OBJECTIVE, build_objective
from lrlab.present.render import verdict_block
from lrlab.run.sweep import run_sweep
from lrlab.rundir.loading import load_runs

NO_VALIDATION = """
name: noval
data: {dataset: synthetic, train_limit: 600, test_limit: 300, validation: 0}
model: {hidden: [16]}
training: {epochs: 1, batch_size: 32}
sweep:
  seeds: [0, 1]
  optimizers:
    - {name: sgd, learning_rates: [RATES]}
"""


def _sweep(tmp_path: Path, rates: str) -> Path:
    config = parse_config(NO_VALIDATION.replace("RATES", rates))
    return run_sweep(config, runs_dir=tmp_path).run_dir


def test_the_sweep_and_compare_judge_every_trial_alike_without_validation(tmp_path) -> None:
    # At these rates one epoch leaves the running training accuracy below chance + 0.1 on
    # some seeds while the test accuracy after it is above: lrlab 0.3's sweep judged the
    # first, its compare the second, and they disagreed on 0.05's seed 1 and 0.1's seed 0.
    run_dir = _sweep(tmp_path, "0.05, 0.1")
    values = trial_values(load_runs(run_dir), metric="test_accuracy", at="best")
    said = {}
    for _, row in values.iterrows():
        result = json.loads((run_dir / "trials" / row["trial_id"] / "result.json").read_text())
        said[row["trial_id"]] = ((result["failure"] or {}).get("reason") == "stalled",
                                 bool(row["stalled"]))
    assert len(said) == 4 and all(sweep == compare for sweep, compare in said.values()), said


def test_every_rate_too_small_names_the_rates_to_add(tmp_path) -> None:
    run_dir = _sweep(tmp_path, "1e-4, 3e-4, 1e-3")
    verdict = compare_runs(load_runs(run_dir)).verdicts[0]
    assert not verdict.learns
    assert {f.reason for _, found in verdict.failures for f in found} == {"too_small"}
    answer = verdict_block(verdict)[0]
    assert "is too small" in answer and "add rates from 0.00333 to 0.037" in answer, answer


def test_without_validation_the_test_value_is_judged_and_dead_units_said() -> None:
    history = {"loss": [2.3, 2.3], "accuracy": [0.1, 0.1]}
    judged = judge_trial(history, status="completed", test={"loss": 2.3, "accuracy": 0.12},
                         baseline={"test_accuracy": 0.1}, objective=DEFAULT_OBJECTIVE,
                         has_validation=False, dead_units=0.9)
    assert judged.column == "test_accuracy" and judged.stalled
    assert judged.reason == ("stalled", {"dead_units": 0.9})


def test_the_judge_reads_the_objective_s_column_and_direction() -> None:
    objective = build_objective(loss="mse", metrics=["mae"], labels="regression")
    assert default_metric(objective, has_validation=True) == "val_mae"
    assert default_metric(objective, has_validation=False) == "test_mae"
    history = {"loss": [900.0, 400.0, 500.0], "mae": [25.0, 18.0, 19.0],
               "val_loss": [800.0, 300.0, 350.0], "val_mae": [24.0, 15.0, 16.0]}
    judged = judge_trial(history, status="completed", test={"loss": 1.0, "mae": 16.0},
                         baseline={"val_mae": 20.0}, objective=objective, has_validation=True)
    # Lower is better: the best epoch is the second, 15 is beyond 20 by more than 2.
    assert (judged.epoch, judged.value, judged.stalled) == (2, 15.0, False)
    flat = judge_trial(history, status="completed", test={}, baseline={"val_mae": 16.0},
                       objective=objective, has_validation=True)
    assert flat.stalled  # 15 is not below 16 by a tenth of 16
    old = judge_trial(history, status="completed", test={}, baseline={}, objective=objective,
                      has_validation=True, column="val_loss", initial_loss=math.inf)
    assert not old.stalled  # no baseline recorded: a loss need only fall below its start


def test_rates_whose_values_are_all_missing_still_bound_the_range(tmp_path) -> None:
    # A regression that diverges reads val_mae inf: its rate has no value, yet it was
    # tried, so the best rate below it is not "the largest rate tried".
    from helpers import write_fixture_sweep

    trials = {("sgd", 0.01, s): ([0.80, 0.90], "completed") for s in (0, 1)}
    trials |= {("sgd", 0.1, s): ([0.85, 0.95], "completed") for s in (0, 1)}
    trials |= {("sgd", 1.0, s): ([math.nan], "diverged") for s in (0, 1)}
    verdict = compare_runs(load_runs(write_fixture_sweep(tmp_path, trials=trials))).verdicts[0]
    assert verdict.best_learning_rate == 0.1 and verdict.largest_learning == 0.1
    assert verdict.edges == ()
