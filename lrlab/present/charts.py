"""Compare's and the report's figures, each defined once: the data it shows (small,
tested), and the :class:`~lrlab.present.figure.Figure` that shows it, with the styles that
keep lines apart. :mod:`lrlab.present.svg` writes a figure as SVG and
:mod:`lrlab.present.mpl` draws it with matplotlib; neither knows what a figure means."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from lrlab.analysis.compare import Comparison, describe_at
from lrlab.experiment.objective import DEFAULT_OBJECTIVE, Objective, base_of
from lrlab.experiment.scaling import RULES as SCALING_RULES
from lrlab.present.figure import ColourBar, Figure, LegendEntry, Panel, Scale, Style, viridis
from lrlab.rundir.records import FINISHED_STATUSES, TrialStatus


class SensitivityLine(NamedTuple):
    """One line of the sensitivity plot: the metric against the learning rate."""

    label: str
    learning_rates: list[float]
    mean: list[float]
    ci_low: list[float]  # NaN where a single seed gives no interval
    ci_high: list[float]
    best_rate: float
    tied_rates: list[float]  # not told apart from the best (best included)
    diverged_rates: list[float]  # rates at which at least one seed diverged
    stalled_rates: list[float]  # rates at which at least one seed stalled at chance


class CurveSet(NamedTuple):
    """One setting's learning curves: per rate, per-epoch means over its seeds, up to the
    last epoch every seed reached (so a seed that stopped early makes no spike)."""

    label: str
    learning_rates: list[float]
    epochs: list[list[float]]
    columns: dict[str, list[list[float]]]  # EPOCH_METRICS
    diverged: list[bool]  # whether a seed of the rate diverged (marked where it stopped)
    highlighted: list[bool]  # the best rate and its tied set


# Ten colours tell ten lines apart; past that, twenty, then each colour again with another
# dash, so that no two lines of one plot ever look alike.
_PALETTE_10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf")  # matplotlib's tab10
_PALETTE_20 = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728",
               "#ff9896", "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2",
               "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5")  # tab20
_DASHES = ("-", "--", ":", "-.")
# Above this many lines, the best rate is named in the legend only: labels beside the
# stars would overlap.
MOST_LABELLED_LINES = 3
TIED = "tied with the best (5%, Holm)"
DIVERGED = "diverged (≥ 1 seed)"
STALLED = "stalled at chance (≥ 1 seed)"


def _label(row: pd.Series, others: Sequence[str], multiple_sweeps: bool) -> str:
    parts = [str(row["optimizer"])]
    parts += [f"{c}={row[c]:g}" if isinstance(row[c], float) else f"{c}={row[c]}"
              for c in others if not (isinstance(row[c], float) and math.isnan(row[c]))]
    label = " ".join(parts)
    return f"{row['sweep']}: {label}" if multiple_sweeps else label


def sensitivity_lines(comparison: Comparison) -> list[SensitivityLine]:
    """One line per sweep and optimizer setting, from the comparison's full table (never
    from the rows a --top shows)."""
    summary = comparison.summary
    others = comparison.setting_columns
    multiple = summary["sweep"].nunique() > 1
    lines = []
    for _, group in summary.groupby(["sweep", "optimizer", *others], dropna=False, sort=False):
        group = group.sort_values("learning_rate")
        rates = group["learning_rate"].astype(float)
        lines.append(SensitivityLine(
            label=_label(group.iloc[0], others, multiple),
            learning_rates=rates.tolist(), mean=group["mean"].astype(float).tolist(),
            ci_low=group["ci_low"].astype(float).tolist(),
            ci_high=group["ci_high"].astype(float).tolist(),
            best_rate=float(rates[group["verdict"] == "best"].iloc[0]) if (
                group["verdict"] == "best").any() else math.nan,  # NaN: no rate learns
            tied_rates=rates[group["verdict"].isin(["best", "tied"])].tolist(),
            diverged_rates=rates[group["diverged"] > 0].tolist(),
            stalled_rates=rates[group["stalled"] > 0].tolist(),
        ))
    return lines


def learning_curves(frame: pd.DataFrame, comparison: Comparison) -> list[CurveSet]:
    """Per sweep and setting, the mean over seeds of each epoch's metrics, for the trials
    of ``frame`` (already filtered as the comparison was) that are results."""
    frame = frame[frame["status"].isin(FINISHED_STATUSES)].dropna(subset=["epoch"])
    others = comparison.setting_columns
    multiple = frame["sweep"].nunique() > 1
    highlighted = {(row["sweep"], row["optimizer"], *(_key(row[c]) for c in others),
                    row["learning_rate"])
                   for _, row in comparison.summary.iterrows()
                   if row["verdict"] in ("best", "tied")}
    columns = [c for c in comparison.objective.epoch_columns() if c in frame]
    curves = []
    for _, series in frame.groupby(["sweep", "optimizer", *others], dropna=False, sort=False):
        # Per rate, the epochs every seed reached, then the mean over seeds of each:
        # three group-bys per setting, whatever the number of rates.
        reached = series.groupby(["learning_rate", "seed"])["epoch"].max().groupby(
            level="learning_rate").min()
        kept = series[series["epoch"] <= series["learning_rate"].map(reached)]
        means = kept.groupby(["learning_rate", "epoch"])[columns].mean(
            ).sort_index().reset_index()
        diverged = (series["status"] == TrialStatus.DIVERGED.value).groupby(
            series["learning_rate"]).any()
        rate_of = means["learning_rate"].to_numpy(float)
        rates = sorted(float(r) for r in reached.index)
        starts = np.searchsorted(rate_of, rates, side="left")
        ends = np.searchsorted(rate_of, rates, side="right")
        epochs = means["epoch"].to_numpy(float)
        values = {c: means[c].to_numpy(float) for c in columns}
        first = series.iloc[0]
        key = (first["sweep"], first["optimizer"], *(_key(first[c]) for c in others))
        curves.append(CurveSet(
            label=_label(first, others, multiple), learning_rates=rates,
            epochs=[epochs[a:b].tolist() for a, b in zip(starts, ends, strict=True)],
            columns={c: [values[c][a:b].tolist() for a, b in zip(starts, ends, strict=True)]
                     for c in columns},
            diverged=[bool(diverged[r]) for r in rates],
            highlighted=[(*key, r) in highlighted for r in rates]))
    return curves


def _key(value: object) -> object:
    return "nan" if isinstance(value, float) and math.isnan(value) else value


def series_styles(n: int) -> list[tuple[str, str]]:
    """(colour, line style) for ``n`` lines, no two alike (up to 80, then they repeat)."""
    palette = _PALETTE_10 if n <= len(_PALETTE_10) else _PALETTE_20
    return [(palette[i % len(palette)], _DASHES[(i // len(palette)) % len(_DASHES)])
            for i in range(n)]


def legend_label(line: SensitivityLine) -> str:
    """A line's legend entry: its setting, and its best rate when one learns."""
    if math.isnan(line.best_rate):
        return f"{line.label} (no rate learns)"
    return f"{line.label} (best {line.best_rate:.3g})"


def sensitivity_title(metric: str, objective: Objective = DEFAULT_OBJECTIVE) -> str:
    better = "higher" if objective.higher_is_better(metric) else "lower"
    return (f"Learning-rate sensitivity: {metric}, mean and 95% interval over seeds "
            f"({better} is better)")


def curves_title() -> str:
    return "Learning curves: bold = best rate and rates tied with it; X = diverged there"


def axis_columns(comparison: Comparison) -> list[str]:
    """The numeric parameters besides the rate that some sweep varies: the axes of the axis
    plots (one that differs only from one sweep to another is no axis of an experiment)."""
    summary = comparison.summary
    return [c for c in (*comparison.setting_columns, *comparison.carried)
            if pd.api.types.is_numeric_dtype(summary[c])
            and summary.groupby("sweep")[c].nunique().max() > 1]


class AxisSeries(NamedTuple):
    """One sweep's optimizer along one axis: every setting and rate as a point, and the
    best at each value of a grid axis (``best_x`` empty for drawn values: each point is its
    own slice)."""

    label: str
    x: list[float]
    y: list[float]
    best_x: list[float]
    best_y: list[float]


class AxisPanel(NamedTuple):
    axis: str
    log: bool
    series: list[AxisSeries]


def axis_panels(comparison: Comparison) -> list[AxisPanel]:
    """The data of the axis plots: a panel per axis (the learning rate first), a series per
    sweep and optimizer. Lines never join two sweeps: their trials are different
    experiments (another size of data, number of epochs...) even where the axis is shared."""
    summary = comparison.summary.dropna(subset=["mean"])
    sign = 1.0 if comparison.objective.higher_is_better(comparison.metric) else -1.0
    several = summary["sweep"].nunique() > 1
    panels = []
    for axis in ["learning_rate", *axis_columns(comparison)]:
        series = []
        for (sweep, optimizer), own in summary.groupby(["sweep", "optimizer"], sort=False):
            label = f"{sweep}: {optimizer}" if several else str(optimizer)
            x, y = own[axis].astype(float).tolist(), own["mean"].astype(float).tolist()
            if own[axis].nunique() == len(own):
                series.append(AxisSeries(label, x, y, [], []))
                continue
            best = own.loc[(sign * own["mean"]).groupby(own[axis]).idxmax()].sort_values(axis)
            series.append(AxisSeries(label, x, y, best[axis].astype(float).tolist(),
                                     best["mean"].astype(float).tolist()))
        log = axis == "learning_rate" or spans_decades(summary[axis])
        panels.append(AxisPanel(axis, log, series))
    return panels


def spans_decades(values: pd.Series) -> bool:
    """Whether an axis reads best on a log scale: sizes and counts spanning a decade or so
    (batch sizes, units, images), not shares such as momentum or dropout."""
    low, high = float(values.min()), float(values.max())
    return low > 0 and high > 1 and high / low >= 8


def sensitivity_chart(lines: Sequence[SensitivityLine], *, metric: str, at: str | int,
                    baseline: float | None = None,
                    objective: Objective = DEFAULT_OBJECTIVE) -> Figure:
    """The metric against the learning rate (log axis) with its 95% interval over seeds;
    the best rate starred, the rates tied with it ringed, rates where a seed diverged
    crossed and where one stalled squared; the baseline (chance, for an accuracy) as a
    dashed line."""
    xs = [r for line in lines for r in line.learning_rates]
    ys = [v for line in lines for v in (*line.mean, *line.ci_low, *line.ci_high)]
    figure = Figure(panel_width=620, panel_height=360, title=sensitivity_title(metric, objective))
    panel = figure.add(Panel(Scale.fit(xs, log=True),
                             Scale.fit([*ys, *([baseline] if baseline is not None else [])]),
                             xlabel="learning rate (log scale)",
                             ylabel=f"{metric} ({describe_at(at)})"))
    marks: dict[str, LegendEntry] = {}
    for line, (colour, dash) in zip(lines, series_styles(len(lines)), strict=True):
        x, y = np.asarray(line.learning_rates, float), np.asarray(line.mean, float)
        panel.band(line.learning_rates, line.ci_low, line.ci_high, colour)
        panel.line(x, y, Style(colour, 1.8, dash), marker_size=3)
        figure.legend.append(LegendEntry(legend_label(line), Style(colour, 1.8, dash)))
        tied = np.isin(x, line.tied_rates) & (x != line.best_rate)
        if tied.any():
            panel.marks(x[tied], y[tied], "ring", size=8, colour=colour)
            marks.setdefault(TIED, LegendEntry(TIED, shape="ring", colour="#444444"))
        best = x == line.best_rate
        if best.any():
            panel.marks(x[best], y[best], "star", size=11, colour=colour, edge="black")
            if len(lines) <= MOST_LABELLED_LINES:
                panel.text(line.best_rate, float(y[best][0]), f"best {line.best_rate:.3g}",
                           dy=-14)
        stalled = STALLED.replace("chance", floor_word(metric))
        for rates, label, shape, colour_of in ((line.diverged_rates, DIVERGED, "x", "crimson"),
                                               (line.stalled_rates, stalled, "square", "grey")):
            bad = np.isin(x, rates)
            if bad.any():
                panel.marks(x[bad], y[bad], shape, size=6, colour=colour_of)
                marks.setdefault(label, LegendEntry(label, shape=shape, colour=colour_of))
    if baseline is not None:
        panel.hline(baseline, Style("grey", 1, "--"))
        figure.legend.append(LegendEntry(f"{floor_word(metric)} ({baseline:.4g})",
                                         Style("grey", 1, "--")))
    figure.legend.extend(marks.values())
    return figure


def floor_word(metric: str) -> str:
    """What a metric's baseline is called: chance for an accuracy, else baseline."""
    return "chance" if base_of(metric).endswith("accuracy") else "baseline"


def learning_curves_chart(curves: Sequence[CurveSet],
                          objective: Objective = DEFAULT_OBJECTIVE) -> Figure:
    """Small multiples: a row per setting, training loss (log scale) and validation
    accuracy per epoch, colour = learning rate (log); the best rate and its tied set drawn
    bold, the others faint; an X where a diverged rate stopped."""
    rates = [r for c in curves for r in c.learning_rates]
    low, high = min(rates), max(rates)
    high = high if high > low else low * 10
    span = math.log10(high) - math.log10(low)

    def colour(rate: float) -> str:
        return viridis((math.log10(rate) - math.log10(low)) / span)

    figure = Figure(rows=len(curves), columns=2, panel_width=430, panel_height=220,
                    title=curves_title(),
                    colour_bar=ColourBar(Scale(low, high, log=True),
                                         "learning rate (log scale)"))
    verdict = objective.verdict if objective.verdict in objective.epoch_columns() else (
        "val_" + objective.verdict.removeprefix("test_"))
    for curve in curves:
        validation = any(math.isfinite(v) for vals in curve.columns.get(verdict, [])
                         for v in vals)
        accuracy = verdict if validation else verdict.removeprefix("val_")
        bounded = objective.value_range(accuracy)
        last = max((e[-1] for e in curve.epochs if e), default=1.0)
        for column in ("loss", accuracy):
            values = [v for vals in curve.columns[column] for v in vals]
            log = column == "loss"
            panel = figure.add(Panel(
                Scale(0.8, last + 0.2, fixed_ticks=tuple(_whole_ticks(last))),
                Scale.fit(values, log=True) if log else (
                    Scale(*bounded) if bounded == (0.0, 1.0) else Scale.fit(values)),
                title=textwrap.shorten(curve.label, 60) if log else "",
                xlabel="epoch",
                ylabel="training loss (log scale)" if log else column.replace("_", " ")))
            order = sorted(range(len(curve.learning_rates)), key=lambda i: curve.highlighted[i])
            for i in order:  # the bold lines last, on top
                bold = curve.highlighted[i]
                x, y = curve.epochs[i], curve.columns[column][i]
                panel.line(x, y, Style(colour(curve.learning_rates[i]), 2.4 if bold else 1.0,
                                       opacity=1.0 if bold else 0.5),
                           marker_size=3 if bold else 1.5)
                if curve.diverged[i] and x:
                    panel.marks([x[-1]], [y[-1]], "x", size=6, colour="crimson")
    return figure


def _whole_ticks(last: float) -> list[float]:
    step = max(1, math.ceil(last / 10))
    return [float(e) for e in range(1, int(last) + 1, step)]


def axes_chart(comparison: Comparison) -> Figure:
    """The metric along each axis (the Deep Learning Tuning Playbook's axis plots): every
    setting and rate as a faint point, the best of each value of the axis as a line of
    stars, one colour per sweep and optimizer; the learning rate is the first axis."""
    panels = axis_panels(comparison)
    baseline = comparison.baseline
    y = Scale.fit([v for p in panels[:1] for s in p.series for v in s.y]
                  + ([baseline] if baseline is not None else []))
    figure = Figure(columns=len(panels), panel_width=320, panel_height=300,
                    title=f"{comparison.metric} along each axis: mean over seeds of every "
                          f"setting and rate, the best at each value of a grid axis starred")
    for index, found in enumerate(panels):
        panel = figure.add(Panel(Scale.fit([v for s in found.series for v in s.x],
                                           log=found.log),
                                 Scale(y.low, y.high), xlabel=found.axis,
                                 ylabel=(f"{comparison.metric} "
                                         f"({describe_at(comparison.at)})" if index == 0
                                         else "")))
        styles = series_styles(len(found.series))
        for series, (colour, _) in zip(found.series, styles, strict=True):
            if not series.best_x:
                panel.marks(series.x, series.y, "circle", size=4.5, colour=colour,
                            edge="black")
                if index == 0:
                    figure.legend.append(LegendEntry(f"{series.label}: each point",
                                                     shape="circle", colour=colour))
                continue
            panel.marks(series.x, series.y, "circle", size=3, colour=colour + "55")
            panel.line(series.best_x, series.best_y, Style(colour, 1.8))
            panel.marks(series.best_x, series.best_y, "star", size=8, colour=colour,
                        edge="black")
            if index == 0:
                figure.legend.append(LegendEntry(f"{series.label}: best at each value",
                                                 Style(colour, 1.8), "star", colour))
        if baseline is not None:
            panel.hline(baseline, Style("grey", 1, "--"))
    return figure


def scaling_chart(comparison: Comparison) -> Figure:
    """The best rate against the batch size (log-log), per optimizer: the verdicts' best
    rates, the line of the fitted slope through them, the linear and square-root rules
    drawn from the smallest batch size's best rate, and the gradient noise's model where
    it was fitted."""
    return _slope_figure(
        comparison.scaling, xlabel="batch size (log scale)",
        title="The best learning rate against the batch size: the fit (solid), the noise "
              "model (dash-dot),\nand the linear (dashed) and square-root (dotted) rules "
              "from the smallest batch size", with_rules=True)


def transfer_charts(comparison: Comparison) -> list[tuple[str, Figure]]:
    """For each axis other than the batch size: the best rate against its value
    (log-log), per optimizer setting, with the fitted slope (a flat line: it transfers)."""
    axes = dict.fromkeys(s.along.axis for s in comparison.slopes)
    return [(axis, _slope_figure(
        [s for s in comparison.slopes if s.along.axis == axis],
        xlabel=f"{axis} (log scale)",
        title=f"Does the best learning rate transfer along {axis}? The best rates and the "
              f"fitted slope\n(flat: the rate tuned at one value holds at the others)"))
        for axis in axes]


def _slope_figure(items: Sequence[Any], *, xlabel: str, title: str,
                  with_rules: bool = False) -> Figure:
    from lrlab.analysis.axes import axis_number

    sizes_all = sorted({axis_number(p.value) for s in items for p in s.along.points})
    rates_all = [p.best_rate for s in items for p in s.along.points
                 if p.best_rate is not None]
    figure = Figure(panel_width=520, panel_height=380, title=title)
    panel = figure.add(Panel(Scale(*_padded(sizes_all), log=True, fixed_ticks=tuple(sizes_all)),
                             Scale.fit(rates_all, log=True, pad=0.3),
                             xlabel=xlabel, ylabel="best learning rate (log scale)"))
    for scaling, (colour, _) in zip(items, series_styles(len(items)), strict=True):
        points = [p for p in scaling.along.points if p.best_rate is not None]
        sizes = np.array([axis_number(p.value) for p in points])
        best = np.array([p.best_rate for p in points], dtype=float)
        grid = np.geomspace(sizes.min(), sizes.max(), 50)
        centre = np.exp(np.mean(np.log(best)) - scaling.slope * np.mean(np.log(sizes)))
        panel.line(grid, centre * grid ** scaling.slope, Style(colour, 2))
        rules = list(SCALING_RULES.values()) if with_rules else []
        for rule in rules:  # from the smallest batch size's best rate
            panel.line(grid, rule.scaled(best[0], grid, sizes[0]), Style(colour, 1, rule.dash))
            figure.legend.append(LegendEntry(f"{scaling.along.optimizer}: {rule.title}",
                                             Style(colour, 1, rule.dash)))
        fit = scaling.noise
        if fit is not None:  # the gradient noise's model, fitted to the same best rates
            panel.line(grid, np.array([fit.rate(b) for b in grid]), Style(colour, 1.5, "-."))
            figure.legend.append(LegendEntry(
                f"{scaling.along.optimizer}: eps_max / (1 + B_noise/B), B_noise "
                f"{fit.b_noise:,.0f}", Style(colour, 1.5, "-.")))
        panel.marks(sizes, best, "circle", size=5.5, colour=colour, edge="black")
        figure.legend.insert(len(figure.legend) - len(rules) - (fit is not None),
                             LegendEntry(
            f"{scaling.along.label}: best rate (slope {scaling.slope:.2f}, 95% CI "
            f"{scaling.low:.2f} to {scaling.high:.2f})", Style(colour, 2), "circle", colour))
    return figure


def _padded(sizes: Sequence[float]) -> tuple[float, float]:
    """A log axis a little wider than the batch sizes, so the end points are not cut."""
    low, high = min(sizes), max(sizes)
    factor = (high / low) ** 0.06 if high > low else 2.0
    return low / factor, high * factor


PATH_COLOURS = {"too small": "#1f77b4", "best": "#2ca02c", "too large": "#d62728"}
CONTOUR_LEVELS = 12


def path_chart(entry: dict) -> Figure:
    """One setting's paths (an entry of path.json, lrlab.run.path): the loss along the
    straight line from the initial to the final weights for each of its three rates, then
    each rate's trajectory over the loss's contours (log scale) in the plane of its two
    principal directions, filter-normalised (start: a circle; end: a star)."""
    trials = entry["trials"]
    figure = Figure(rows=2, columns=2, panel_width=400, panel_height=300,
                    title=f"{entry['label']}: the path of a rate too small, the best and one "
                          f"too large (seed {entry['seed']})")
    line_losses = [v for t in trials for v in t["line"]["loss"] if _positive(v)]
    panel = figure.add(Panel(Scale.fit(trials[0]["line"]["alpha"]),
                             Scale.fit(line_losses or [1.0], log=True),
                             title="loss on the line from initial (0) to final (1) weights",
                             xlabel="alpha", ylabel="training loss (log scale)"))
    for trial in trials:
        colour = PATH_COLOURS[trial["role"]]
        panel.line(trial["line"]["alpha"], [v if _positive(v) else math.nan
                                            for v in trial["line"]["loss"]],
                   Style(colour, 1.8), marker_size=2)
        figure.legend.append(LegendEntry(f"{trial['role']}: {trial['learning_rate']:.3g}",
                                         Style(colour, 1.8)))
    for trial in trials:
        figure.add(_trajectory_panel(trial))
    return figure


def _trajectory_panel(trial: dict) -> Panel:
    from contourpy import contour_generator  # matplotlib's own contouring

    grid = trial["grid"]
    first, second = np.asarray(grid["first"], float), np.asarray(grid["second"], float)
    loss = np.array([[v if _positive(v) else np.nan for v in row] for row in grid["loss"]],
                    dtype=float)
    shares = ", ".join(f"{100 * s:.0f}%" for s in trial.get("explained", []))
    panel = Panel(Scale(float(first[0]), float(first[-1])),
                  Scale(float(second[0]), float(second[-1])),
                  title=f"{trial['role']} ({trial['learning_rate']:.3g}): "
                        f"variance {shares}",
                  xlabel="1st direction", ylabel="2nd direction", grid=False)
    logs = np.log10(loss)
    finite = logs[np.isfinite(logs)]
    if finite.size > 1 and finite.max() > finite.min():
        low, high = np.percentile(finite, [2, 98])
        generator = contour_generator(first, second, np.ma.masked_invalid(logs))
        for level in np.linspace(low, high, CONTOUR_LEVELS):
            share = float((level - low) / (high - low)) if high > low else 0.0
            for piece in generator.lines(float(level)):
                if len(piece) > 1:
                    panel.line(piece[:, 0], piece[:, 1], Style(viridis(share), 1.0))
    coordinates = np.asarray(trial["coordinates"], float)
    colour = PATH_COLOURS[trial["role"]]
    panel.line(coordinates[:, 0], coordinates[:, 1], Style(colour, 2.0), marker_size=2)
    panel.marks(coordinates[:1, 0], coordinates[:1, 1], "circle", size=5, colour=colour,
                edge="black")
    panel.marks(coordinates[-1:, 0], coordinates[-1:, 1], "star", size=9, colour=colour,
                edge="black")
    return panel


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def coord_chart(found: Any) -> Figure:
    """µP's coordinate check (lrlab.run.coord_check): each layer's mean |output| against
    the width, log-log, a panel per parametrization on a shared scale: flat lines are what
    µP promises."""
    values = [v for layers in found.values.values() for series in layers.values()
              for v in series]
    figure = Figure(columns=len(found.values), panel_width=380, panel_height=300,
                    title=f"Coordinate check: mean |output| of each layer after {found.steps} "
                          f"steps of {found.optimizer} at {found.learning_rate:g}")
    styles = series_styles(max(len(layers) for layers in found.values.values()))
    for parametrization, layers in found.values.items():
        panel = figure.add(Panel(Scale(*_padded(found.widths), log=True,
                                       fixed_ticks=tuple(float(w) for w in found.widths)),
                                 Scale.fit(values, log=True, pad=0.2),
                                 title=parametrization, xlabel="width (log scale)",
                                 ylabel="mean |output| (log scale)"))
        for (layer, series), (colour, dash) in zip(layers.items(), styles, strict=False):
            panel.line(list(found.widths), series, Style(colour, 1.8, dash), marker_size=3)
            if parametrization == next(iter(found.values)):
                figure.legend.append(LegendEntry(layer, Style(colour, 1.8, dash)))
    return figure
