from __future__ import annotations

import math
from pathlib import Path

import pytest

from lrlab.compare import CompareError, default_metric, summarize, verdicts
from lrlab.runs import load_runs


@pytest.fixture
def frame(fixture_sweep: Path):
    return load_runs(fixture_sweep)


def row(table, optimizer: str, lr: float):
    (match,) = table[(table["optimizer"] == optimizer) & (table["learning_rate"] == lr)].index
    return table.loc[match]


def test_seed_statistics_by_hand(frame) -> None:
    table = summarize(frame)  # val_accuracy at each trial's best epoch
    # Sweeps, then optimizers, in the order found (trial folders sort by name), rates ascending.
    assert list(table["optimizer"]) == ["rmsprop"] * 2 + ["sgd"] * 3
    assert list(table["learning_rate"]) == [0.001, 1.0, 0.01, 0.1, 1.0]
    slow = row(table, "sgd", 0.01)
    assert slow["mean"] == pytest.approx((0.88 + 0.90) / 2)
    assert slow["std"] == pytest.approx(math.sqrt(2 * 0.01**2))  # sample std, ddof=1
    assert slow["n"] == 2 and slow["epoch"] == 3 and slow["diverged"] == 0
    good = row(table, "sgd", 0.1)
    assert good["mean"] == pytest.approx(0.955) and good["epoch"] == 2.5
    assert good["final_loss"] == pytest.approx(((1 - 0.94) + (1 - 0.96)) / 2)
    assert good["seconds"] == pytest.approx(4.5)
    unstable = row(table, "sgd", 1.0)
    assert unstable["mean"] == pytest.approx((0.70 + 0.40) / 2) and unstable["diverged"] == 1
    broken = row(table, "rmsprop", 1.0)  # one seed diverged, the other failed: not counted
    assert broken["n"] == 1 and broken["mean"] == pytest.approx(0.20)
    assert math.isnan(broken["std"])


@pytest.mark.parametrize(("at", "expected"), [("last", (0.70 + 0.10) / 2),
                                              (2, (0.60 + 0.10) / 2), (3, 0.70)])
def test_at_last_and_at_epoch(frame, at, expected: float) -> None:
    assert row(summarize(frame, at=at), "sgd", 1.0)["mean"] == pytest.approx(expected)


def test_losses_are_minimised_and_test_metrics_have_one_value(frame) -> None:
    table = summarize(frame, metric="val_loss")
    assert row(table, "sgd", 0.1)["mean"] == pytest.approx(1.1 - 0.955)
    test = summarize(frame, metric="test_accuracy")
    assert row(test, "sgd", 0.1)["mean"] == pytest.approx(0.95)  # last epochs 0.94, 0.96


def test_verdict_per_optimizer(frame) -> None:
    rmsprop, sgd = verdicts(summarize(frame), tolerance=0.01)
    assert (sgd.optimizer, sgd.best_learning_rate) == ("sgd", 0.1)
    assert sgd.best_mean == pytest.approx(0.955) and sgd.best_n == 2
    assert (sgd.good_low, sgd.good_high, sgd.good_count) == (0.1, 0.1, 1)
    assert sgd.largest_stable == 0.1  # a seed diverged at 1.0
    assert (rmsprop.best_learning_rate, rmsprop.largest_stable) == (0.001, 0.001)
    _, wide = verdicts(summarize(frame), tolerance=0.07)
    assert (wide.good_low, wide.good_high, wide.good_count) == (0.01, 0.1, 2)
    _, minimised = verdicts(summarize(frame, metric="val_loss"), tolerance=0.0)
    assert minimised.best_learning_rate == 0.1


def test_where_sort_top(frame) -> None:
    only_sgd = summarize(frame, where=["optimizer=sgd"])
    assert set(only_sgd["optimizer"]) == {"sgd"}
    small = summarize(frame, where=["learning_rate<0.5", "optimizer!=rmsprop"])
    assert list(small["learning_rate"]) == [0.01, 0.1]
    assert list(summarize(frame, where=["learning_rate>=1"])["learning_rate"]) == [1.0, 1.0]
    best_two = summarize(frame, top=2)
    assert list(best_two["learning_rate"]) == [0.001, 0.1]
    by_rate = summarize(frame, sort="learning_rate")
    assert list(by_rate["learning_rate"]) == sorted(by_rate["learning_rate"])
    assert summarize(frame, where=["seed=0"])["n"].max() == 1
    assert summarize(frame, where=["seed<2"])["n"].max() == 2  # 0/1 seeds are not booleans


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"metric": "val_acc"}, "--metric 'val_acc': unknown; expected one of: loss, accuracy"),
     ({"at": 4}, "--at 4: beyond the recorded epochs \\(the longest trial has 3\\)"),
     ({"at": "first"}, "expected best, last, or an epoch number"),
     ({"at": 0}, "numbered from 1"),
     ({"where": ["colour=red"]}, "unknown column 'colour'; expected one of: optimizer"),
     ({"where": ["learning_rate=fast"]}, "learning_rate is numeric; got 'fast'"),
     ({"where": ["optimizer=adam"]}, "no trial matches"),
     ({"where": ["nonsense"]}, "expected COLUMN=VALUE"),
     ({"sort": "colour"}, "--sort 'colour': unknown column"),
     ({"top": 0}, "--top 0: expected a number >= 1")],
)
def test_bad_requests(frame, kwargs: dict, message: str) -> None:
    with pytest.raises(CompareError, match=message):
        summarize(frame, **kwargs)


def test_default_metric_without_validation(frame) -> None:
    assert default_metric(frame) == "val_accuracy"
    assert default_metric(frame.assign(val_accuracy=float("nan"))) == "test_accuracy"


def test_schedule_is_a_column_and_a_group(fixture_sweep: Path) -> None:
    import json

    from lrlab.render import display_columns

    for trial in (fixture_sweep / "trials").glob("sgd-lr1.00e-01-s*"):
        params = json.loads((trial / "params.json").read_text())
        (trial / "params.json").write_text(json.dumps({**params, "schedule": "cosine"}))
    table = summarize(load_runs(fixture_sweep))
    assert "schedule" in display_columns(table)
    sgd = table[table["optimizer"] == "sgd"]
    assert list(zip(sgd["learning_rate"], sgd["schedule"], strict=True)) == [
        (0.01, "constant"), (0.1, "cosine"), (1.0, "constant")]
