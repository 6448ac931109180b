from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_fixture_sweep
from test_compare import SQRT_TENTH, five_seed_trials

from lrlab.compare import compare_runs
from lrlab.plots import learning_curves, sensitivity_lines, write_plots
from lrlab.runs import load_runs


@pytest.fixture
def frame(fixture_sweep: Path):
    return load_runs(fixture_sweep)


def test_sensitivity_data(frame) -> None:
    lines = {line.label: line for line in sensitivity_lines(compare_runs(frame))}
    sgd = lines["sgd"]
    assert sgd.learning_rates == [0.01, 0.1, 1.0]
    assert sgd.mean == pytest.approx([0.89, 0.955, 0.55])
    assert sgd.best_rate == 0.1 and sgd.tied_rates == [0.01, 0.1]  # 1.0 diverged: fails
    assert sgd.ci_low[1] < 0.955 < sgd.ci_high[1]
    assert sgd.diverged_rates == [1.0] and sgd.stalled_rates == []


def test_sensitivity_marks_ties_and_stalls(tmp_path: Path) -> None:
    frame = load_runs(write_fixture_sweep(tmp_path, trials=five_seed_trials()))
    sgd = next(line for line in sensitivity_lines(compare_runs(frame)) if line.label == "sgd")
    assert sgd.tied_rates == [0.1, SQRT_TENTH] and sgd.stalled_rates == [3.16]


def test_learning_curve_data(frame) -> None:
    curves = {c.label: c for c in learning_curves(frame, compare_runs(frame))}
    sgd = curves["sgd"]
    assert sgd.learning_rates == [0.01, 0.1, 1.0]
    assert sgd.epochs[1] == [1.0, 2.0, 3.0]
    assert sgd.columns["val_accuracy"][1] == pytest.approx([0.905, 0.94, 0.95])
    # At 1.0 one seed diverged after 2 epochs: the curve stops there instead of jumping
    # to the surviving seed's third epoch.
    assert sgd.epochs[2] == [1.0, 2.0]
    assert sgd.columns["val_accuracy"][2] == pytest.approx([0.45, 0.35])
    assert sgd.diverged == [False, False, True] and sgd.highlighted == [True, True, False]


def test_plots_are_written_and_respect_where(frame, tmp_path: Path) -> None:
    comparison = compare_runs(frame, where=["optimizer=sgd"])
    written = write_plots(frame, comparison, where=["optimizer=sgd"],
                          out_dir=tmp_path / "plots", svg=True)
    names = sorted(p.name for p in written)
    assert names == ["learning-curves.png", "learning-curves.svg",
                     "sensitivity-val_accuracy.png", "sensitivity-val_accuracy.svg"]
    for path in written:
        assert path.stat().st_size > 10_000
    assert (tmp_path / "plots" / "sensitivity-val_accuracy.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == names  # no temp files
    svg = (tmp_path / "plots" / "learning-curves.svg").read_text()
    assert "rmsprop" not in svg and "sgd" in svg  # the filtered-out optimizer is not drawn
