"""Why a rate fails, from constructed histories: each reason, its numbers, and what does
not count as one. The analysis returns the numbers; present.render says them, and these
tests read both."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lrlab.analysis.failures import rate_failures
from lrlab.analysis.failures import trial_reason as trial_facts
from lrlab.analysis.judge import learns
from lrlab.experiment.objective import DEFAULT_OBJECTIVE
from lrlab.present.render import failure_detail, failure_text


def trial_reason(history, **kwargs):
    """The reason and its numbers in words, as result.json records them."""
    found = trial_facts(history, **kwargs)
    return None if found is None else (found[0], failure_detail(*found))


def history(loss, val_loss=None, val_accuracy=None) -> pd.DataFrame:
    n = len(loss)
    return pd.DataFrame({"epoch": range(1, n + 1), "loss": loss,
                         "val_loss": val_loss if val_loss is not None else [math.nan] * n,
                         "val_accuracy": val_accuracy if val_accuracy is not None
                         else [0.5] * n})


def reason(h: pd.DataFrame, *, status: str = "completed", stalled: bool = False):
    return trial_reason(h, status=status, diverged_epoch=2 if status == "diverged" else None,
                        initial_loss=2.0, stalled=stalled)


def test_each_reason_of_a_trial_with_its_numbers() -> None:
    assert reason(history([1.0, 30.0]), status="diverged") == (
        "diverged", "the loss blew up at epoch 2: loss 30, 15x the initial 2")
    assert reason(history([2.3, 2.3]), stalled=True) == ("stalled", "it never left its baseline")
    assert reason(history([1.0, 0.6, 0.9, 0.5])) == (
        "unstable", "training loss rose 50% from epoch 2 to 3")
    assert reason(history([1.0, 0.5, 0.3], val_loss=[0.8, 0.6, 0.7])) == (
        "overfitting", "validation loss rose from 0.6 at epoch 2 to 0.7 while training loss "
        "fell from 0.5 to 0.3")


def test_what_is_not_a_failure() -> None:
    assert reason(history([1.0, 0.5, 0.3], val_loss=[0.8, 0.6, 0.55])) is None  # learning
    assert reason(history([1.0, 0.5, 0.52], val_loss=[0.8, 0.6, 0.6])) is None  # +4%: noise
    assert reason(history([1.0, 0.5, 0.3], val_loss=[0.8, 0.6, 0.62])) is None  # +3.3%
    assert reason(history([1.0])) is None  # one epoch says nothing of a trend


def trials(rows: list[dict], histories: dict[str, pd.DataFrame]):
    frame = pd.DataFrame([{"sweep": "s", "trial_id": f"t{i}", "seed": i, "stalled": False,
                           "status": "completed", "diverged_epoch": None, "initial_loss": 2.0,
                           **row} for i, row in enumerate(rows)])
    return rate_failures(frame, {f"s/t{i}": h for i, h in histories.items()},
                         metric="val_accuracy", higher_is_better=True)


def test_crawling_is_judged_against_the_seed_noise() -> None:
    rising = {i: history([1.0, 0.8], val_accuracy=[0.80 + d, 0.85 + d])
              for i, d in enumerate((0.0, 0.001, -0.001))}
    (crawling,) = trials([{}, {}, {}], rising)
    assert (crawling.reason, crawling.seeds, crawling.of) == ("crawling", 3, 3)
    assert crawling.facts == {"column": "val_accuracy", "gain": pytest.approx(0.05),
                              "noise": pytest.approx(0.001)}
    assert failure_detail("crawling", crawling.facts) == (
        "val_accuracy still rising by 0.05 in the last epoch, more than the seed noise 0.001")
    # The same gain among seeds that differ by more than it: not told from noise.
    noisy = {i: history([1.0, 0.8], val_accuracy=[0.80 + d, 0.85 + d])
             for i, d in enumerate((0.0, 0.1, -0.1))}
    assert trials([{}, {}, {}], noisy) == ()
    flat = {i: history([1.0, 0.8], val_accuracy=[0.9, 0.9005]) for i in range(3)}
    assert trials([{}, {}, {}], flat) == ()
    (alone,) = trials([{}], {0: rising[0]})
    assert failure_detail("crawling", alone.facts).endswith(
        "more than 0.002 (one seed: no noise to measure it against)")


def test_a_rate_fails_on_one_seed_but_a_warning_needs_most() -> None:
    diverged = {0: history([1.0, 30.0]), 1: history([1.0, 0.5]), 2: history([1.0, 0.5])}
    (failure,) = trials([{"status": "diverged", "diverged_epoch": 2}, {}, {}], diverged)
    assert (failure.reason, failure.seeds, failure.of) == ("diverged", 1, 3)
    assert failure_text(failure).startswith("diverged (1 of 3 seeds: the loss blew up at epoch 2")
    one_overfits = {0: history([1.0, 0.5, 0.3], val_loss=[0.8, 0.6, 0.7]),
                    1: history([1.0, 0.5, 0.3], val_loss=[0.8, 0.6, 0.5]),
                    2: history([1.0, 0.5, 0.3], val_loss=[0.8, 0.6, 0.5])}
    assert trials([{}, {}, {}], one_overfits) == ()
    two_overfit = {**one_overfits, 1: one_overfits[0]}
    assert [f.reason for f in trials([{}, {}, {}], two_overfit)] == ["overfitting"]


@pytest.mark.parametrize("status", ["diverged", "stalled"])
def test_a_failing_rate_is_not_also_called_crawling(status: str) -> None:
    rising = {i: history([1.0, 0.8], val_accuracy=[0.1, 0.15]) for i in range(2)}
    rows = [{"status": "diverged"} if status == "diverged" else {"stalled": True}, {}]
    assert [f.reason for f in trials(rows, rising)] == [status]


def test_a_stalled_or_diverged_relu_network_says_whether_its_units_died() -> None:
    flat = history([2.3, 2.3])
    assert trial_reason(flat, status="completed", diverged_epoch=None, initial_loss=2.3,
                        stalled=True, dead_units=0.97) == (
        "stalled", "it never left its baseline; 97% of its hidden ReLU units died (zero on every "
        "validation image)")
    assert trial_reason(flat, status="completed", diverged_epoch=None, initial_loss=2.3,
                        stalled=True, dead_units=0.0)[1] == (
        "it never left its baseline; no hidden unit died")
    # A diverged network's dead units are named only when most died.
    blown = history([1.0, 30.0])
    assert trial_reason(blown, status="diverged", diverged_epoch=2, initial_loss=2.0,
                        stalled=False, dead_units=0.2)[1].endswith("the initial 2")
    assert trial_reason(blown, status="diverged", diverged_epoch=2, initial_loss=2.0,
                        stalled=False, dead_units=0.8)[1].endswith("80% of its hidden ReLU "
                                                                   "units died (zero on every "
                                                                   "validation image)")


def test_stalled_means_not_clearly_above_chance() -> None:
    # The judge's rule for an accuracy: beyond chance by 0.1 (lrlab.analysis.judge).
    assert not learns(DEFAULT_OBJECTIVE, "val_accuracy", 0.19, 0.1)
    assert not learns(DEFAULT_OBJECTIVE, "val_accuracy", math.nan, 0.1)
    assert learns(DEFAULT_OBJECTIVE, "val_accuracy", 0.21, 0.1)


def test_a_stopped_trial_is_not_crawling() -> None:
    rising = {i: history([1.0, 0.8], val_accuracy=[0.80, 0.85]) for i in range(3)}
    assert trials([{"status": "stopped"}] * 3, rising) == ()


def test_an_unstable_rate_is_not_also_called_crawling() -> None:
    """The best rate was once "crawling" and "unstable" at once: a last gain after a jump
    in the loss is no sign that more epochs would help."""
    jumpy = {i: history([1.0, 0.5, 0.9], val_accuracy=[0.80, 0.82, 0.86 + 0.001 * i])
             for i in range(3)}
    assert [f.reason for f in trials([{}, {}, {}], jumpy)] == ["unstable"]
    assert all(isinstance(f.seeds, int) for f in trials([{}], {0: history(
        [1.0, 0.8], val_accuracy=[0.80, 0.85])}))  # a plain int, not numpy's
