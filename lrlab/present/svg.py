"""SVG text of a :class:`~lrlab.present.figure.Figure`: compare's and the report's figures
written from the computed numbers, in milliseconds, where matplotlib takes seconds to lay
out its ticks. Text is SVG text, escaped, so names read from run files are drawn as given.
Pure; no dependencies.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from html import escape

from lrlab.present.figure import (
    Band,
    ColourBar,
    Element,
    Figure,
    HLine,
    Label,
    LegendEntry,
    Line,
    Marks,
    Panel,
    Scale,
    drawable,
    viridis,
)

FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"
CHAR_WIDTH = 0.6  # an average glyph's width in ems, to size the legend and the margins
_DASH_ARRAYS = {"-": "", "--": "6,4", ":": "1.5,3", "-.": "6,3,1.5,3"}


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def to_svg(figure: Figure) -> str:
    """``figure`` as SVG text: one ``<svg>`` element, fonts and colours inline."""
    legend_width = (max((len(e.label) for e in figure.legend), default=0) * 11 * CHAR_WIDTH
                    + 48 if figure.legend else 0)
    bar_width = (max(70, len(figure.colour_bar.label) * 11 * CHAR_WIDTH + 10)
                 if figure.colour_bar else 0)
    plots_width = (figure.MARGIN_LEFT + figure.columns * figure.panel_width
                   + (figure.columns - 1) * figure.GAP_X)
    width = plots_width + figure.MARGIN_RIGHT + max(legend_width, bar_width)
    height = (figure.MARGIN_TOP + figure.title_height() + figure.rows * figure.panel_height
              + (figure.rows - 1) * figure.GAP_Y + figure.MARGIN_BOTTOM)
    height = max(height, figure.MARGIN_TOP + 20 * len(figure.legend) + 20)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width:.0f} "
             f"{height:.0f}' width='{width:.0f}' height='{height:.0f}' {FONT} "
             f"font-size='12'>", "<rect width='100%' height='100%' fill='white'/>"]
    for i, line in enumerate(figure.title.splitlines()):
        parts.append(f"<text x='{width / 2:.0f}' y='{24 + 18 * i}' text-anchor='middle' "
                     f"font-size='14'>{escape(line)}</text>")
    # Clip ids are per page, not per figure: the report inlines several figures, so
    # each figure's are named after what it shows.
    figure_id = hashlib.sha1(
        "|".join([figure.title, *(p.title for p in figure.panels)]).encode()).hexdigest()[:10]
    for index, panel in enumerate(figure.panels):
        parts.append(_panel_svg(panel, f"lrlab-{figure_id}-{index}"))
    right = plots_width + figure.MARGIN_RIGHT
    top = figure.MARGIN_TOP + figure.title_height()
    if figure.legend:
        parts.append(_legend_svg(figure.legend, right, top))
        top += 20 * len(figure.legend) + 20
    if figure.colour_bar is not None:
        parts.append(_colour_bar_svg(figure.colour_bar, right, top,
                                     min(figure.panel_height, 260)))
    parts.append("</svg>")
    return "\n".join(parts)


def _panel_svg(panel: Panel, clip: str) -> str:
    (x0, x1), (y1, y0) = panel.x.pixels, panel.y.pixels
    parts = [f"<clipPath id='{clip}'><rect x='{x0:.1f}' y='{y0:.1f}' width='{x1 - x0:.1f}' "
             f"height='{y1 - y0:.1f}'/></clipPath>"]
    for value, label in panel.x.ticks():
        px = _number(panel.x(value))
        if panel.grid:
            parts.append(f"<line x1='{px}' x2='{px}' y1='{y0:.1f}' y2='{y1:.1f}' "
                         f"stroke='#dddddd'/>")
        parts.append(f"<text x='{px}' y='{y1 + 16:.1f}' text-anchor='middle' "
                     f"font-size='11'>{escape(label)}</text>")
    for value, label in panel.y.ticks():
        py = _number(panel.y(value))
        if panel.grid:
            parts.append(f"<line x1='{x0:.1f}' x2='{x1:.1f}' y1='{py}' y2='{py}' "
                         f"stroke='#dddddd'/>")
        parts.append(f"<text x='{x0 - 6:.1f}' y='{py}' text-anchor='end' "
                     f"dominant-baseline='middle' font-size='11'>{escape(label)}</text>")
    parts.append(f"<g clip-path='url(#{clip})'>")
    for element in panel.elements:
        parts.extend(_element_svg(panel, element))
    parts.append("</g>")
    parts.append(f"<rect x='{x0:.1f}' y='{y0:.1f}' width='{x1 - x0:.1f}' "
                 f"height='{y1 - y0:.1f}' fill='none' stroke='#444444'/>")
    for label in panel.labels:
        parts.extend(_label_svg(panel, label))
    if panel.title:
        parts.append(f"<text x='{x0:.1f}' y='{y0 - 8:.1f}' font-size='12'>"
                     f"{escape(panel.title)}</text>")
    if panel.xlabel:
        parts.append(f"<text x='{(x0 + x1) / 2:.1f}' y='{y1 + 36:.1f}' "
                     f"text-anchor='middle'>{escape(panel.xlabel)}</text>")
    if panel.ylabel:
        cy = (y0 + y1) / 2
        parts.append(f"<text x='{x0 - 52:.1f}' y='{cy:.1f}' text-anchor='middle' "
                     f"transform='rotate(-90 {x0 - 52:.1f} {cy:.1f})'>"
                     f"{escape(panel.ylabel)}</text>")
    return "\n".join(parts)


def _legend_svg(entries: Sequence[LegendEntry], left: float, top: float) -> str:
    parts = []
    for i, entry in enumerate(entries):
        y = top + 20 * i + 10
        if entry.style is not None:
            dash = _DASH_ARRAYS.get(entry.style.dash, "")
            parts.append(f"<line x1='{left:.1f}' x2='{left + 28:.1f}' y1='{y:.1f}' "
                         f"y2='{y:.1f}' stroke='{entry.style.colour}' "
                         f"stroke-width='{entry.style.width:g}'"
                         + (f" stroke-dasharray='{dash}'" if dash else "") + "/>")
        if entry.shape:
            parts.append(marker(entry.shape, left + 14, y, 6, entry.colour,
                                "black" if entry.shape == "star" else "none"))
        parts.append(f"<text x='{left + 36:.1f}' y='{y:.1f}' dominant-baseline='middle' "
                     f"font-size='11'>{escape(entry.label)}</text>")
    return "\n".join(parts)


def _colour_bar_svg(bar: ColourBar, left: float, top: float, height: float) -> str:
    steps = 32
    parts = [f"<text x='{left:.1f}' y='{top + 4:.1f}' font-size='11'>{escape(bar.label)}"
             f"</text>"]
    top += 14
    for i in range(steps):  # top = high end of the scale
        parts.append(f"<rect x='{left:.1f}' y='{top + i * height / steps:.2f}' width='16' "
                     f"height='{height / steps + 0.5:.2f}' "
                     f"fill='{viridis(1 - (i + 0.5) / steps)}'/>")
    scale = Scale(bar.scale.low, bar.scale.high, bar.scale.log, (top + height, top))
    for value, label in scale.ticks():
        py = _number(scale(value))
        parts.append(f"<text x='{left + 22:.1f}' y='{py}' dominant-baseline='middle' "
                     f"font-size='10'>{escape(label)}</text>")
    return "\n".join(parts)


def _element_svg(panel: Panel, element: Element) -> list[str]:
    """One element of ``panel`` as SVG, in the panel's pixels."""
    if isinstance(element, Line):
        return _line_svg(panel, element)
    if isinstance(element, Band):
        kept = [(a, b, c) for a, b, c in zip(element.xs, element.low, element.high,
                                              strict=True)
                if drawable(panel.x, a) and drawable(panel.y, b) and drawable(panel.y, c)]
        if len(kept) < 2:
            return []
        outline = ([(panel.x(a), panel.y(c)) for a, _, c in kept]
                   + [(panel.x(a), panel.y(b)) for a, b, _ in reversed(kept)])
        return [f"<polygon points='{_points(outline)}' fill='{element.colour}' "
                f"fill-opacity='{element.opacity:g}' stroke='none'/>"]
    if isinstance(element, Marks):
        return [marker(element.shape, panel.x(a), panel.y(b), element.size, element.colour,
                       element.edge)
                for a, b in zip(element.xs, element.ys, strict=True)
                if drawable(panel.x, a) and drawable(panel.y, b)]
    if isinstance(element, HLine):
        if not drawable(panel.y, element.y):
            return []
        dash = _DASH_ARRAYS.get(element.style.dash, "")
        py = _number(panel.y(element.y))
        return [f"<line x1='{_number(panel.x.pixels[0])}' x2='{_number(panel.x.pixels[1])}' "
                f"y1='{py}' y2='{py}' stroke='{element.style.colour}' "
                f"stroke-width='{element.style.width:g}'"
                + (f" stroke-dasharray='{dash}'" if dash else "") + "/>"]
    raise TypeError(f"cannot draw {element!r}")


def _line_svg(panel: Panel, line: Line) -> list[str]:
    segments: list[list[tuple[float, float]]] = [[]]
    for a, b in zip(line.xs, line.ys, strict=True):
        if drawable(panel.x, a) and drawable(panel.y, b):
            segments[-1].append((panel.x(a), panel.y(b)))
        elif segments[-1]:
            segments.append([])
    style, parts = line.style, []
    dash = _DASH_ARRAYS.get(style.dash, "")
    for points in segments:
        if len(points) >= 2:
            parts.append(
                f"<polyline points='{_points(points)}' fill='none' "
                f"stroke='{style.colour}' stroke-width='{style.width:g}' "
                f"stroke-opacity='{style.opacity:g}' stroke-linejoin='round'"
                + (f" stroke-dasharray='{dash}'" if dash else "") + "/>")
        if line.marker_size > 0:
            for px, py in points:
                parts.append(
                    f"<circle cx='{_number(px)}' cy='{_number(py)}' r='{line.marker_size:g}' "
                    f"fill='{style.colour}' fill-opacity='{style.opacity:g}'/>")
    return parts


def _label_svg(panel: Panel, label: Label) -> list[str]:
    if not (drawable(panel.x, label.x) and drawable(panel.y, label.y)):
        return []
    return [f"<text x='{_number(panel.x(label.x))}' y='{_number(panel.y(label.y) + label.dy)}' "
            f"text-anchor='middle' font-size='11'>{escape(label.text)}</text>"]


def _points(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_number(x)},{_number(y)}" for x, y in points)


def marker(shape: str, x: float, y: float, size: float, colour: str, edge: str = "none"
           ) -> str:
    """One marker centred at pixel (x, y)."""
    if shape == "ring":
        return (f"<circle cx='{_number(x)}' cy='{_number(y)}' r='{size:g}' fill='none' "
                f"stroke='{colour}' stroke-width='2'/>")
    if shape == "circle":
        return (f"<circle cx='{_number(x)}' cy='{_number(y)}' r='{size:g}' fill='{colour}' "
                f"stroke='{edge}'/>")
    if shape == "square":
        return (f"<rect x='{_number(x - size)}' y='{_number(y - size)}' width='{2 * size:g}' "
                f"height='{2 * size:g}' fill='{colour}' stroke='{edge}'/>")
    if shape == "star":
        corners = [(x + (size if i % 2 == 0 else size * 0.45) * math.sin(i * math.pi / 5),
                    y - (size if i % 2 == 0 else size * 0.45) * math.cos(i * math.pi / 5))
                   for i in range(10)]
        return (f"<polygon points='{_points(corners)}' fill='{colour}' stroke='{edge}' "
                f"stroke-width='1'/>")
    if shape == "x":
        d = size * 0.75
        return (f"<path d='M{_number(x - d)},{_number(y - d)}L{_number(x + d)},{_number(y + d)}"
                f"M{_number(x - d)},{_number(y + d)}L{_number(x + d)},{_number(y - d)}' "
                f"stroke='{colour}' stroke-width='{max(2.0, size / 2.5):g}' "
                f"stroke-linecap='round'/>")
    raise ValueError(f"unknown marker {shape!r}")
