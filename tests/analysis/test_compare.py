"""Comparisons on hand-made run directories: the values are written by the tests, the
expected statistics come from scipy.stats, never typed by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from helpers import RMSPROP, SGD, SQRT_TENTH, five_seed_trials, write_fixture_sweep
from scipy import stats as scipy_stats

from lrlab.analysis.compare import CompareError, compare_runs, default_metric, summarize
from lrlab.analysis.stats import holm
from lrlab.errors import LrlabError
from lrlab.experiment.config import parse_config
from lrlab.experiment.trials import expand_trials
from lrlab.rundir.loading import load_runs, scan_runs


@pytest.fixture
def five_seeds(tmp_path: Path) -> Path:
    return write_fixture_sweep(tmp_path / "runs", "five", trials=five_seed_trials())


@pytest.fixture
def frame(fixture_sweep: Path):
    return load_runs(fixture_sweep)


def row(table, optimizer: str, lr: float):
    (match,) = table[(table["optimizer"] == optimizer)
                     & np.isclose(table["learning_rate"], lr)].index
    return table.loc[match]


def test_seed_statistics_against_scipy(five_seeds: Path) -> None:
    comparison = compare_runs(load_runs(five_seeds))
    assert comparison.metric == "val_accuracy"
    table = comparison.summary
    for lr, values in SGD.items():
        got = row(table, "sgd", lr)
        assert got["mean"] == pytest.approx(values.mean())
        assert got["std"] == pytest.approx(values.std(ddof=1)) and got["n"] == 5
        low, high = scipy_stats.t.interval(0.95, 4, loc=values.mean(),
                                           scale=scipy_stats.sem(values))
        assert (got["ci_low"], got["ci_high"]) == pytest.approx((low, high))
    sgd = next(v for v in comparison.verdicts if v.optimizer == "sgd")
    assert sgd.best_learning_rate == SQRT_TENTH
    raw = {}
    for c in sgd.versus_best:  # every rate against the best, paired by seed
        expected = scipy_stats.ttest_rel(SGD[SQRT_TENTH], SGD[c.learning_rate])
        assert c.difference.p_value == pytest.approx(expected.pvalue)
        assert (c.difference.low, c.difference.high) == pytest.approx(
            tuple(expected.confidence_interval(0.95)))
        raw[c.learning_rate] = expected.pvalue
    adjusted = dict(zip(raw, holm(list(raw.values())), strict=True))
    for c in sgd.versus_best:
        assert c.p_adjusted == pytest.approx(adjusted[c.learning_rate])
        assert row(table, "sgd", c.learning_rate)["p_holm"] == pytest.approx(c.p_adjusted)


def test_the_tied_set_and_the_largest_rate_that_learns(five_seeds: Path) -> None:
    comparison = compare_runs(load_runs(five_seeds))
    sgd, rmsprop = (next(v for v in comparison.verdicts if v.optimizer == name)
                    for name in ("sgd", "rmsprop"))
    assert sgd.tied == (0.1, SQRT_TENTH)  # 0.1 is within the noise of 0.316
    assert sgd.closest.learning_rate == 0.1 and sgd.closest.seeds_needed > 5
    assert sgd.largest_learning == SQRT_TENTH  # 3.16 stalls at chance, 10 diverges
    assert [row(comparison.summary, "sgd", lr)["verdict"] for lr in SGD] == [
        "worse", "worse", "tied", "best", "fails", "fails"]  # 3.16 stalls, 10 diverges
    stalled = row(comparison.summary, "sgd", 3.16)
    assert stalled["stalled"] == 5 and stalled["diverged"] == 0 and not stalled["learns"]
    assert row(comparison.summary, "sgd", 10.0)["diverged"] == 1
    assert rmsprop.tied == (0.001,) and not comparison.provisional
    (between,) = comparison.optimizers  # rmsprop 0.001 against sgd's best, paired by seed
    expected = scipy_stats.ttest_rel(RMSPROP[0.001], SGD[SQRT_TENTH])
    assert between.difference.p_value == pytest.approx(expected.pvalue)
    assert between.mark == "worse" and between.best.startswith("rmsprop 0.001")


def test_one_seed_tells_nothing_apart(tmp_path: Path) -> None:
    one = {key: value for key, value in five_seed_trials().items() if key[2] == 0}
    comparison = compare_runs(load_runs(write_fixture_sweep(tmp_path, trials=one)))
    sgd = next(v for v in comparison.verdicts if v.optimizer == "sgd")
    assert sgd.single_seed and sgd.best_n == 1 and math.isnan(sgd.best_low)
    assert sgd.tied == (sgd.best_learning_rate,)
    # Nothing can be tested with one seed, but a rate that stalls at chance still fails.
    assert set(sgd.untested) == set(SGD) - {sgd.best_learning_rate, 3.16}
    assert [c.mark for c in sgd.versus_best if c.learning_rate == 3.16] == ["fails"]


def test_losses_are_minimised_and_test_metrics_have_one_value(frame) -> None:
    table = summarize(frame, metric="val_loss")
    assert row(table, "sgd", 0.1)["mean"] == pytest.approx(1.1 - 0.955)
    test = summarize(frame, metric="test_accuracy")
    assert row(test, "sgd", 0.1)["mean"] == pytest.approx(0.95)  # last epochs 0.94, 0.96


@pytest.mark.parametrize(("at", "expected"), [("last", (0.70 + 0.10) / 2),
                                              (2, (0.60 + 0.10) / 2), (3, 0.70)])
def test_at_last_and_at_epoch(frame, at, expected: float) -> None:
    assert row(summarize(frame, at=at), "sgd", 1.0)["mean"] == pytest.approx(expected)


def verdict_numbers(comparison) -> list:
    return [(v.optimizer, v.best_learning_rate, v.tied, v.largest_learning, v.best_mean)
            for v in comparison.verdicts]


def test_display_options_never_change_the_verdict(five_seeds: Path) -> None:
    comparison = compare_runs(load_runs(five_seeds))
    before = verdict_numbers(comparison)
    top = comparison.shown(top=2)
    assert len(top) == 2 and list(top["learning_rate"]) == [0.001, SQRT_TENTH]
    by_rate = comparison.shown(sort="learning_rate")
    assert list(by_rate["learning_rate"]) == sorted(by_rate["learning_rate"])
    assert verdict_numbers(comparison) == before
    # Choosing the population is another matter, but sgd's verdict only involves sgd.
    only_sgd = compare_runs(load_runs(five_seeds), where=["optimizer=sgd"])
    assert verdict_numbers(only_sgd) == [v for v in before if v[0] == "sgd"]


def test_where_matches_numbers_as_displayed(five_seeds: Path) -> None:
    frame = load_runs(five_seeds)
    assert set(summarize(frame, where=["learning_rate=0.316"])["learning_rate"]) == {
        SQRT_TENTH}
    assert SQRT_TENTH in set(summarize(frame, where=["learning_rate<=0.316"])["learning_rate"])
    assert SQRT_TENTH not in set(summarize(frame, where=["learning_rate<0.316"])[
        "learning_rate"])
    assert SQRT_TENTH not in set(summarize(frame, where=["learning_rate!=0.316"])[
        "learning_rate"])
    assert summarize(frame, where=["seed=0"])["n"].max() == 1
    assert summarize(frame, where=["seed<2"])["n"].max() == 2  # 0/1 seeds are not booleans
    with pytest.raises(LrlabError, match="^where=learning_rate=0.5: no trial matches; "
                                           "learning_rate takes 0.001, 0.01, 0.0316, 0.1, "
                                           "0.316, 3.16, 10"):
        summarize(frame, where=["learning_rate=0.5"])


def test_an_unfinished_sweep_is_said_and_its_verdict_provisional(
        tmp_path: Path, tiny_yaml: str) -> None:
    config = parse_config(tiny_yaml)  # 3 trials: sgd 0.1, sgd 1000, rmsprop 1e-3
    planned = {(t.optimizer, t.learning_rate, t.seed): t.trial_id
               for t in expand_trials(config)}
    trials = {("sgd", 0.1, 0): ([0.8, 0.9], "completed"), ("sgd", 1000.0, 0): ([0.1], "running")}
    root = write_fixture_sweep(tmp_path, "tiny", trials=trials, config=config.to_dict(),
                               trial_ids=planned)
    scan = scan_runs([root])
    assert not scan.unreadable  # a running trial is not damaged
    comparison = compare_runs(scan.frame, plans=scan.plans)
    (progress,) = comparison.progress
    assert (progress.planned, progress.finished, progress.running, progress.not_started) == (
        3, 1, 1, 1)
    assert progress.unfinished and comparison.provisional
    assert all(v.provisional for v in comparison.verdicts)
    # Filtering the population filters the plan too: all of sgd's trials exist.
    only_sgd = compare_runs(scan.frame, plans=scan.plans, where=["optimizer=sgd"])
    assert (only_sgd.progress[0].planned, only_sgd.progress[0].not_started) == (2, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"metric": "val_acc"}, "^metric='val_acc': not recorded; expected one of: loss, accuracy"),
     ({"at": 4}, "^at=4: beyond the recorded epochs \\(the longest trial has 3\\)"),
     ({"at": "first"}, "expected best, last, or an epoch number"),
     ({"at": 0}, "numbered from 1"),
     ({"where": ["colour=red"]}, "unknown column 'colour'; expected one of: optimizer"),
     ({"where": ["learning_rate=fast"]}, "learning_rate is numeric; got 'fast'"),
     ({"where": ["optimizer=adam"]}, "no trial matches; optimizer takes rmsprop, sgd"),
     ({"where": ["nonsense"]}, "expected COLUMN=VALUE")],
)
def test_bad_requests(frame, kwargs: dict, message: str) -> None:
    with pytest.raises(LrlabError, match=message):
        compare_runs(frame, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sort": "colour"}, "^sort='colour': unknown column"),
    ({"top": 0}, "^top=0: expected a number >= 1")])
def test_bad_display_options(frame, kwargs: dict, message: str) -> None:
    with pytest.raises(CompareError, match=message):
        compare_runs(frame).shown(**kwargs)


def test_default_metric_without_validation(frame) -> None:
    assert default_metric(frame) == "val_accuracy"
    assert default_metric(frame.assign(val_accuracy=float("nan"))) == "test_accuracy"


def test_schedule_is_a_column_and_a_group(fixture_sweep: Path) -> None:
    import json

    from lrlab.present.render import display_columns

    for trial in (fixture_sweep / "trials").glob("sgd-lr1.00e-01-s*"):
        params = json.loads((trial / "params.json").read_text())
        (trial / "params.json").write_text(json.dumps({**params, "schedule": "cosine"}))
    table = summarize(load_runs(fixture_sweep))
    assert "schedule" in display_columns(table)
    sgd = table[table["optimizer"] == "sgd"]
    # Each setting's rates together, ascending.
    assert list(zip(sgd["learning_rate"], sgd["schedule"], strict=True)) == [
        (0.01, "constant"), (1.0, "constant"), (0.1, "cosine")]


def test_intervals_of_accuracies_never_leave_zero_to_one(frame) -> None:
    """Two seeds at 0.95 and 0.96 give a t-interval reaching past 1; a reader must never
    see an accuracy above 1 (or below 0), so intervals are clipped to the metric's range."""
    comparison = compare_runs(frame)
    table = comparison.summary
    assert (table["ci_high"].dropna() <= 1).all() and (table["ci_low"].dropna() >= 0).all()
    assert row(table, "sgd", 0.1)["ci_high"] == 1.0  # 0.955 ± 12.7 × 0.005: 1.0185 unclipped
    assert all(0 <= v.best_low <= v.best_high <= 1 for v in comparison.verdicts)
    assert (table["vs_best_low"].dropna() >= -1).all()
    losses = compare_runs(frame, metric="val_loss").summary
    assert (losses["ci_low"].dropna() >= 0).all()


def test_a_trial_directory_read_alone_is_not_an_unfinished_sweep(
        tmp_path: Path, tiny_yaml: str) -> None:
    config = parse_config(tiny_yaml)  # 3 trials, all finished here
    planned = {(t.optimizer, t.learning_rate, t.seed): t.trial_id
               for t in expand_trials(config)}
    trials = {("sgd", 0.1, 0): ([0.8, 0.9], "completed"),
              ("sgd", 1000.0, 0): ([0.1], "diverged"),
              ("rmsprop", 0.001, 0): ([0.85, 0.95], "completed")}
    root = write_fixture_sweep(tmp_path, "tiny", trials=trials, config=config.to_dict(),
                               trial_ids=planned)
    one = root / "trials" / planned[("sgd", 0.1, 0)]
    scan = scan_runs([one])
    (progress,) = compare_runs(scan.frame, plans=scan.plans).progress
    assert (progress.planned, progress.finished, progress.not_started) == (1, 1, 0)
    assert not progress.unfinished
    whole = scan_runs([root])
    assert not compare_runs(whole.frame, plans=whole.plans).provisional


def test_a_group_where_nothing_learns_has_no_best_rate(frame) -> None:
    """Every RMSprop rate >= 0.3 diverged on a seed: none is 'best', none is tied."""
    from lrlab.present.render import verdict_text

    comparison = compare_runs(frame, where=["optimizer=rmsprop", "learning_rate>=0.3"])
    (verdict,) = comparison.verdicts
    assert not verdict.learns and verdict.tied == () and verdict.largest_learning is None
    assert "best" not in set(comparison.summary["verdict"])
    text = verdict_text(verdict)
    assert "no best rate" in text and "best learning rate" not in text
    assert text.splitlines()[1:] == [
        "  Learns up to: no rate (the largest rate at which no seed diverged or stalled).",
        "  Fails: diverged at 1 (the loss blew up)."]
    learning = compare_runs(frame, where=["optimizer=rmsprop"])
    assert learning.verdicts[0].learns and learning.verdicts[0].best_learning_rate == 0.001


def test_chance_is_the_most_frequent_class_share_the_data_recorded(tmp_path: Path) -> None:
    """On two classes split 70/30, always answering the larger one scores 0.7: a rate at
    0.75 has learnt nothing worth the name, though it is far above 1/10."""
    from lrlab.rundir.store import RunStore

    trials = {("sgd", 0.01, s): ([0.74, 0.75], "completed") for s in (0, 1)}
    trials |= {("sgd", 0.1, s): ([0.90, 0.95], "completed") for s in (0, 1)}
    skewed = write_fixture_sweep(tmp_path / "runs", "skewed", trials=trials)
    RunStore(skewed).start_session({"data": {"classes": 2, "chance": {
        "train": 0.7, "validation": 0.7, "test": 0.65}}}, kind="sweep")
    plain = write_fixture_sweep(tmp_path / "runs", "plain", trials=trials)

    comparison = compare_runs(load_runs(tmp_path / "runs"))
    assert comparison.baselines == {skewed.name: 0.7, plain.name: 0.1}
    stalled = {v.sweep: v.largest_learning for v in comparison.verdicts}
    assert stalled == {skewed.name: 0.1, plain.name: 0.1}
    rows = comparison.summary.set_index(["sweep", "learning_rate"])
    assert rows.loc[(skewed.name, 0.01), "stalled"] == 2  # 0.75 is not above 0.7 + 0.1
    assert rows.loc[(plain.name, 0.01), "stalled"] == 0
    test = compare_runs(load_runs(skewed), metric="test_accuracy")
    assert test.baselines == {skewed.name: 0.65}
    assert compare_runs(load_runs(skewed), metric="val_loss").baseline is None
