from __future__ import annotations

import math

from lrlab.formatting import brief, first_line, number, plural, rate


def test_metrics_keep_four_decimals_and_go_scientific_only_where_those_would_mislead() -> None:
    assert number(0.95) == "0.9500"
    assert number(1.13e11) == "1.13e+11" and number(4537.2588) == "4537.2588"
    assert number(3e-5) == "3.00e-05" and number(0.0) == "0.0000"
    assert number(None) == number(math.nan) == "-" and number(3) == "3"


def test_rates_counts_and_quoted_values() -> None:
    assert [rate(r) for r in (0.001, 0.000316, 100.0)] == ["0.001", "0.000316", "100"]
    assert plural(1, "seed") == "1 seed" and plural(1000, "trial") == "1,000 trials"
    assert len(brief(10 ** 400)) <= 40
    assert len(brief("x" * 1000)) <= 62 and "..." in brief("x" * 1000)
    assert first_line(ValueError("\n  first\nsecond")) == "first"
    assert first_line(ValueError("")) == "ValueError"
    assert first_line(ValueError("y" * 400), limit=10) == "y" * 10 + "…"
