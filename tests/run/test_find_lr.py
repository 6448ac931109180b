from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import one_line_error
from typer.testing import CliRunner

from lrlab.analysis.suggest import grid_for
from lrlab.cli import app
from lrlab.experiment.config import ExperimentConfig, parse_config
from lrlab.experiment.trials import expand_trials
from lrlab.run.find_lr import RangeTestError, RangeTestOptions, parse_seeds, run_find_lr

runner = CliRunner()


def test_range_test_on_synthetic(tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    options = RangeTestOptions(start=1e-5, end=100.0, steps=60, seeds=(0, 1))
    report = run_find_lr(tiny_config, options=options, runs_dir=tmp_path)
    assert set(report.agreement) == {"sgd", "rmsprop"}
    for curve in report.curves:
        assert 3 <= curve.kept <= 60
        assert curve.rates[0] == pytest.approx(1e-5) and curve.rates[-1] == pytest.approx(100)
        assert curve.rates[1] / curve.rates[0] == pytest.approx(curve.rates[2] / curve.rates[1])
    diverging = [c for c in report.curves if c.kept < 60]
    assert diverging, "a ramp to 100 must end in divergence"
    for curve in diverging:  # the cut: the raw loss blew up (NaN from there on), or the
        after = curve.smoothed[curve.kept]  # smoothed loss passed 4x its minimum
        assert np.isnan(after) or after > 4 * curve.smoothed[: curve.kept].min()
    result = json.loads((report.run_dir / "result.json").read_text())
    assert result["rule"] == "steepest" and result["options"]["steps"] == 60
    sgd = result["optimizers"]["sgd"]
    assert sgd["suggested"] == pytest.approx(report.agreement["sgd"]["steepest"].median)
    assert [s["seed"] for s in sgd["per_seed"]] == [0, 1]
    curve = pd.read_csv(report.run_dir / "sgd-s0.csv")
    assert list(curve.columns) == ["step", "lr", "loss", "smoothed"]
    assert report.run_dir.name.startswith("tiny-findlr-")
    assert report.plot == report.run_dir / "findlr.png" and report.plot.stat().st_size > 10_000


def test_the_rule_chosen_is_recorded_with_its_suggestion(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    # From 1e-4 the tiny set's curves descend, so valley and steepest suggest different rates.
    options = RangeTestOptions(start=1e-4, end=10.0, steps=100, seeds=(0,), rule="valley")
    report = run_find_lr(tiny_config, options=options, runs_dir=tmp_path)
    result = json.loads((report.run_dir / "result.json").read_text())
    assert result["rule"] == "valley"
    for label, entry in result["optimizers"].items():
        valley = report.agreement[label]["valley"].median
        assert valley != pytest.approx(report.agreement[label]["steepest"].median)
        assert entry["suggested"] == pytest.approx(valley)
        assert entry["grid"] == grid_for(report.agreement[label]["valley"])[0]


def test_seeds_parse_from_text() -> None:
    assert parse_seeds("0,1, 2") == (0, 1, 2) and parse_seeds("3 4") == (3, 4)
    with pytest.raises(RangeTestError, match="^seeds='a,b': expected integers"):
        parse_seeds("a,b")


def test_small_data_is_repeated_for_a_full_ramp(tmp_path: Path,
                                                 tiny_config: ExperimentConfig) -> None:
    # 500 training images make 16 batches an epoch; the default ramp still has 300 steps.
    options = RangeTestOptions(seeds=(0,), end=1.0)
    report = run_find_lr(tiny_config, options=options, runs_dir=tmp_path)
    assert all(len(c.rates) == 300 for c in report.curves)
    assert any(c.kept > 100 for c in report.curves)


@pytest.mark.slow
def test_same_seed_same_curve(tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    options = RangeTestOptions(steps=20, seeds=(0,))
    first = run_find_lr(tiny_config, options=options, runs_dir=tmp_path)
    again = run_find_lr(tiny_config, options=options, runs_dir=tmp_path)
    assert list(first.curves[0].losses) == list(again.curves[0].losses)


@pytest.mark.parametrize(("options", "message"), [
    (RangeTestOptions(start=1.0, end=0.1), "expected 0 < start < end"),
    (RangeTestOptions(steps=5), "^steps=5: expected at least 10"),
    (RangeTestOptions(smoothing=1.0), "^smoothing=1: expected a number in \\[0, 1\\)"),
    (RangeTestOptions(diverge=1.0), "^diverge=1: expected a number > 1"),
    (RangeTestOptions(seeds=()), "^seeds="),
    (RangeTestOptions(rule="fastest"), "^rule='fastest': expected one of: steepest, valley"),
    # 1e999 on the command line is infinity: a bad value, not a divergence to report.
    (RangeTestOptions(end=float("inf")), "^end=inf: expected a learning rate float32 can hold"),
    (RangeTestOptions(start=1e-320), "^start=1e-320: expected a learning rate float32 can"),
    (RangeTestOptions(end=float("nan")), "^end=nan: expected a learning rate float32 can"),
    (RangeTestOptions(diverge=float("inf")), "^diverge=inf: expected a number > 1"),
])
def test_bad_options(tmp_path: Path, tiny_config: ExperimentConfig, options, message) -> None:
    with pytest.raises(RangeTestError, match=message):
        run_find_lr(tiny_config, options=options, runs_dir=tmp_path)
    assert not any(tmp_path.iterdir())  # checked before anything is written


def test_cli(tmp_path: Path, tiny_config_file: Path) -> None:
    result = runner.invoke(app, ["find-lr", str(tiny_config_file), "--steps", "40", "--seeds",
                                 "0,1", "--runs-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "sgd: suggested learning rate" in result.stdout and "by steepest" in result.stdout
    assert "  rmsprop seed 1: " in result.stdout  # a progress line per test
    pasted = yaml.safe_load(result.stdout.split("# paste into sweep.optimizers")[1]
                            .split("\n", 1)[1].split("\nrange test:")[0])
    assert [entry["name"] for entry in pasted] == ["sgd", "rmsprop"]
    assert pasted[0]["learning_rates"]["num"] >= 7
    (run_dir,) = (tmp_path / "r").iterdir()
    assert (run_dir / "findlr.png").stat().st_size > 10_000
    one_line_error(runner.invoke(app, ["find-lr", str(tiny_config_file), "--rule", "best"]),
                   "--rule 'best': expected one of: steepest, valley, min/10")
    one_line_error(runner.invoke(app, ["find-lr", str(tiny_config_file), "--seeds", "a"]),
                   "--seeds 'a': expected integers")
    one_line_error(runner.invoke(app, ["find-lr", str(tmp_path / "none.yaml")]),
                   "config file not found")
    one_line_error(runner.invoke(app, ["find-lr", str(tiny_config_file), "--end", "1e999"]),
                   "--end inf: expected a learning rate float32 can hold")


@pytest.mark.mnist
def test_suggestions_on_real_mnist(mnist_dir: Path, tmp_path: Path) -> None:
    from lrlab.experiment.config import parse_config

    config = parse_config("""
sweep:
  optimizers:
    - {name: rmsprop, learning_rates: [1e-3]}
    - {name: sgd, learning_rates: [0.1]}
""")
    report = run_find_lr(config, runs_dir=tmp_path, env={"LRLAB_DATA_DIR": str(mnist_dir)})
    rmsprop, sgd = report.suggested("rmsprop"), report.suggested("sgd")  # steepest
    assert 1e-4 <= rmsprop.median <= 1e-2 and not rmsprop.seeds_disagree
    assert 1e-2 <= sgd.median <= 1.0 and not sgd.seeds_disagree
    # The grid to paste holds the rates three-seed sweeps found best (README): RMSprop
    # 3.16e-4 to 3.16e-3, SGD 0.1 to 0.316.
    for label, best in (("rmsprop", (3.16e-4, 3.16e-3)), ("sgd", (0.1, 0.316))):
        grid = report.grid(label)
        assert grid["start"] < min(best) and max(best) < grid["stop"], (label, grid)


def test_the_stability_edge_is_marked_where_the_sharpness_is_measured(
        tmp_path: Path, tiny_yaml: str) -> None:
    from lrlab.training import build_engine
    from lrlab.training.curvature import sharpness_of
    from lrlab.training.data import load_dataset

    config_file = tmp_path / "edge.yaml"
    config_file.write_text(tiny_yaml.replace("  batch_size: 32\n", "  batch_size: 32\n"
                                             "  sharpness: {rows: 256}\n"))
    result = runner.invoke(app, ["find-lr", str(config_file), "--steps", "30", "--seeds",
                                 "0,1", "--runs-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "r").iterdir()
    edge = json.loads((run_dir / "result.json").read_text())["edge"]
    # Seed 0's sharpness, measured again by hand at its initial weights, is the one recorded.
    config = parse_config(config_file.read_text())
    engine = build_engine(load_dataset(config.data, objective=config.objective),
                          model=config.model, training=config.training)
    setting = expand_trials(config)[0].setting
    engine.start_stack(setting, seed=0, learning_rates=[0.1])
    again = sharpness_of(engine, 0, rows=256, seed=0, max_products=200).value
    assert edge["per_seed"][0] == {"seed": 0, "sharpness": pytest.approx(again, rel=1e-3)}
    values = [s["sharpness"] for s in edge["per_seed"]]
    assert edge["edge"] == pytest.approx(2 / np.median(values))
    assert f"stability edge: 2/λ₀ = {edge['edge']:.3g}" in result.stdout
    # Not asked for: not measured.
    plain = run_find_lr(parse_config(tiny_yaml), runs_dir=tmp_path / "plain",
                        options=RangeTestOptions(steps=20, seeds=(0,)))
    assert plain.edge is None and not plain.sharpness
    assert json.loads((plain.run_dir / "result.json").read_text())["edge"] is None
