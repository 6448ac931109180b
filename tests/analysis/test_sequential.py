"""The sequential rule of adaptive sweeps, by simulation: trial values constructed with a
known truth, settled look after look exactly as ``lrlab settle`` does (the best by mean,
its rivals called, seeds added to the best and the open rivals), thousands of times. The
rate of calling anything false at any look must stay at or under the stated level, and
the same procedure without the correction must not, or the simulation proves nothing."""

from __future__ import annotations

import numpy as np
import pytest

from lrlab.analysis.sequential import SequentialRule, best_of, judge, seeds_to_add

RUNS = 2000
SEED_SD, NOISE_SD = 0.004, 0.003  # what seeds do to every rate alike, and to each alone


def settle(truth: np.ndarray, rule: SequentialRule, rng: np.random.Generator,
           tolerance: float) -> bool:
    """One adaptive sweep of rates with true means ``truth``; whether any look made a
    false call: 'separated' for a rival not truly worse than the chosen best, or
    'equivalent' for one truly at least ``tolerance`` away from it."""
    top = rule.schedule[-1]
    seed_effect = rng.normal(0, SEED_SD, top)
    values = truth[:, None] + seed_effect[None, :] + rng.normal(0, NOISE_SD, (len(truth), top))
    have = {r: set(range(rule.schedule[0])) for r in range(len(truth))}
    for look in range(rule.looks):
        seen = {float(r): {s: values[r, s] for s in have[r]} for r in have}
        best = best_of(seen)
        calls = judge(seen[best], {r: v for r, v in seen.items() if r != best}, rule)
        for call in calls:
            gap = truth[int(best)] - truth[int(call.learning_rate)]
            if call.call == "separated" and gap <= 0:
                return True
            if call.call == "equivalent" and abs(gap) >= tolerance:
                return True
        if look + 1 == rule.looks or all(c.call != "open" for c in calls):
            return False
        pool = range(rule.schedule[look + 1])
        for rate, seeds in seeds_to_add(calls, best, have, pool).items():
            have[int(rate)] |= set(seeds)
    return False


def false_call_rate(truth: list[float], rule: SequentialRule, tolerance: float) -> float:
    rng = np.random.default_rng(2026)
    return np.mean([settle(np.array(truth), rule, rng, tolerance) for _ in range(RUNS)])


def uncorrected(rule: SequentialRule) -> SequentialRule:
    """The same looks, each at the full level: what a naive adaptive sweep would do."""
    return SequentialRule(alpha=rule.alpha * rule.looks, tolerance=rule.tolerance,
                          schedule=rule.schedule)


RULE = SequentialRule.starting(2, max_seeds=10, alpha=0.05, tolerance=0.005)


def test_the_schedule_and_level_are_fixed_in_advance() -> None:
    assert RULE.schedule == (2, 3, 5, 8, 10) and RULE.looks == 5
    assert RULE.level == pytest.approx(0.01)
    assert SequentialRule.from_dict(RULE.to_dict()) == RULE
    with pytest.raises(ValueError, match="increasing"):
        SequentialRule.from_dict({**RULE.to_dict(), "schedule": [3, 3]})


@pytest.mark.parametrize("truth", [
    [0.97, 0.97, 0.97, 0.97],  # all tied: any separation is false
    [0.97, 0.97, 0.96, 0.90],  # two tied at the top, the others truly worse
], ids=["all-tied", "two-tied"])
def test_false_separations_stay_under_the_level(truth: list[float]) -> None:
    # Tolerance 0: no equivalence can be called, so every look may separate.
    rule = SequentialRule(alpha=0.05, tolerance=0.0, schedule=RULE.schedule)
    corrected = false_call_rate(truth, rule, tolerance=0.0)
    naive = false_call_rate(truth, uncorrected(rule), tolerance=0.0)
    assert corrected <= rule.alpha, (corrected, naive)
    if truth == [0.97] * 4:
        assert naive > rule.alpha, "the simulation cannot tell a correction from none"


def test_false_equivalences_stay_under_the_level() -> None:
    # The rival is exactly the tolerance worse: calling it equivalent is false.
    truth = [0.970, 0.965]
    corrected = false_call_rate(truth, RULE, tolerance=RULE.tolerance)
    naive = false_call_rate(truth, uncorrected(RULE), tolerance=RULE.tolerance)
    assert corrected <= RULE.alpha < naive, (corrected, naive)


def test_calls_on_clear_cases() -> None:
    best = {s: 0.97 + 0.001 * s for s in range(5)}
    worse = {s: v - 0.05 + 0.0005 * (s % 2) for s, v in best.items()}
    same = {s: v + 0.0002 * (-1) ** s for s, v in best.items()}
    calls = {c.learning_rate: c for c in judge(best, {0.1: worse, 0.2: same,
                                                      0.3: {0: 0.96}}, RULE)}
    assert calls[0.1].call == "separated" and calls[0.1].difference == pytest.approx(0.0498)
    assert calls[0.2].call == "equivalent"
    assert calls[0.3].call == "open" and calls[0.3].n == 1  # one seed in common: no test
    # A loss: lower is better, so a higher loss is the worse one.
    (loss,) = judge({0: 0.1, 1: 0.11, 2: 0.12}, {1.0: {0: 0.5, 1: 0.52, 2: 0.49}}, RULE,
                    higher_is_better=False)
    assert loss.call == "separated" and loss.difference > 0


def test_seeds_go_to_the_best_and_the_open_rivals_only() -> None:
    calls = judge({0: 0.97, 1: 0.971, 2: 0.972},
                  {0.1: {0: 0.5, 1: 0.51, 2: 0.505}, 0.2: {0: 0.969, 1: 0.972, 2: 0.97}},
                  RULE)
    assert [c.call for c in calls] == ["separated", "open"]
    have = {0.01: {0, 1, 2}, 0.1: {0, 1, 2}, 0.2: {0, 1, 2}}
    assert seeds_to_add(calls, 0.01, have, range(5)) == {0.01: [3, 4], 0.2: [3, 4]}


def test_two_seeds_separate_only_what_is_far_apart() -> None:
    # With one degree of freedom a t-test needs a huge t: rates 0.1 apart, seeds agreeing
    # to 0.001, are separated at two seeds; 0.01 apart with the same agreement are not.
    far = judge({0: 0.97, 1: 0.971}, {0.1: {0: 0.87, 1: 0.8705}}, RULE)
    near = judge({0: 0.97, 1: 0.971}, {0.1: {0: 0.96, 1: 0.9605}}, RULE)
    assert (far[0].call, near[0].call) == ("separated", "open")
