from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest

from lrlab.rundir.files import json_text
from lrlab.rundir.records import (
    EPOCH_METRICS,
    FRAME_TRIAL_COLUMNS,
    HISTORY_COLUMNS,
    RESULT_COLUMNS,
    EpochRecord,
    TrialOutcome,
    TrialResult,
    TrialStatus,
    best_epoch,
    results_columns,
)


def record(epoch: int, val_accuracy: float, loss: float = 1.0,
           accuracy: float = 0.5) -> EpochRecord:
    return EpochRecord.of(epoch=epoch, lr=0.1, loss=loss, accuracy=accuracy, val_loss=1.0,
                          val_accuracy=val_accuracy, seconds=0.1)


def test_columns_come_from_the_records() -> None:
    assert HISTORY_COLUMNS == ("epoch", "lr", "loss", "accuracy", "val_loss", "val_accuracy",
                               "seconds")
    assert set(EPOCH_METRICS) <= set(HISTORY_COLUMNS)
    assert set(EPOCH_METRICS) <= set(RESULT_COLUMNS)
    # The tidy frame holds a trial's fields beside each epoch's: no name may clash.
    assert not set(FRAME_TRIAL_COLUMNS) & set(HISTORY_COLUMNS)


def test_finished_statuses_are_results() -> None:
    assert {s for s in TrialStatus if s.finished} == {
        TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.DIVERGED}


def test_best_epoch_prefers_validation_then_the_earliest() -> None:
    history = [record(1, 0.8), record(2, 0.9), record(3, 0.9), record(4, math.nan)]
    assert best_epoch(history).epoch == 2
    # Without validation, the same metric on the training batches (not the loss).
    no_validation = [record(1, math.nan, loss=0.3, accuracy=0.6),
                     record(2, math.nan, loss=0.5, accuracy=0.7)]
    assert best_epoch(no_validation).epoch == 2
    assert best_epoch([]) is None


def test_result_from_outcome_round_trips_through_json() -> None:
    outcome = TrialOutcome(status=TrialStatus.DIVERGED, history=[record(1, 0.7), record(2, 0.1)],
                           initial_loss=2.3, diverged_epoch=2,
                           test={"loss": math.inf, "accuracy": 0.1}, seconds=3.14159)
    result = TrialResult.from_outcome("t1", outcome, started_at="s", finished_at="f")
    data = json.loads(json_text(result.to_json()))
    assert data["status"] == "diverged" and data["epochs"] == 2 and data["seconds"] == 3.142
    assert data["best"] == {"epoch": 1, "loss": 1.0, "accuracy": 0.5, "val_loss": 1.0,
                            "val_accuracy": 0.7}
    assert data["final"]["val_accuracy"] == 0.1
    assert data["test"] == {"loss": None, "accuracy": 0.1}  # infinity is written as null
    back = TrialResult.from_json(data)
    assert math.isnan(back.test_loss)
    assert dataclasses.replace(back, test={**back.test, "loss": math.inf}) == result


def test_rows_flatten_one_result_the_same_way_everywhere() -> None:
    outcome = TrialOutcome(status=TrialStatus.COMPLETED, history=[record(1, 0.9)],
                           initial_loss=2.3, test={"loss": 0.3, "accuracy": 0.91}, seconds=2.0)
    result = TrialResult.from_outcome("t1", outcome, started_at="s", finished_at="f")
    row = result.row({"optimizer": "sgd", "learning_rate": 0.1, "seed": 0})
    assert list(row) == ["trial_id", "optimizer", "learning_rate", "seed", *RESULT_COLUMNS]
    assert row["best_val_accuracy"] == 0.9 and row["seconds"] == 2.0
    fields = result.frame_fields()
    assert list(fields) == list(FRAME_TRIAL_COLUMNS) and fields["trial_seconds"] == 2.0
    other = result.row({"optimizer": "sgd", "learning_rate": 0.1, "seed": 0, "momentum": 0.9})
    assert results_columns([row, other]) == [
        "trial_id", "optimizer", "learning_rate", "seed", "momentum", *RESULT_COLUMNS]


@pytest.mark.parametrize(("data", "message"), [
    ({"status": "finished"}, "unknown status 'finished'; expected one of completed"),
    ({"status": "completed", "epochs": "three"},
     "epochs: expected a whole number >= 0, got 'three'"),
    ({"status": "completed", "epochs": 1e999}, "epochs: expected a whole number >= 0, got inf"),
    ({"status": "completed", "epochs": 2.5}, "epochs: expected a whole number"),
    ({"status": "completed", "final": [1, 2]}, r"final: expected an object, got \[1, 2\]"),
    ({"status": "completed", "final": {"loss": "abc"}}, "final: expected a number or null"),
    ({"status": ["completed"]}, "unknown status"),
    ({"status": "completed", "test": 5}, "malformed|expected an object"),
    ({"status": "completed", "error": 5}, "error: expected a string"),
])
def test_damaged_results_say_what_is_wrong(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrialResult.from_json(data)


@pytest.mark.parametrize(("change", "message"), [
    ({"batch_size": 1e-320}, "batch_size: expected a whole number >= 1, got 1e-320"),
    ({"batch_size": 0}, "batch_size: expected a whole number >= 1, got 0"),
    ({"epochs": -3}, "epochs: expected a whole number >= 1, got -3"),
])
def test_damaged_experiment_sizes_in_params_say_what_is_wrong(change: dict, message: str) -> None:
    """The seeded fuzz test's round 95 planted a batch size of 1e-320, which reached the
    report's log-scale batch axis as a batch of nothing and raised there."""
    from lrlab.rundir.records import parse_params

    params = {"optimizer": "sgd", "learning_rate": 0.1, "seed": 0, "batch_size": 32,
              "epochs": 2}
    assert parse_params(params) == params
    with pytest.raises(ValueError, match=f"^{message}$"):
        parse_params({**params, **change})


def test_a_range_test_rule_without_its_interval_is_named() -> None:
    """The report shows each rule's median, low and high: a damaged result.json that lacks
    one is a one-line error, not a template's traceback (seed 7 of the fuzz test)."""
    from lrlab.rundir.records import parse_range_test

    data = {"rule": "valley", "options": {}, "optimizers": {"sgd": {
        "suggested": 0.1, "grid": [0.01, 0.1], "rules": {"valley": {"median": 0.1,
                                                                   "low": 0.05}}}}}
    with pytest.raises(ValueError, match=r"^sgd.rules.valley.high: missing$"):
        parse_range_test(data)
    data["optimizers"]["sgd"]["rules"]["valley"]["high"] = None  # not measured: allowed
    assert parse_range_test(data) == data


def test_a_plan_names_each_trial_with_scalar_parameters() -> None:
    from lrlab.rundir.records import parse_plan

    good = {"trials": [{"trial_id": "sgd-a", "learning_rate": 0.1, "nesterov": False}],
            "unasked": [{"optimizer": "sgd", "seed": 0, "point": 3}]}
    assert parse_plan(good) == good
    for bad, where in (({"trials": {}}, "trials"),
                       ({"trials": [{"learning_rate": 0.1}]}, "trials[1].trial_id"),
                       ({"trials": [{"trial_id": "x", "seed": [0]}]}, "trials[1].seed"),
                       ({"trials": [], "unasked": [{"optimizer": "sgd", "seed": -1,
                                                    "point": 0}]}, "unasked[1].seed")):
        with pytest.raises(ValueError, match=re.escape(where)):
            parse_plan(bad)
