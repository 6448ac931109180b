from __future__ import annotations

import math

import pytest

from lrlab.analysis.axes import AlongAxis, Scaling
from lrlab.experiment.config import OptimizerConfig
from lrlab.experiment.scaling import RULES, SCALE_RATES_CHOICES, rule_of, scale_rate
from lrlab.present.render import scaling_text


def test_a_rule_scales_a_rate_by_its_power() -> None:
    assert scale_rate("linear", 0.1, 128, 32) == pytest.approx(0.4)
    assert scale_rate("sqrt", 0.1, 128, 32) == pytest.approx(0.2)
    assert scale_rate("none", 0.1, 128, 32) == 0.1
    assert SCALE_RATES_CHOICES == ("none", "sqrt", "linear")
    # The config's scale_rates offers exactly these, and applies them through the same rule.
    field = OptimizerConfig.model_fields["scale_rates"]
    assert field.default == "none" and "Literal" in str(field.annotation)


def test_an_interval_of_slopes_holds_the_rules_it_contains() -> None:
    assert rule_of(0.8, 1.2) == "linear"
    assert rule_of(0.3, 0.7) == "sqrt"
    assert rule_of(0.4, 1.1) == "both"
    assert rule_of(-0.2, 0.2) == "neither"
    assert rule_of(math.nan, math.nan) == "untested"


@pytest.mark.parametrize(("low", "high", "words"), [
    (0.8, 1.2, "agrees with the linear rule (1), not the square-root rule (0.5)"),
    (0.3, 0.7, "agrees with the square-root rule (0.5), not the linear rule (1)"),
    (0.4, 1.1, "cannot tell the linear rule (1) from the square-root rule (0.5)"),
    (-0.2, 0.2, "agrees with neither the linear rule (1) nor the square-root rule (0.5)"),
    (math.nan, math.nan, "run 3 or more seeds to test the linear and square-root rules"),
])
def test_the_verdict_names_each_rule_by_its_title_and_power(low: float, high: float,
                                                             words: str) -> None:
    along = AlongAxis("s", "sgd", "batch_size", "", ())
    seeds = ((0, 1.0),) if math.isnan(low) else ((0, low), (1, high))
    text = scaling_text(Scaling(along, (low + high) / 2 if seeds[1:] else 1.0, low, high,
                                seeds, rule_of(low, high)))
    assert words in text
    assert set(RULES) == {"linear", "sqrt"}
