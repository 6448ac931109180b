"""Model-based sampling through Optuna: points that depend on nothing but the results
before them, and that go where the results are good."""

from __future__ import annotations

import numpy as np

from lrlab.analysis.sampling import next_point


def history(points: int, *, seed: int = 0) -> list[tuple[list[float], float]]:
    """Points of a 2-d space whose value peaks at 0.3 on the first coordinate and does
    not depend on the second."""
    rng = np.random.default_rng(seed)
    return [([float(a), float(b)], -(float(a) - 0.3) ** 2) for a, b in rng.random((points, 2))]


def test_a_point_depends_only_on_the_results_before_it_and_its_number() -> None:
    before = history(12)
    ask = lambda number: next_point(["rate", "momentum"], before, sampler="tpe",  # noqa: E731
                                     seed=7, number=number, maximize=True)
    assert ask(12) == ask(12)
    assert ask(12) != ask(13)
    assert all(0 <= x < 1 for x in ask(12))


def test_tpe_goes_where_the_values_are_good() -> None:
    before = history(30)
    asked = [next_point(["rate", "momentum"], before, sampler="tpe", seed=0, number=n,
                        maximize=True) for n in range(30, 50)]
    # Uniform points are 0.29 from the peak on average; TPE's, measured, 0.04.
    assert np.mean([abs(a - 0.3) for a, _ in asked]) < 0.15
    # Minimizing the same values sends it away from the peak.
    worst = [next_point(["rate", "momentum"], before, sampler="tpe", seed=0, number=n,
                        maximize=False) for n in range(30, 50)]
    assert np.mean([abs(a - 0.3) for a, _ in worst]) > 0.3


def test_a_point_without_a_value_is_left_out() -> None:
    before = [*history(12), ([0.5, 0.5], float("nan"))]
    assert next_point(["rate", "momentum"], before, sampler="tpe", seed=1, number=13,
                      maximize=True) == next_point(["rate", "momentum"], before[:-1],
                                                   sampler="tpe", seed=1, number=13,
                                                   maximize=True)
