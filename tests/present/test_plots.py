from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SQRT_TENTH, five_seed_trials, write_fixture_sweep

from lrlab.analysis.compare import compare_runs
from lrlab.present.charts import learning_curves, sensitivity_lines
from lrlab.present.plots import write_plots
from lrlab.rundir.loading import load_runs


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
                          out_dir=tmp_path / "plots", png=True)
    names = sorted(p.name for p in written)
    assert names == ["learning-curves.png", "learning-curves.svg",
                     "sensitivity-val_accuracy.png", "sensitivity-val_accuracy.svg"]
    for path in written:  # a real picture each: an SVG parses, a PNG says so
        assert path.stat().st_size > 2_000
        if path.suffix == ".svg":
            __import__("xml.etree.ElementTree").etree.ElementTree.parse(path)
    assert (tmp_path / "plots" / "sensitivity-val_accuracy.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == names  # no temp files
    svg = (tmp_path / "plots" / "learning-curves.svg").read_text()
    assert "rmsprop" not in svg and "sgd" in svg  # the filtered-out optimizer is not drawn


def test_many_sweeps_get_lines_that_never_look_alike(tmp_path: Path) -> None:
    """13 sweeps once shared matplotlib's 10-colour cycle, and their 'best' labels
    overlapped; now every line has its own colour and dash, and the best rate is named in
    the legend (labels beside the stars only for a few lines)."""
    from lrlab.present import mpl
    from lrlab.present.charts import legend_label, sensitivity_chart, series_styles

    styles = series_styles(13)
    assert len(set(styles)) == 13 and len(set(series_styles(45))) == 45
    assert all(dash == "-" for _, dash in series_styles(10))
    for i in range(13):
        write_fixture_sweep(tmp_path / "runs", f"sweep{i:02d}")
    lines = sensitivity_lines(compare_runs(load_runs(tmp_path / "runs")))
    assert len(lines) == 26  # 13 sweeps × 2 optimizers
    figure = mpl.draw(sensitivity_chart(lines, metric="val_accuracy", at="best"))
    (ax,) = figure.axes
    drawn = [(line.get_color(), line.get_linestyle()) for line in ax.get_lines()
             if line.get_linewidth() == 1.8]  # the settings' lines, not the chance rule
    assert len(set(drawn)) == 26
    assert not ax.texts  # no labels beside the stars to overlap
    assert legend_label(lines[0]).endswith("(best 0.1)") or "best" in legend_label(lines[0])


def test_names_from_run_files_are_drawn_as_plain_text(tmp_path: Path) -> None:
    # matplotlib reads $...$ as mathematics, and bad TeX raises: names come from files.
    runs = tmp_path / "runs"
    trials = {("$\\frac{$", 0.1, 0): ([0.8, 0.9], "completed"),
              ("$\\frac{$", 0.01, 0): ([0.7, 0.8], "completed")}
    frame = load_runs(write_fixture_sweep(runs, name="$\\frac{$", trials=trials))
    written = write_plots(frame, compare_runs(frame), out_dir=tmp_path / "plots", png=True)
    assert len(written) == 4
    assert "$\\frac{$" in (tmp_path / "plots" / "learning-curves.svg").read_text()


def test_a_plots_link_planted_in_a_run_directory_is_refused(
        fixture_sweep: Path, tmp_path: Path) -> None:
    from lrlab.errors import StoreError
    from lrlab.present.plots import plot_dir

    outside = tmp_path / "outside"
    outside.mkdir()
    (fixture_sweep / "plots").symlink_to(outside)
    with pytest.raises(StoreError, match=r"plots: a symbolic link, not a folder.*`no_plots`"):
        plot_dir([fixture_sweep])
    assert plot_dir([fixture_sweep], tmp_path / "mine") == tmp_path / "mine"  # one's own
    assert list(outside.iterdir()) == []


def test_lrlab_svg_is_well_formed_and_draws_every_line_apart(tmp_path: Path) -> None:
    """The SVG lrlab writes itself: valid XML, one legend line per setting with its own
    colour and dash, the marks the verdict calls for."""
    from xml.etree import ElementTree

    from lrlab.present.charts import learning_curves_chart, sensitivity_chart
    from lrlab.present.svg import to_svg

    for i in range(13):
        write_fixture_sweep(tmp_path / "runs", f"sweep{i:02d}")
    frame = load_runs(tmp_path / "runs")
    comparison = compare_runs(frame)
    lines = sensitivity_lines(comparison)
    root = ElementTree.fromstring(to_svg(sensitivity_chart(lines, metric="val_accuracy",
                                                           at="best", baseline=0.1)))
    ns = "{http://www.w3.org/2000/svg}"
    legend = [(e.get("stroke"), e.get("stroke-dasharray")) for e in root.iter(f"{ns}line")
              if e.get("x2") and float(e.get("x2")) - float(e.get("x1")) == 28]
    assert len(set(legend[:26])) == 26  # the 26 lines, each its own look
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "tied with the best (5%, Holm)" in texts and "diverged (≥ 1 seed)" in texts
    assert not any(t and t.startswith("best ") for t in texts)  # too many lines to label
    assert len(root.findall(f".//{ns}polygon")) >= 26  # the bands and the stars
    sets = learning_curves(frame, comparison)
    curves = ElementTree.fromstring(to_svg(learning_curves_chart(sets)))
    drawn = sum(len(e) >= 2 for c in sets for e in c.epochs)
    assert drawn >= 26 and len(curves.findall(f".//{ns}polyline")) == 2 * drawn  # 2 panels


def test_svg_axes_ticks_and_escaping() -> None:
    from xml.etree import ElementTree

    from lrlab.present.figure import Figure, Panel, Scale, Style
    from lrlab.present.svg import to_svg

    log = Scale(1e-5, 3.0, log=True)
    assert [label for _, label in log.ticks()] == ["1e-05", "0.0001", "0.001", "0.01", "0.1",
                                                    "1"]
    assert [label for _, label in Scale(0.0, 1.0).ticks()] == [
        "0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert [v for v, _ in Scale(0.03, 0.3, log=True).ticks()] == [0.05, 0.1, 0.2]
    figure = Figure(title="<script>alert(1)</script> & $\\frac{$")
    panel = figure.add(Panel(Scale(0.5, 3.5), Scale(0.0, 10.0), title="a < b"))
    panel.line([1, 2, float("nan"), 3], [1, 2, 3, float("inf")], Style())
    panel.line([1, 2, 3], [1, -1, 2], Style())
    text = to_svg(figure)
    root = ElementTree.fromstring(text)  # well formed: the title is text, not markup
    assert "<script>" not in text and not root.findall(".//{http://www.w3.org/2000/svg}script")
    # Broken at NaN and inf: only the first two points make a line.
    polylines = root.findall(".//{http://www.w3.org/2000/svg}polyline")
    assert [len(p.get("points").split()) for p in polylines] == [2, 3]
    log_figure = Figure()
    log_panel = log_figure.add(Panel(Scale(0.1, 10, log=True), Scale(0.1, 10, log=True)))
    log_panel.line([1, 2, 3], [1, 0, 2], Style())  # zero has no place on a log axis
    assert "<polyline" not in to_svg(log_figure)  # two one-point pieces: nothing to draw


def _sweep_of_epochs(runs: Path, name: str, epochs: list[int]) -> Path:
    from lrlab.experiment.config import ExperimentConfig
    from lrlab.experiment.trials import expand_trials

    config = {"name": name, "training": {"epochs": epochs if len(epochs) > 1 else epochs[0]},
              "sweep": {"seeds": [0, 1], "optimizers": [
                  {"name": "sgd", "learning_rates": [0.01, 0.1, 1.0]},
                  {"name": "rmsprop", "learning_rates": [0.001, 1.0]}]}}
    trials = expand_trials(ExperimentConfig.model_validate(config))
    fixture = {(t.optimizer, t.learning_rate, t.seed): ([0.5 + t.params()["epochs"] * 0.1
                                                         + 0.01 * t.seed], "completed")
               for t in trials}
    ids = {(t.optimizer, t.learning_rate, t.seed): t.trial_id for t in trials}
    return write_fixture_sweep(runs, name, config=config, trials=fixture, trial_ids=ids)


def test_two_sweeps_never_share_an_axis_or_a_line(tmp_path: Path) -> None:
    """The Quick start's smoke sweep (1 epoch) and seed sweep (3 epochs) side by side:
    epochs differ between them but no sweep varies them, so they are no axis, and no line
    of the axis plots joins one sweep's rates to the other's."""
    from lrlab.present.charts import axis_panels

    _sweep_of_epochs(tmp_path, "smoke", [1])
    _sweep_of_epochs(tmp_path, "seed", [3])
    comparison = compare_runs(load_runs(tmp_path))
    assert comparison.setting_columns == []
    assert {v.label for v in comparison.verdicts} == {"sgd", "rmsprop"}
    (panel,) = axis_panels(comparison)  # the learning rate alone
    assert sorted(s.label.split(":")[0][:4] for s in panel.series) == [
        "seed", "seed", "smok", "smok"]
    written = write_plots(load_runs(tmp_path), comparison, out_dir=tmp_path / "plots")
    assert not any(p.name.startswith("axes-") for p in written)


def test_log_axes_are_labelled_in_plain_numbers() -> None:
    """Matplotlib's log labels are mathematics, which the figures' plain-text setting
    printed as raw ``$\\mathdefault{10^{-7}}$`` under find-lr's plot."""
    from types import SimpleNamespace

    import numpy as np

    from lrlab.analysis.suggest import across_seeds
    from lrlab.present.plots import range_test_figure

    rates = np.geomspace(1e-7, 10, 60)
    losses = 2.3 - np.tanh(np.log10(rates) + 4)
    curve = SimpleNamespace(label="sgd", seed=0, rates=rates, losses=losses, smoothed=losses,
                            kept=len(rates), suggestions={"steepest": 1e-4})
    figure = range_test_figure([curve], {"sgd": {"steepest": across_seeds([1e-4])}},
                               default_rule="steepest")
    figure.canvas.draw()
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels() if t.get_text()]
    assert labels and not any("$" in text or "mathdefault" in text for text in labels)
    assert "1e-07" in labels and "0.001" in labels


def test_values_a_damaged_file_can_hold_are_drawn_without_overflow() -> None:
    """A history cell of 1e308 or 1e-320 (the fuzz test's seed 3) once overflowed the
    scale's arithmetic: such values are left off the fitted axes, the line breaks at
    1e308, and every pixel is a finite number."""
    import math
    from xml.etree import ElementTree

    from lrlab.present.figure import Figure, Panel, Scale, Style
    from lrlab.present.svg import to_svg

    values = [1e-320, 0.5, 1e308, 0.25, 5e-324]
    figure = Figure()
    for log in (True, False):
        panel = figure.add(Panel(Scale.fit([1, 2, 3, 4, 5]), Scale.fit(values, log=log)))
        panel.line([1, 2, 3, 4, 5], values, Style())
    import re

    text = to_svg(figure)
    root = ElementTree.fromstring(text)
    assert not re.search(r"\b(inf|nan)\b", text)
    points = [float(v) for line in root.iter("{http://www.w3.org/2000/svg}polyline")
              for xy in line.get("points").split() for v in xy.split(",")]
    assert points and all(math.isfinite(v) for v in points)
