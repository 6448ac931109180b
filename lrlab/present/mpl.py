"""A :class:`~lrlab.present.figure.Figure` drawn by matplotlib, for the PNG files that
``lrlab compare --png`` writes: the same panels, scales, elements, legend and colour bar
as the SVG, laid out by matplotlib. It reads a figure's data only; what a figure shows is
decided in :mod:`lrlab.present.charts`.

Matplotlib is imported only when drawing, with the Agg backend, so no display is needed;
text is drawn as given (names come from run files, and matplotlib would read ``$...$`` in
them as mathematics).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lrlab.present.figure import (
    Band,
    Figure,
    HLine,
    LegendEntry,
    Line,
    Marks,
    Panel,
    Scale,
)
from lrlab.rundir.files import atomic_write

DPI = 100  # a figure's pixel sizes are its sizes at this many pixels an inch
# Marker shapes, and how a marker's radius in pixels reads as a scatter size in points².
_MARKERS = {"circle": "o", "ring": "o", "star": "*", "x": "X", "square": "s"}
_POINTS_PER_PIXEL = 72 / DPI


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plain_ticks(axis: Any) -> None:
    """Label a log axis's decades as plain numbers (1e-07, 0.001, 10). Matplotlib's own
    log labels are mathematics (``$\\mathdefault{10^{-7}}$``), which plain text would
    print as raw text."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def draw(figure: Figure) -> Any:
    """A matplotlib figure of ``figure`` (close it with ``pyplot().close``)."""
    import matplotlib

    plt = pyplot()
    with matplotlib.rc_context({"text.parse_math": False}):
        right = 3.5 if figure.legend or figure.colour_bar else 0.0
        size = ((figure.columns * (figure.panel_width + figure.GAP_X)) / DPI + right,
                (figure.rows * (figure.panel_height + figure.GAP_Y)) / DPI + 0.6)
        fig, axes = plt.subplots(figure.rows, figure.columns, figsize=size, squeeze=False,
                                 layout="constrained")
        cells = [ax for row in axes for ax in row]
        for ax, panel in zip(cells, figure.panels, strict=False):
            _draw_panel(ax, panel)
        for ax in cells[len(figure.panels):]:
            ax.set_visible(False)
        if figure.title:
            fig.suptitle(figure.title, fontsize=11)
        if figure.legend:
            fig.legend(handles=[_handle(entry) for entry in figure.legend],
                       loc="outside right upper", fontsize=8)
        if figure.colour_bar is not None:
            _colour_bar(plt, fig, cells, figure.colour_bar.scale, figure.colour_bar.label)
        return fig


def save(fig: Any, path: Path) -> None:
    """Write ``fig`` to ``path`` (its suffix names the format) through a temporary file
    and a rename, like every file lrlab writes into a run folder, then close it."""
    try:
        atomic_write(path, lambda handle: fig.savefig(handle, format=path.suffix[1:],
                                                      dpi=DPI), binary=True)
    finally:
        pyplot().close(fig)


def _draw_panel(ax: Any, panel: Panel) -> None:
    for axis, scale, set_scale, set_limits in (
            (ax.xaxis, panel.x, ax.set_xscale, ax.set_xlim),
            (ax.yaxis, panel.y, ax.set_yscale, ax.set_ylim)):
        if scale.log:
            set_scale("log")
            plain_ticks(axis)
        set_limits(scale.low, scale.high)
        ticks = scale.ticks()
        axis.set_ticks([value for value, _ in ticks], [label for _, label in ticks])
    for element in panel.elements:
        if isinstance(element, Line):
            style = element.style
            ax.plot(element.xs, element.ys, color=style.colour, linewidth=style.width,
                    linestyle=style.dash, alpha=style.opacity,
                    marker="o" if element.marker_size else None,
                    markersize=2 * element.marker_size * _POINTS_PER_PIXEL)
        elif isinstance(element, Band):
            ax.fill_between(element.xs, element.low, element.high, color=element.colour,
                            alpha=element.opacity, linewidth=0)
        elif isinstance(element, Marks):
            ring = element.shape == "ring"
            ax.scatter(element.xs, element.ys, marker=_MARKERS[element.shape],
                       s=(2 * element.size * _POINTS_PER_PIXEL) ** 2,
                       facecolors="none" if ring else element.colour,
                       edgecolors=element.colour if ring or element.edge == "none"
                       else element.edge, linewidths=2 if ring else 1, zorder=4)
        elif isinstance(element, HLine):
            ax.axhline(element.y, color=element.style.colour, linewidth=element.style.width,
                       linestyle=element.style.dash)
    for label in panel.labels:
        ax.annotate(label.text, (label.x, label.y), textcoords="offset points",
                    xytext=(0, -label.dy * _POINTS_PER_PIXEL), ha="center", fontsize=9)
    ax.set_title(panel.title, loc="left", fontsize=10)
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(panel.ylabel)
    if panel.grid:
        ax.grid(True, which="major", alpha=0.3)


def _handle(entry: LegendEntry) -> Any:
    from matplotlib.lines import Line2D

    style = entry.style
    return Line2D([], [], color=style.colour if style else entry.colour,
                  linewidth=style.width if style else 0, linestyle=style.dash if style else "",
                  marker=_MARKERS.get(entry.shape, ""), markersize=8,
                  markerfacecolor="none" if entry.shape == "ring" else entry.colour,
                  markeredgecolor=entry.colour if entry.shape != "star" else "black",
                  label=entry.label)


def _colour_bar(plt: Any, fig: Any, cells: list[Any], scale: Scale, label: str) -> None:
    from matplotlib.colors import LogNorm, Normalize

    norm = (LogNorm if scale.log else Normalize)(vmin=scale.low, vmax=scale.high)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=cells,
                       label=label, shrink=0.9)
    if scale.log:
        plain_ticks(bar.ax.yaxis)
