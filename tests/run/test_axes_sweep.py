"""Sweeps over axes, end to end through the runner and compare, with a backend that trains
nothing: each trial's accuracy is a smooth peak around a rate the test chooses, so the
statistics have a known answer (the slope of the best rate against the batch size, the
edge of a grid) and the bookkeeping (sessions per experiment, resume, more points) runs
in milliseconds."""

from __future__ import annotations

import json
import math
from pathlib import Path
from xml.etree import ElementTree

import pytest
from helpers import ArithmeticBackend

from lrlab.analysis.axes import find_edges
from lrlab.analysis.compare import compare_runs
from lrlab.errors import StoreError
from lrlab.experiment.config import parse_config
from lrlab.experiment.trials import expand_trials
from lrlab.present.render import render, verdict_lines
from lrlab.run.sweep import run_sweep
from lrlab.rundir.loading import scan_runs

DATA = "data: {dataset: synthetic, train_limit: 600, validation: 100, test_limit: 100}\n"


def PeakBackend(power: float, **kwargs) -> ArithmeticBackend:  # noqa: N802 - a backend
    """Accuracy 0.9 - 0.1 (log10 rate - log10 peak)^2 (at least 0.05: a rate 3 decades
    off stalls), the peak at ``0.01 (b / 32) ^ power`` for batch size b, plus a small
    offset per seed (which pairing cancels)."""

    def accuracy(trial) -> float:
        peak = 0.01 * (dict(trial.context)["batch_size"] / 32) ** power
        return (max(0.05, 0.9 - 0.1 * math.log10(trial.learning_rate / peak) ** 2)
                + 0.002 * trial.seed + 0.0003 * (trial.seed % 2))

    return ArithmeticBackend(accuracy=accuracy, **kwargs)


def batch_config(rates: str = "{start: 1e-4, stop: 1, num: 9}", seeds: str = "[0, 1, 2]"):
    return parse_config(DATA + "training: {epochs: 1, batch_size: [32, 64, 128, 256, 512]}\n"
                        f"sweep:\n  seeds: {seeds}\n  optimizers:\n"
                        f"    - {{name: sgd, learning_rates: {rates}}}\n")


@pytest.mark.parametrize(("power", "rule"), [(1.0, "linear"), (0.5, "sqrt"),
                                             (0.0, "neither")])
def test_the_slope_of_the_best_rate_against_the_batch_size(tmp_path: Path, power: float,
                                                           rule: str) -> None:
    backend = PeakBackend(power)
    report = run_sweep(batch_config(), runs_dir=tmp_path, backend=backend)
    # One backend session per batch size: they cannot share workers' engines or stacks.
    assert backend.sessions == [32, 64, 128, 256, 512]
    scan = scan_runs([report.run_dir])
    comparison = compare_runs(scan.frame, plans=scan.plans)
    assert [dict(v.settings)["batch_size"] for v in comparison.verdicts] == [
        32, 64, 128, 256, 512]  # in order of value, not of text
    (scaling,) = comparison.scaling
    # The peak is a parabola in log rate: the refinement finds it between grid points.
    assert scaling.slope == pytest.approx(power, abs=0.02)
    assert scaling.low <= power <= scaling.high
    assert scaling.rule == rule
    assert [p.steps for p in scaling.along.points] == [
        math.ceil(500 / b) for b in (32, 64, 128, 256, 512)]
    text = "\n".join(verdict_lines(comparison))
    assert "log(best rate) against log(batch size) has slope" in text
    exported = json.loads(render(comparison, "json"))
    assert exported["batch_size_scaling"][0]["rule"] == rule


def test_one_seed_gives_a_slope_without_an_interval(tmp_path: Path) -> None:
    report = run_sweep(batch_config(seeds="[0]"), runs_dir=tmp_path,
                       backend=PeakBackend(1.0))
    (scaling,) = compare_runs(scan_runs([report.run_dir]).frame).scaling
    assert scaling.rule == "untested" and math.isnan(scaling.low)


def test_a_best_rate_at_the_end_of_the_grid_says_so_until_the_grid_is_widened(
        tmp_path: Path) -> None:
    narrow = batch_config(rates="[1e-4, 1e-3]")
    report = run_sweep(narrow, runs_dir=tmp_path, backend=PeakBackend(0.0))
    comparison = compare_runs(scan_runs([report.run_dir]).frame)
    verdict = comparison.verdicts[0]
    assert verdict.best_learning_rate == pytest.approx(1e-3)
    assert [(e.what, e.side) for e in verdict.edges] == [("best", "high")]
    text = "\n".join(verdict_lines(comparison))
    assert ("Edge: the best rate, 0.001, is the largest rate tried: the best may lie above "
            "the range; add rates from 0.001 to 0.01.") in text
    exported = json.loads(render(comparison, "json"))
    assert exported["optimizers"][0]["edges"][0]["add"] == pytest.approx([1e-3, 1e-2])
    wide = batch_config(rates="{start: 1e-4, stop: 10, num: 6}")  # 10 stalls: it breaks
    report = run_sweep(wide, runs_dir=tmp_path, backend=PeakBackend(0.0))
    comparison = compare_runs(scan_runs([report.run_dir]).frame)
    assert all(v.edges == () for v in comparison.verdicts)
    assert "Edge:" not in "\n".join(verdict_lines(comparison))


def test_edges_of_grids_and_of_sampled_ranges() -> None:
    grid = [1e-3, 1e-2, 1e-1, 1.0]
    assert find_edges(grid, best=1e-2, largest_learning=1e-1, sampled=False) == ()
    (low,) = find_edges(grid, best=1e-3, largest_learning=1e-1, sampled=False)
    assert (low.what, low.side, low.add) == ("best", "low", (1e-4, 1e-3))
    (top,) = find_edges(grid, best=1e-2, largest_learning=1.0, sampled=False)
    assert (top.what, top.side, top.add) == ("largest learning", "high", (1.0, 10.0))
    drawn = [1e-3, 1.4e-3, 3e-2, 0.5, 0.9]  # 0.9 is in the top tenth of 1e-3..0.9, logwise
    (near,) = find_edges(drawn, best=0.9 * 0.97, largest_learning=0.9 * 0.97, sampled=True)
    assert near.side == "high" and near.sampled
    assert find_edges(drawn, best=3e-2, largest_learning=3e-2, sampled=True) == ()
    assert find_edges([0.1], best=0.1, largest_learning=0.1, sampled=False) == ()


SOBOL = DATA + """training: {epochs: 1, batch_size: 32}
sweep:
  sampler: sobol
  points: POINTS
  seeds: [0, 1]
  optimizers:
    - {name: sgd, learning_rates: {low: 1e-4, high: 1}, momentum: {low: 0.0, high: 0.9}}
"""


def test_a_sampled_sweep_resumes_without_redrawing_and_extends(tmp_path: Path) -> None:
    config = parse_config(SOBOL.replace("POINTS", "4"))
    stopped = run_sweep(config, runs_dir=tmp_path, backend=ArithmeticBackend(stop_after=5))
    assert stopped.interrupted
    design = json.loads((stopped.run_dir / "design.json").read_text())
    assert len(design["units"]) == 4
    resumed = ArithmeticBackend()
    run_sweep(config, resume=stopped.run_dir, backend=resumed)
    assert len(resumed.trained) == 3  # the 8 trials less the 5 done: no redraw, no repeat
    more = parse_config(SOBOL.replace("POINTS", "8"))
    extended = ArithmeticBackend()
    report = run_sweep(more, resume=stopped.run_dir, backend=extended)
    first_four = {t.trial_id for t in expand_trials(config)}
    assert len(extended.trained) == 8 and not first_four & set(extended.trained)
    assert json.loads((report.run_dir / "design.json").read_text())["units"][:4] == (
        design["units"])
    assert "points: 8" in (report.run_dir / "sweep.yaml").read_text()
    comparison = compare_runs(scan_runs([report.run_dir]).frame)
    # The momentum drawn with each rate is part of its point, not a setting of its own.
    (verdict,) = comparison.verdicts
    assert len(verdict.versus_best) == 7 and dict(verdict.best_with).keys() == {"momentum"}
    fewer = parse_config(SOBOL.replace("POINTS", "2"))
    with pytest.raises(StoreError, match="was run with 8 sampled points; resume it with "
                                         "sweep.points 8 or more"):
        run_sweep(fewer, resume=stopped.run_dir, backend=ArithmeticBackend())


def test_a_corrupted_design_is_one_line_and_nothing_is_lost(tmp_path: Path) -> None:
    config = parse_config(SOBOL.replace("POINTS", "2"))
    report = run_sweep(config, runs_dir=tmp_path, backend=ArithmeticBackend(stop_after=1))
    (report.run_dir / "design.json").write_text('{"sampler": "sobol"')
    before = sorted(p.name for p in (report.run_dir / "trials").iterdir())
    with pytest.raises(StoreError, match=r"design.json: malformed JSON"):
        run_sweep(config, resume=report.run_dir, backend=ArithmeticBackend())
    (report.run_dir / "design.json").write_text('{"sampler": "sobol", "seed": 0}')
    with pytest.raises(StoreError, match=r"design.json: corrupted sampled points"):
        run_sweep(config, resume=report.run_dir, backend=ArithmeticBackend())
    assert sorted(p.name for p in (report.run_dir / "trials").iterdir()) == before


def test_plots_and_the_report_show_the_axes(tmp_path: Path) -> None:
    from lrlab.present.plots import write_plots
    from lrlab.present.report import collect, render_html

    report = run_sweep(batch_config(), runs_dir=tmp_path / "runs", backend=PeakBackend(1.0))
    scan = scan_runs([report.run_dir])
    comparison = compare_runs(scan.frame)
    written = write_plots(scan.frame, comparison, out_dir=tmp_path / "plots", png=True)
    names = ("sensitivity-val_accuracy", "learning-curves", "axes-val_accuracy",
             "batch-scaling")
    assert {p.name for p in written} == {f"{n}.{s}" for n in names for s in ("svg", "png")}
    assert all(p.stat().st_size > 2_000 for p in written)
    scaling = ElementTree.parse(tmp_path / "plots" / "batch-scaling.svg").getroot()
    legend = " ".join(t.text or "" for t in scaling.iter("{http://www.w3.org/2000/svg}text"))
    assert "best rate (slope" in legend and "square-root rule" in legend
    page = render_html(collect([report.run_dir]), sources=[report.run_dir])
    assert 'id="batch-scaling"' in page and 'id="axes"' in page
    assert "agrees with the linear rule (1)" in page


def test_batch_sizes_are_columns_after_a_sweep_and_in_order_in_compare(tmp_path: Path) -> None:
    """With the batch size an axis, the end-of-sweep table's rows once differed only by a
    hash, and compare listed the batch sizes within a rate as 512, 128, 32."""
    config = parse_config(DATA + "training: {epochs: 1, batch_size: [512, 32, 128]}\n"
                          "sweep: {seeds: [0], optimizers: [{name: sgd, "
                          "learning_rates: [0.01, 0.1]}]}\n")
    report = run_sweep(config, runs_dir=tmp_path, backend=PeakBackend(0.5))
    assert _trials_header(report)[:3] == ["trial", "batch_size", "status"]
    summary = compare_runs(scan_runs([report.run_dir]).frame).summary
    assert list(zip(summary["batch_size"], summary["learning_rate"], strict=True)) == [
        (32, 0.01), (32, 0.1), (128, 0.01), (128, 0.1), (512, 0.01), (512, 0.1)]


def test_an_optimizers_own_hyperparameters_are_no_columns_after_a_sweep(tmp_path: Path) -> None:
    """RMSprop's rho and SGD's momentum differ between the optimizers (one has none), not
    within the sweep's design: the smoke sweep's table once grew four such columns."""
    config = parse_config(DATA + "training: {epochs: 1}\nsweep: {seeds: [0], optimizers: ["
                          "{name: sgd, learning_rates: [0.1]}, {name: rmsprop, "
                          "learning_rates: [0.001], rho: [0.9, 0.99]}]}\n")
    report = run_sweep(config, runs_dir=tmp_path, backend=PeakBackend(0.5))
    # rho varies within RMSprop's trials
    assert _trials_header(report)[:3] == ["trial", "rho", "status"]


def _trials_header(report) -> list[str]:
    """The column names of the trials table a sweep prints at its end."""
    from rich.console import Console

    from lrlab.present.sweep_summary import trials_table

    console = Console(record=True, width=140)
    console.print(trials_table(report.rows, width=console.width))
    return [word for word in console.export_text().splitlines()[2].split() if word != "┃"]


def WidthBackend(power: float, axis: str) -> ArithmeticBackend:  # noqa: N802 - a backend
    """The peak at ``0.01 (v / 64) ^ power`` for the axis's value v (a hidden width given
    as ``128`` or, two layers, ``128,128``)."""

    def accuracy(trial) -> float:
        value = float(str(dict(trial.context)[axis]).split(",")[0])
        peak = 0.01 * (value / 64) ** power
        return (max(0.05, 0.9 - 0.1 * math.log10(trial.learning_rate / peak) ** 2)
                + 0.002 * trial.seed + 0.0003 * (trial.seed % 2))

    return ArithmeticBackend(accuracy=accuracy)


@pytest.mark.parametrize(("axis", "section", "power", "rule"), [
    ("model.hidden", "model: {hidden: [[64], [128], [256], [512]]}", -1.0, "drifts"),
    ("model.hidden", "model: {hidden: [[64, 64], [128, 128], [256, 256], [512, 512]]}", 0.0,
     "holds"),
    ("data.train_limit", "data: {dataset: synthetic, train_limit: [1000, 2000, 4000], "
                         "validation: 100, test_limit: 100}", 0.5, "drifts"),
    ("epochs", "training: {epochs: [1, 2, 4]}", 0.0, "holds"),
])
def test_the_best_rates_slope_along_any_numeric_axis(tmp_path: Path, axis: str, section: str,
                                                     power: float, rule: str) -> None:
    parts = {"data": DATA, "model": "model: {hidden: [16]}\n",
             "training": "training: {epochs: 1}\n"}
    parts[section.split(":")[0]] = section + "\n"
    config = parse_config("".join(parts.values()) + (
        "sweep:\n  seeds: [0, 1, 2]\n  optimizers:\n"
        "    - {name: adam, learning_rates: {start: 1e-4, stop: 1, num: 17}}\n"))
    report = run_sweep(config, runs_dir=tmp_path, backend=WidthBackend(power, axis))
    comparison = compare_runs(scan_runs([report.run_dir]).frame)
    assert comparison.scaling == []  # the batch size's own analysis stays its own
    (slope,) = comparison.slopes
    assert slope.along.axis == axis
    assert slope.slope == pytest.approx(power, abs=0.03)
    assert slope.low <= power <= slope.high and slope.rule == rule
    said = "\n".join(verdict_lines(comparison))
    assert f"log(best rate) against log({axis}) has slope" in said
    assert ("it holds, the interval lies within ±0.25 of 0" if rule == "holds"
            else "it drifts") in said
    exported = json.loads(render(comparison, "json"))
    assert exported["axis_slopes"][0]["rule"] == rule


def test_an_interval_that_holds_0_but_is_wide_is_unclear(tmp_path: Path) -> None:
    # A half-decade grid over a width range of 4: the grid alone widens the interval past
    # the margin, so even a best rate that does not move is not called transferred.
    config = parse_config(DATA + "model: {hidden: [[64], [128], [256]]}\n"
                          "training: {epochs: 1}\nsweep:\n  seeds: [0, 1, 2]\n"
                          "  optimizers:\n    - {name: adam, learning_rates: "
                          "{start: 1e-4, stop: 1, num: 9}}\n")
    report = run_sweep(config, runs_dir=tmp_path, backend=WidthBackend(0.0, "model.hidden"))
    (slope,) = compare_runs(scan_runs([report.run_dir]).frame).slopes
    assert slope.low <= 0 <= slope.high and slope.high > 0.25 and slope.rule == "unclear"
