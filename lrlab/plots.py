"""Plots for ``lrlab compare``, in two steps: the data to plot (small, tested), then drawing.

Matplotlib is imported only when drawing, with the Agg backend, so no display is needed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from lrlab.compare import higher_is_better, param_columns, varied_columns
from lrlab.errors import StoreError
from lrlab.files import atomic_write
from lrlab.records import EPOCH_METRICS, FINISHED_STATUSES


class SensitivityLine(NamedTuple):
    """One line of the sensitivity plot: the metric against the learning rate."""

    label: str
    learning_rates: list[float]
    mean: list[float]
    std: list[float]  # 0 where a single seed gives no spread
    diverged_rates: list[float]  # rates at which at least one seed diverged


class CurveSet(NamedTuple):
    """One optimizer's learning curves: per learning rate, per-epoch means over seeds."""

    label: str
    learning_rates: list[float]
    epochs: list[list[float]]
    columns: dict[str, list[list[float]]]  # loss, val_loss, accuracy, val_accuracy


def _label(row: pd.Series, others: Sequence[str], multiple_sweeps: bool) -> str:
    parts = [str(row["optimizer"])]
    parts += [f"{c}={row[c]:g}" if isinstance(row[c], float) else f"{c}={row[c]}"
              for c in others if not (isinstance(row[c], float) and math.isnan(row[c]))]
    label = " ".join(parts)
    return f"{row['sweep']}: {label}" if multiple_sweeps else label


def sensitivity_lines(summary: pd.DataFrame) -> list[SensitivityLine]:
    """One line per sweep, optimizer and setting of the other varied parameters."""
    others = varied_columns(summary)
    multiple = summary["sweep"].nunique() > 1
    lines = []
    for _, group in summary.groupby(["sweep", "optimizer", *others], dropna=False, sort=False):
        group = group.sort_values("learning_rate")
        lines.append(SensitivityLine(
            label=_label(group.iloc[0], others, multiple),
            learning_rates=group["learning_rate"].astype(float).tolist(),
            mean=group["mean"].astype(float).tolist(),
            std=group["std"].fillna(0.0).astype(float).tolist(),
            diverged_rates=group.loc[group["diverged"] > 0, "learning_rate"].tolist(),
        ))
    return lines


def learning_curves(frame: pd.DataFrame) -> list[CurveSet]:
    """Per optimizer (and setting), the mean over seeds of each epoch's metrics."""
    frame = frame[frame["status"].isin(FINISHED_STATUSES)].dropna(subset=["epoch"])
    others = varied_columns(frame[param_columns(frame) + ["sweep"]])
    multiple = frame["sweep"].nunique() > 1
    keys = ["sweep", *param_columns(frame)]
    curves = []
    for _, series in frame.groupby(["sweep", "optimizer", *others], dropna=False, sort=False):
        rates, epochs = [], []
        columns: dict[str, list[list[float]]] = {c: [] for c in EPOCH_METRICS}
        for _, trials in series.groupby(keys, dropna=False, sort=False):
            means = trials.groupby("epoch")[list(columns)].mean().sort_index()
            rates.append(float(trials["learning_rate"].iloc[0]))
            epochs.append(means.index.astype(float).tolist())
            for c in columns:
                columns[c].append(means[c].astype(float).tolist())
        order = np.argsort(rates)
        curves.append(CurveSet(
            label=_label(series.iloc[0], others, multiple),
            learning_rates=[rates[i] for i in order], epochs=[epochs[i] for i in order],
            columns={c: [v[i] for i in order] for c, v in columns.items()},
        ))
    return curves


def _save(fig: Any, path: Path) -> None:
    # Through a temporary file and a rename, like every file lrlab writes into a run folder.
    atomic_write(path, lambda handle: fig.savefig(handle, format=path.suffix[1:]), binary=True)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_sensitivity(lines: Sequence[SensitivityLine], *, metric: str, at: str,
                     path: Path) -> None:
    """The metric against the learning rate (log axis), ± one std band, the best rate
    starred and rates where a seed diverged crossed."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5.5), layout="constrained")
    marked = False
    for line in lines:
        x, y, s = map(np.asarray, (line.learning_rates, line.mean, line.std))
        (drawn,) = ax.plot(x, y, marker="o", label=line.label)
        ax.fill_between(x, y - s, y + s, color=drawn.get_color(), alpha=0.2, linewidth=0)
        finite = np.where(np.isfinite(y), y, -np.inf if higher_is_better(metric) else np.inf)
        best = int(np.argmax(finite) if higher_is_better(metric) else np.argmin(finite))
        ax.scatter([x[best]], [y[best]], marker="*", s=260, color=drawn.get_color(),
                   edgecolor="black", zorder=4)
        ax.annotate(f"best {x[best]:.3g}", (x[best], y[best]), textcoords="offset points",
                    xytext=(0, 10), ha="center", fontsize=9)
        bad = np.isin(x, line.diverged_rates)
        if bad.any():
            ax.scatter(x[bad], y[bad], marker="X", s=120, color="crimson", zorder=3,
                       label=None if marked else "diverged (≥ 1 seed)")
            marked = True
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    where = {"best": "at each trial's best epoch", "last": "at the last epoch"}.get(
        at, f"at epoch {at}")
    ax.set_ylabel(f"{metric} ({where})")
    better = "higher" if higher_is_better(metric) else "lower"
    fig.suptitle(f"Learning-rate sensitivity: {metric}, mean ± 1 std over seeds "
                 f"({better} is better)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    _save(fig, path)
    plt.close(fig)


def draw_learning_curves(curves: Sequence[CurveSet], *, path: Path) -> None:
    """Loss and accuracy per epoch: a row per optimizer, colour = learning rate (log)."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import MaxNLocator

    rates = [r for c in curves for r in c.learning_rates]
    norm = LogNorm(vmin=min(rates), vmax=max(rates) if max(rates) > min(rates) else
                   min(rates) * 10)
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(len(curves), 2, figsize=(11, 3.6 * len(curves)), squeeze=False,
                             layout="constrained")
    for row, curve in zip(axes, curves, strict=True):
        for ax, kind in zip(row, ("loss", "accuracy"), strict=True):
            for i, rate in enumerate(curve.learning_rates):
                colour = cmap(norm(rate))
                ax.plot(curve.epochs[i], curve.columns[kind][i], color=colour, marker=".")
                ax.plot(curve.epochs[i], curve.columns[f"val_{kind}"][i], color=colour,
                        linestyle="--")
            ax.set_title(f"{curve.label}: {kind} (solid: train, dashed: validation)")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(f"{kind} (cross-entropy)" if kind == "loss" else "accuracy (fraction)")
            ax.grid(True, alpha=0.3)
            if kind == "loss":
                finite = [v for vals in curve.columns["loss"] for v in vals if np.isfinite(v)]
                if finite:  # diverged trials would squash every other curve to the floor
                    ax.set_ylim(0, min(max(finite), 3 * math.log(10)) * 1.05)
            else:
                ax.set_ylim(0, 1)
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=axes, label="learning rate (log scale)")
    _save(fig, path)
    plt.close(fig)


def default_plot_dir(sweep_dirs: Sequence[Path]) -> Path:
    """``<sweep>/plots`` for one sweep; ``plots/`` in the folder that holds several."""
    if len(sweep_dirs) == 1:
        return sweep_dirs[0] / "plots"
    return Path(os.path.commonpath([p.resolve() for p in sweep_dirs])) / "plots"


def write_plots(frame: pd.DataFrame, summary: pd.DataFrame, *, out_dir: Path,
                svg: bool = False) -> list[Path]:
    """Draw both plots into ``out_dir`` as PNG (and SVG); return the files written."""
    metric, at = summary["metric"].iloc[0], summary["at"].iloc[0]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{out_dir}: cannot write plots ({exc.strerror or exc}); choose "
                         f"another folder with --plots") from None
    written = []
    lines, curves = sensitivity_lines(summary), learning_curves(frame)
    for suffix in ("png", "svg") if svg else ("png",):
        path = out_dir / f"sensitivity-{metric}.{suffix}"
        draw_sensitivity(lines, metric=metric, at=at, path=path)
        written.append(path)
        if curves:
            path = out_dir / f"learning-curves.{suffix}"
            draw_learning_curves(curves, path=path)
            written.append(path)
    return written


def draw_range_test(curves: Sequence[Any], agreement: dict[str, dict[str, Any]], *,
                    default_rule: str, path: Path) -> None:
    """Smoothed loss against the rate (log axis), a line per seed, a panel per optimizer,
    each rule's median suggestion as a vertical line (the default one solid)."""
    plt = _pyplot()
    labels = list(agreement)
    fig, axes = plt.subplots(1, len(labels), figsize=(6.5 * len(labels), 4.8), squeeze=False,
                             layout="constrained")
    styles = {"valley": "-", "steepest": "--", "min/10": ":"}
    for ax, label in zip(axes[0], labels, strict=True):
        own = [c for c in curves if c.label == label]
        for curve in own:
            kept = slice(0, curve.kept)
            ax.plot(curve.rates[kept], curve.losses[kept], color="grey", alpha=0.25,
                    linewidth=0.8)
            ax.plot(curve.rates[kept], curve.smoothed[kept], label=f"seed {curve.seed}")
        for rule, found in agreement[label].items():
            ax.axvline(found.median, color="black", linestyle=styles.get(rule, "-"),
                       linewidth=2 if rule == default_rule else 1,
                       label=f"{rule}: {found.median:.2g}" + (" (default)" if rule ==
                                                              default_rule else ""))
        top = max(float(np.nanmax(c.smoothed[: c.kept])) for c in own)
        ax.set_ylim(0, top * 1.1)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (log scale, grows every batch)")
        ax.set_ylabel("training loss (smoothed; raw in grey)")
        ax.set_title(f"LR range test: {label}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    _save(fig, path)
    plt.close(fig)
