from __future__ import annotations

from pathlib import Path

import pytest

from lrlab.compare import summarize
from lrlab.plots import learning_curves, sensitivity_lines, write_plots
from lrlab.runs import load_runs


@pytest.fixture
def frame(fixture_sweep: Path):
    return load_runs(fixture_sweep)


def test_sensitivity_data(frame) -> None:
    lines = {line.label: line for line in sensitivity_lines(summarize(frame))}
    sgd = lines["sgd"]
    assert sgd.learning_rates == [0.01, 0.1, 1.0]
    assert sgd.mean == pytest.approx([0.89, 0.955, 0.55])
    assert sgd.std[1] == pytest.approx(0.0070711, rel=1e-4)
    assert sgd.diverged_rates == [1.0]
    assert lines["rmsprop"].std[1] == 0.0  # a single seed: no band


def test_learning_curve_data(frame) -> None:
    curves = {c.label: c for c in learning_curves(frame)}
    sgd = curves["sgd"]
    assert sgd.learning_rates == [0.01, 0.1, 1.0]
    assert sgd.epochs[1] == [1.0, 2.0, 3.0]
    assert sgd.columns["val_accuracy"][1] == pytest.approx([0.905, 0.94, 0.95])
    assert sgd.columns["val_accuracy"][2] == pytest.approx([0.45, 0.35, 0.70])


def test_plots_are_written_and_not_empty(frame, tmp_path: Path) -> None:
    written = write_plots(frame, summarize(frame), out_dir=tmp_path / "plots", svg=True)
    names = sorted(p.name for p in written)
    assert names == ["learning-curves.png", "learning-curves.svg",
                     "sensitivity-val_accuracy.png", "sensitivity-val_accuracy.svg"]
    for path in written:
        assert path.stat().st_size > 10_000
    assert (tmp_path / "plots" / "sensitivity-val_accuracy.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == names  # no temp files
