"""The files ``lrlab compare`` and ``lrlab find-lr`` draw: each figure of
:mod:`lrlab.present.charts` written as SVG by lrlab (milliseconds) and, with ``png``, drawn
by matplotlib as PNG too (seconds: its tick layout), into a plots folder that is a real
folder; and the range test's figure, which only matplotlib draws.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lrlab.analysis.compare import Comparison, select
from lrlab.errors import StoreError
from lrlab.present import mpl
from lrlab.present.charts import (
    axes_chart,
    axis_columns,
    learning_curves,
    learning_curves_chart,
    path_chart,
    scaling_chart,
    sensitivity_chart,
    sensitivity_lines,
    transfer_charts,
)
from lrlab.present.figure import Figure
from lrlab.present.svg import to_svg
from lrlab.rundir.files import atomic_write_text, real_dir

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


def slug(label: str) -> str:
    """A label as a file name's part: letters, digits, dots and dashes."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", label).strip("-")[:60] or "setting"


def write_plots(frame: pd.DataFrame, comparison: Comparison, *, out_dir: Path,
                where: Sequence[str] = (), png: bool = False,
                paths: Sequence[dict[str, Any]] = ()) -> list[Path]:
    """Draw the plots of ``comparison`` (the trials of ``frame`` that ``where`` keeps) into
    the folder ``out_dir`` (see :func:`plot_dir`) as SVG, and with ``png`` as PNG by
    matplotlib too, and each traced setting's paths (``paths``: path.json's entries);
    return the files written. Each figure is defined once, and made only when it is
    written."""
    metric, at = comparison.metric, comparison.at
    out_dir = plot_dir((), out_dir)
    frame = select(frame, where).apply(frame)
    lines, curves = sensitivity_lines(comparison), learning_curves(frame, comparison)
    figures: list[tuple[str, Callable[[], Figure]]] = [(
        f"sensitivity-{metric}",
        lambda: sensitivity_chart(lines, metric=metric, at=at, baseline=comparison.baseline,
                                  objective=comparison.objective))]
    if curves:
        figures.append(("learning-curves", lambda: learning_curves_chart(
            curves, comparison.objective)))
    if axis_columns(comparison):
        figures.append((f"axes-{metric}", lambda: axes_chart(comparison)))
    if comparison.scaling:
        figures.append(("batch-scaling", lambda: scaling_chart(comparison)))
    for axis, figure in transfer_charts(comparison):
        figures.append((f"transfer-{slug(axis)}", lambda figure=figure: figure))
    for number, entry in enumerate(paths, start=1):
        figures.append((f"path-{number}-{slug(entry['label'])}",
                        lambda entry=entry: path_chart(entry)))
    written = []
    try:
        for name, make in figures:
            figure = make()
            path = out_dir / f"{name}.svg"
            atomic_write_text(path, to_svg(figure))
            written.append(path)
            if png:
                path = out_dir / f"{name}.png"
                mpl.save(mpl.draw(figure), path)
                written.append(path)
    except StoreError as exc:  # a full disk, a read-only folder
        raise StoreError(f"{exc}; draw no plots with `no_plots`, or choose another folder "
                         f"with `plots`", mentions=["no_plots", "plots"]) from None
    return written


def draw_range_test(curves: Sequence[Any], agreement: dict[str, dict[str, Any]], *,
                    default_rule: str, path: Path, edge: float | None = None) -> None:
    """Write :func:`range_test_figure` to ``path``."""
    mpl.save(range_test_figure(curves, agreement, default_rule=default_rule, edge=edge), path)


def range_test_figure(curves: Sequence[Any], agreement: dict[str, dict[str, Any]], *,
                      default_rule: str, edge: float | None = None) -> Any:
    """Smoothed loss against the rate (log axis), a line per seed, a panel per optimizer,
    each rule's median suggestion as a vertical line (the default one solid), and the
    stability edge 2/λ₀ at the initial weights where it was measured (red, dash-dot)."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):  # names come from run files
        return _range_test_figure(mpl.pyplot(), curves, agreement, default_rule=default_rule,
                                  edge=edge)


def _range_test_figure(plt: Any, curves: Sequence[Any], agreement: dict[str, dict[str, Any]],
                       *, default_rule: str, edge: float | None) -> Any:
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
        if edge is not None:
            ax.axvline(edge, color="crimson", linestyle="-.", linewidth=1.5,
                       label=f"stability edge 2/λ₀: {edge:.2g}")
        top = max(float(np.nanmax(c.smoothed[: c.kept])) for c in own)
        ax.set_ylim(0, top * 1.1)
        ax.set_xscale("log")
        mpl.plain_ticks(ax.xaxis)
        ax.set_xlabel("learning rate (log scale, grows every batch)")
        ax.set_ylabel("training loss (zero-lag smoothed; raw in grey)")
        ax.set_title(f"LR range test: {label}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    return fig
