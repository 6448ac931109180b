"""Plots for ``lrlab compare``: the data to plot (small, tested), then the files. By
default lrlab writes them as SVG itself (:mod:`lrlab.present.charts`: milliseconds); with
``png`` matplotlib draws the same figures as PNG too (seconds: its tick layout).

Matplotlib is imported only when drawing, with the Agg backend, so no display is needed.
"""

from __future__ import annotations

import functools
import math
import os
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from lrlab.analysis.compare import (
    Comparison,
    describe_at,
    select,
)
from lrlab.errors import StoreError
from lrlab.experiment.scaling import RULES as SCALING_RULES
from lrlab.present.charts import (
    DIVERGED,
    MOST_LABELLED_LINES,
    STALLED,
    TIED,
    CurveSet,
    SensitivityLine,
    axes_svg,
    axis_columns,
    axis_panels,
    curves_title,
    learning_curves_svg,
    legend_label,
    scaling_svg,
    sensitivity_svg,
    sensitivity_title,
    series_styles,
)
from lrlab.rundir.files import atomic_write, atomic_write_text, real_dir
from lrlab.rundir.records import EPOCH_METRICS, FINISHED_STATUSES, TrialStatus

P = ParamSpec("P")
R = TypeVar("R")


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
    curves = []
    for _, series in frame.groupby(["sweep", "optimizer", *others], dropna=False, sort=False):
        # Per rate, the epochs every seed reached, then the mean over seeds of each:
        # three group-bys per setting, whatever the number of rates.
        reached = series.groupby(["learning_rate", "seed"])["epoch"].max().groupby(
            level="learning_rate").min()
        kept = series[series["epoch"] <= series["learning_rate"].map(reached)]
        means = kept.groupby(["learning_rate", "epoch"])[list(EPOCH_METRICS)].mean(
            ).sort_index().reset_index()
        diverged = (series["status"] == TrialStatus.DIVERGED.value).groupby(
            series["learning_rate"]).any()
        rate_of = means["learning_rate"].to_numpy(float)
        rates = sorted(float(r) for r in reached.index)
        starts = np.searchsorted(rate_of, rates, side="left")
        ends = np.searchsorted(rate_of, rates, side="right")
        epochs = means["epoch"].to_numpy(float)
        values = {c: means[c].to_numpy(float) for c in EPOCH_METRICS}
        first = series.iloc[0]
        key = (first["sweep"], first["optimizer"], *(_key(first[c]) for c in others))
        curves.append(CurveSet(
            label=_label(first, others, multiple), learning_rates=rates,
            epochs=[epochs[a:b].tolist() for a, b in zip(starts, ends, strict=True)],
            columns={c: [values[c][a:b].tolist() for a, b in zip(starts, ends, strict=True)]
                     for c in EPOCH_METRICS},
            diverged=[bool(diverged[r]) for r in rates],
            highlighted=[(*key, r) in highlighted for r in rates]))
    return curves


def _key(value: object) -> object:
    return "nan" if isinstance(value, float) and math.isnan(value) else value


def _save(fig: Any, path: Path) -> None:
    # Through a temporary file and a rename, like every file lrlab writes into a run folder.
    atomic_write(path, lambda handle: fig.savefig(handle, format=path.suffix[1:]), binary=True)


def _plain_text(draw: Callable[P, R]) -> Callable[P, R]:
    """Make a figure whose text is drawn as given: names and labels come from run files,
    and matplotlib would read ``$...$`` in them as mathematics (and fail on bad TeX)."""
    @functools.wraps(draw)
    def plain(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)
    return plain


def _plain_ticks(axis: Any) -> None:
    """Label a log axis's decades as plain numbers (1e-07, 0.001, 10). Matplotlib's own
    log labels are mathematics (``$\\mathdefault{10^{-7}}$``), which the figures'
    ``text.parse_math: False`` would print as raw text."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@_plain_text
def sensitivity_figure(lines: Sequence[SensitivityLine], *, metric: str,
                       at: str | int, chance: float | None = None) -> Any:
    """The metric against the learning rate (log axis) with its 95% interval over seeds;
    the best rate starred, the rates tied with it ringed, rates where a seed diverged
    crossed and where one stalled squared; chance as a dashed line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5.5), layout="constrained")
    legend_marks: set[str] = set()

    def mark(x: Any, y: Any, label: str, **style: Any) -> None:
        ax.scatter(x, y, label=None if label in legend_marks else label, **style)
        legend_marks.add(label)

    for line, (colour, dash) in zip(lines, series_styles(len(lines)), strict=True):
        x, y = np.asarray(line.learning_rates), np.asarray(line.mean)
        ax.plot(x, y, marker="o", markersize=4, color=colour, linestyle=dash,
                label=legend_label(line))
        ax.fill_between(x, line.ci_low, line.ci_high, color=colour, alpha=0.2, linewidth=0)
        tied = np.isin(x, line.tied_rates) & (x != line.best_rate)
        if tied.any():
            mark(x[tied], y[tied], TIED, s=150,
                 facecolors="none", edgecolors=colour, linewidths=2, zorder=4)
        best = x == line.best_rate
        if best.any():
            ax.scatter(x[best], y[best], marker="*", s=260, color=colour, edgecolor="black",
                       zorder=5)
            if len(lines) <= MOST_LABELLED_LINES:
                ax.annotate(f"best {line.best_rate:.3g}", (line.best_rate, y[best][0]),
                            textcoords="offset points", xytext=(0, 10), ha="center",
                            fontsize=9)
        for rates, label, style in (
                (line.diverged_rates, DIVERGED, {"marker": "X", "s": 110, "color": "crimson"}),
                (line.stalled_rates, STALLED, {"marker": "s", "s": 70, "color": "grey"})):
            bad = np.isin(x, rates)
            if bad.any():
                mark(x[bad], y[bad], label, zorder=3, **style)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label=f"chance ({chance:g})")
    ax.set_xscale("log")
    _plain_ticks(ax.xaxis)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel(f"{metric} ({describe_at(at)})")
    fig.suptitle(sensitivity_title(metric))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, fontsize=9)
    return fig


@_plain_text
def axes_figure(comparison: Comparison) -> Any:
    """:func:`lrlab.present.charts.axes_svg`'s figure, drawn by matplotlib."""
    plt = _pyplot()
    found = axis_panels(comparison)
    fig, panels = plt.subplots(1, len(found), figsize=(4.2 * len(found) + 2, 4.5),
                               layout="constrained", squeeze=False, sharey=True)
    for panel, axis in zip(panels[0], found, strict=True):
        styles = series_styles(len(axis.series))
        for series, (colour, _) in zip(axis.series, styles, strict=True):
            if not series.best_x:
                panel.scatter(series.x, series.y, color=colour, s=30, edgecolors="black",
                              label=f"{series.label}: each point")
                continue
            panel.scatter(series.x, series.y, color=colour, alpha=0.3, s=18)
            panel.plot(series.best_x, series.best_y, color=colour, marker="*", markersize=11,
                       markeredgecolor="black", label=f"{series.label}: best at each value")
        if axis.log:
            panel.set_xscale("log")
            _plain_ticks(panel.xaxis)
        panel.set_xlabel(axis.axis)
        panel.grid(True, which="both", alpha=0.3)
    if comparison.chance is not None:
        for panel in panels[0]:
            panel.axhline(comparison.chance, color="grey", linestyle="--", linewidth=1)
    panels[0][0].set_ylabel(f"{comparison.metric} ({describe_at(comparison.at)})")
    panels[0][-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9)
    fig.suptitle(f"{comparison.metric} along each axis: mean over seeds of every setting "
                 f"and rate, the best at each value of a grid axis starred")
    return fig


@_plain_text
def scaling_figure(comparison: Comparison) -> Any:
    """The best rate against the batch size (log-log), per optimizer: the verdicts' best
    rates, the line of the fitted slope through them, and the linear and square-root rules
    drawn from the smallest batch size's best rate."""
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(8, 6.5), layout="constrained")
    for scaling, (colour, _) in zip(comparison.scaling,
                                    series_styles(len(comparison.scaling)), strict=True):
        points = [p for p in scaling.along.points if p.best_rate is not None]
        sizes = np.array([float(p.value) for p in points])
        best = np.array([p.best_rate for p in points], dtype=float)
        ax.plot(sizes, best, "o", color=colour, markersize=8, markeredgecolor="black",
                label=f"{scaling.along.label}: best rate (slope {scaling.slope:.2f}, "
                      f"95% CI {scaling.low:.2f} to {scaling.high:.2f})")
        grid = np.geomspace(sizes.min(), sizes.max(), 50)
        anchor = best[0]  # the rules start where the data starts
        centre = np.exp(np.mean(np.log(best)) - scaling.slope * np.mean(np.log(sizes)))
        ax.plot(grid, centre * grid ** scaling.slope, color=colour, linewidth=2)
        for rule in SCALING_RULES.values():
            ax.plot(grid, rule.scaled(anchor, grid, sizes[0]), color=colour,
                    linestyle=rule.dash, linewidth=1, label=f"{scaling.along.optimizer}: "
                                                            f"{rule.title}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        _plain_ticks(axis)
    low, high = ax.get_ylim()
    if high / low < 30:  # within a decade or so, label the minor ticks too
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:.2g}"))
    ax.set_xticks(sorted({float(p.value) for s in comparison.scaling for p in s.along.points}))
    ax.set_xlabel("batch size (log scale)")
    ax.set_ylabel("best learning rate (log scale)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8, ncols=2)
    fig.suptitle("The best learning rate against the batch size: the fit (solid), and the\n"
                 "linear (dashed) and square-root (dotted) rules from the smallest batch size",
                 fontsize=10)
    return fig


@_plain_text
def learning_curves_figure(curves: Sequence[CurveSet]) -> Any:
    """Small multiples: a row per setting, training loss (log scale) and validation
    accuracy per epoch, colour = learning rate (log); the best rate and its tied set drawn
    bold, the others faint; an X where a diverged rate stopped."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import MaxNLocator

    rates = [r for c in curves for r in c.learning_rates]
    norm = LogNorm(vmin=min(rates), vmax=max(rates) if max(rates) > min(rates) else
                   min(rates) * 10)
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(len(curves), 2, figsize=(12, 3.4 * len(curves) + 0.6),
                             squeeze=False, layout="constrained")
    for row, curve in zip(axes, curves, strict=True):
        validation = any(math.isfinite(v) for vals in curve.columns["val_accuracy"]
                         for v in vals)
        accuracy = "val_accuracy" if validation else "accuracy"
        for ax, column in zip(row, ("loss", accuracy), strict=True):
            for i, rate_value in enumerate(curve.learning_rates):
                bold = curve.highlighted[i]
                x, y = curve.epochs[i], curve.columns[column][i]
                ax.plot(x, y, color=cmap(norm(rate_value)), marker=".",
                        markersize=7 if bold else 3, linewidth=2.2 if bold else 0.9,
                        alpha=1.0 if bold else 0.45, zorder=3 if bold else 2)
                if curve.diverged[i] and x:
                    ax.scatter([x[-1]], [y[-1]], marker="X", color="crimson", s=50, zorder=4)
            ax.set_xlabel("epoch")
            last = max((e[-1] for e in curve.epochs if e), default=1.0)
            ax.set_xlim(0.8, last + 0.2)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, which="both", alpha=0.3)
            if column == "loss":
                ax.set_yscale("log")
                _plain_ticks(ax.yaxis)
                ax.set_ylabel("training loss (log scale)")
                ax.set_title(textwrap.shorten(curve.label, 60), loc="left", fontsize=10)
            else:
                ax.set_ylim(0, 1)
                ax.set_ylabel(column.replace("_", " "))
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=axes, label="learning rate (log scale)", shrink=0.9)
    fig.suptitle(curves_title(), fontsize=11)
    return fig


def _save_and_close(fig: Any, path: Path) -> None:
    _save(fig, path)
    _pyplot().close(fig)


PLOTS_DIR = "plots"


def plot_dir(sweep_dirs: Sequence[Path], given: Path | None = None) -> Path:
    """The folder for the plots, made if missing: ``given``, or by default ``<sweep>/plots``
    for one sweep and ``plots/`` in the folder that holds several. The default is a real
    folder there: a symbolic link planted in its place is refused, not followed."""
    try:
        if given is not None:
            given.mkdir(parents=True, exist_ok=True)
            return given
        base = (sweep_dirs[0] if len(sweep_dirs) == 1 else
                Path(os.path.commonpath([p.resolve() for p in sweep_dirs])))
        return real_dir(base, PLOTS_DIR)
    except (OSError, StoreError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        raise StoreError(f"cannot write plots ({reason}); draw none with `no_plots`, or "
                         f"choose another folder with `plots`",
                         mentions=["no_plots", "plots"]) from None


def write_plots(frame: pd.DataFrame, comparison: Comparison, *, out_dir: Path,
                where: Sequence[str] = (), png: bool = False) -> list[Path]:
    """Draw the plots of ``comparison`` (the trials of ``frame`` that ``where`` keeps) into
    the folder ``out_dir`` (see :func:`plot_dir`) as SVG, and with ``png`` as PNG by
    matplotlib too; return the files written. Each figure's data is computed once."""
    metric, at = comparison.metric, comparison.at
    out_dir = plot_dir((), out_dir)
    frame = select(frame, where).apply(frame)
    lines, curves = sensitivity_lines(comparison), learning_curves(frame, comparison)
    # (name, SVG text, the matplotlib figure's maker): drawn only as asked.
    figures: list[tuple[str, Callable[[], str], Callable[[], Any]]] = [(
        f"sensitivity-{metric}",
        lambda: sensitivity_svg(lines, metric=metric, at=at, chance=comparison.chance),
        lambda: sensitivity_figure(lines, metric=metric, at=at, chance=comparison.chance))]
    if curves:
        figures.append(("learning-curves", lambda: learning_curves_svg(curves),
                        lambda: learning_curves_figure(curves)))
    if axis_columns(comparison):
        figures.append((f"axes-{metric}", lambda: axes_svg(comparison),
                        lambda: axes_figure(comparison)))
    if comparison.scaling:
        figures.append(("batch-scaling", lambda: scaling_svg(comparison),
                        lambda: scaling_figure(comparison)))
    written = []
    try:
        for name, svg_text, figure in figures:
            path = out_dir / f"{name}.svg"
            atomic_write_text(path, svg_text())
            written.append(path)
            if png:
                path = out_dir / f"{name}.png"
                _save_and_close(figure(), path)
                written.append(path)
    except StoreError as exc:  # a full disk, a read-only folder
        raise StoreError(f"{exc}; draw no plots with `no_plots`, or choose another folder "
                         f"with `plots`", mentions=["no_plots", "plots"]) from None
    return written


def draw_range_test(curves: Sequence[Any], agreement: dict[str, dict[str, Any]], *,
                    default_rule: str, path: Path) -> None:
    """Write :func:`range_test_figure` to ``path``."""
    _save_and_close(range_test_figure(curves, agreement, default_rule=default_rule), path)


@_plain_text
def range_test_figure(curves: Sequence[Any], agreement: dict[str, dict[str, Any]], *,
                      default_rule: str) -> Any:
    """Smoothed loss against the rate (log axis), a line per seed, a panel per optimizer,
    each rule's median suggestion as a vertical line (the default one solid)."""
    plt = _pyplot()
    labels = list(agreement)
    fig, axes = plt.subplots(1, len(labels), figsize=(6.5 * len(labels), 4.8), squeeze=False,
                             layout="constrained")
    styles = {"steepest": "-", "valley": "--", "min/10": ":"}
    for ax, label in zip(axes[0], labels, strict=True):
        own = [c for c in curves if c.label == label]
        for curve in own:
            kept = slice(0, curve.kept)
            ax.plot(curve.rates[kept], curve.losses[kept], color="grey", alpha=0.25,
                    linewidth=0.8)
            ax.plot(curve.rates[kept], curve.smoothed[kept], label=f"seed {curve.seed}")
            ax.scatter(curve.suggestions[default_rule], np.interp(
                np.log10(curve.suggestions[default_rule]), np.log10(curve.rates[kept]),
                curve.smoothed[kept]), s=25, color="black", zorder=4)
        for rule, found in agreement[label].items():
            ax.axvline(found.median, color="black", linestyle=styles.get(rule, "-"),
                       linewidth=2 if rule == default_rule else 1,
                       label=f"{rule}: {found.median:.2g}" + (" (default)" if rule ==
                                                              default_rule else ""))
        top = max(float(np.nanmax(c.smoothed[: c.kept])) for c in own)
        ax.set_ylim(0, top * 1.1)
        ax.set_xscale("log")
        _plain_ticks(ax.xaxis)
        ax.set_xlabel("learning rate (log scale, grows every batch)")
        ax.set_ylabel("training loss (zero-lag smoothed; raw in grey)")
        ax.set_title(f"LR range test: {label}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    return fig
