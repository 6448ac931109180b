"""A small SVG chart writer: compare's and the report's figures written as text from the
computed numbers, in milliseconds, where matplotlib takes seconds to lay out its ticks.

Only what those figures need: panels with linear or log axes and their ticks, lines (broken
at NaN), bands, markers, horizontal rules, a legend and a colour bar. Text is SVG text,
escaped, so names read from run files are drawn as given. Pure; no dependencies.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"
CHAR_WIDTH = 0.6  # an average glyph's width in ems, to size the legend and the margins

# matplotlib's viridis at nine stops: learning rates coloured as the PNG plots colour them.
_VIRIDIS = ((68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 145, 140),
            (40, 174, 128), (94, 201, 98), (173, 220, 48), (253, 231, 37))


def viridis(share: float) -> str:
    """The viridis colour at ``share`` (0 to 1) as ``#rrggbb``."""
    share = min(1.0, max(0.0, share if math.isfinite(share) else 0.0))
    position = share * (len(_VIRIDIS) - 1)
    i = min(int(position), len(_VIRIDIS) - 2)
    t = position - i
    rgb = (round(a + (b - a) * t) for a, b in zip(_VIRIDIS[i], _VIRIDIS[i + 1], strict=True))
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass
class Scale:
    """Maps data values to pixels along one axis (log or linear)."""

    low: float
    high: float
    log: bool = False
    pixels: tuple[float, float] = (0.0, 1.0)
    fixed_ticks: tuple[float, ...] = ()  # where given, the ticks are these values

    @classmethod
    def fit(cls, values: Sequence[float], *, log: bool = False, pad: float = 0.05,
            limits: tuple[float | None, float | None] = (None, None)) -> Scale:
        """A scale spanning the finite (and, for log, positive) ``values``, padded by
        ``pad`` of the span on each side; ``limits`` fix either end."""
        kept = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
        low, high = (min(kept), max(kept)) if kept else ((1.0, 10.0) if log else (0.0, 1.0))
        if log:
            low, high = math.log10(low), math.log10(high)
        if high - low < 1e-12:
            low, high = low - 0.5, high + 0.5
        span = high - low
        low, high = low - pad * span, high + pad * span
        if log:
            low, high = 10 ** low, 10 ** high
        low = limits[0] if limits[0] is not None else low
        high = limits[1] if limits[1] is not None else high
        return cls(low, high, log)

    def _t(self, value: float) -> float:
        return math.log10(value) if self.log else value

    def __call__(self, value: float) -> float:
        a, b = self._t(self.low), self._t(self.high)
        return self.pixels[0] + (self._t(value) - a) / (b - a) * (self.pixels[1] - self.pixels[0])

    def contains(self, value: float) -> bool:
        return math.isfinite(value) and (value > 0 or not self.log) and \
            min(self.low, self.high) <= value <= max(self.low, self.high)

    def ticks(self) -> list[tuple[float, str]]:
        """Round values inside the scale, with their labels: decades (and 2 and 5 times
        them over a narrow range) on a log scale, steps of 1, 2 or 5 times a power of ten
        on a linear one."""
        if self.fixed_ticks:
            return [(v, f"{v:g}") for v in self.fixed_ticks if self.contains(v)]
        if self.log:
            first, last = math.floor(math.log10(self.low)), math.ceil(math.log10(self.high))
            step = max(1, math.ceil((last - first) / 8))
            values = [10.0 ** e for e in range(first, last + 1, step)]
            if sum(self.contains(v) for v in values) < 3:
                values = [m * 10.0 ** e for e in range(first, last + 1) for m in (1, 2, 5)]
            return [(v, f"{v:g}") for v in values if self.contains(v)]
        span = self.high - self.low
        raw = span / 5
        magnitude = 10 ** math.floor(math.log10(raw))
        step = magnitude * next(m for m in (1, 2, 5, 10) if m * magnitude >= raw)
        start = math.ceil(self.low / step - 1e-9)
        values = [(start + i) * step for i in range(int(span / step) + 2)]
        digits = max(0, -math.floor(math.log10(step)))
        return [(v, f"{round(v, digits):.{digits}f}") for v in values if self.contains(v)]


@dataclass(frozen=True)
class Style:
    """How a line or a marker looks."""

    colour: str = "#1f77b4"
    width: float = 1.5
    dash: str = "-"  # "-", "--", ":" or "-."
    opacity: float = 1.0


_DASH_ARRAYS = {"-": "", "--": "6,4", ":": "1.5,3", "-.": "6,3,1.5,3"}


@dataclass
class Panel:
    """One plot area: its scales, what is drawn in it (as SVG elements) and its labels."""

    x: Scale
    y: Scale
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    grid: bool = True
    elements: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # drawn over the frame, not clipped

    def line(self, xs: Sequence[float], ys: Sequence[float], style: Style,
             marker_size: float = 0.0) -> None:
        """A polyline, broken where a point cannot be drawn; dots at the points when
        ``marker_size`` > 0."""
        segments: list[list[tuple[float, float]]] = [[]]
        for a, b in zip(xs, ys, strict=True):
            if _drawable(self.x, a) and _drawable(self.y, b):
                segments[-1].append((self.x(a), self.y(b)))
            elif segments[-1]:
                segments.append([])
        dash = _DASH_ARRAYS.get(style.dash, "")
        for points in segments:
            if len(points) >= 2:
                self.elements.append(
                    f"<polyline points='{_points(points)}' fill='none' "
                    f"stroke='{style.colour}' stroke-width='{style.width:g}' "
                    f"stroke-opacity='{style.opacity:g}' stroke-linejoin='round'"
                    + (f" stroke-dasharray='{dash}'" if dash else "") + "/>")
            if marker_size > 0:
                for px, py in points:
                    self.elements.append(
                        f"<circle cx='{_number(px)}' cy='{_number(py)}' r='{marker_size:g}' "
                        f"fill='{style.colour}' fill-opacity='{style.opacity:g}'/>")

    def band(self, xs: Sequence[float], low: Sequence[float], high: Sequence[float],
             colour: str, opacity: float = 0.2) -> None:
        """The area between ``low`` and ``high``, over the points where both exist."""
        kept = [(a, b, c) for a, b, c in zip(xs, low, high, strict=True)
                if _drawable(self.x, a) and _drawable(self.y, b) and _drawable(self.y, c)]
        if len(kept) < 2:
            return
        outline = ([(self.x(a), self.y(c)) for a, _, c in kept]
                   + [(self.x(a), self.y(b)) for a, b, _ in reversed(kept)])
        self.elements.append(f"<polygon points='{_points(outline)}' fill='{colour}' "
                             f"fill-opacity='{opacity:g}' stroke='none'/>")

    def marks(self, xs: Sequence[float], ys: Sequence[float], shape: str, *, size: float,
              colour: str, edge: str = "none") -> None:
        """Markers: ``circle``, ``ring`` (hollow, in ``colour``), ``star``, ``x`` or
        ``square``; ``size`` is the radius in pixels."""
        for a, b in zip(xs, ys, strict=True):
            if _drawable(self.x, a) and _drawable(self.y, b):
                self.elements.append(marker(shape, self.x(a), self.y(b), size, colour, edge))

    def hline(self, y: float, style: Style) -> None:
        if _drawable(self.y, y):
            dash = _DASH_ARRAYS.get(style.dash, "")
            py = _number(self.y(y))
            self.elements.append(
                f"<line x1='{_number(self.x.pixels[0])}' x2='{_number(self.x.pixels[1])}' "
                f"y1='{py}' y2='{py}' stroke='{style.colour}' stroke-width='{style.width:g}'"
                + (f" stroke-dasharray='{dash}'" if dash else "") + "/>")

    def text(self, x: float, y: float, label: str, *, dy: float = -10) -> None:
        if _drawable(self.x, x) and _drawable(self.y, y):
            self.labels.append(
                f"<text x='{_number(self.x(x))}' y='{_number(self.y(y) + dy)}' "
                f"text-anchor='middle' font-size='11'>{escape(label)}</text>")


def _drawable(scale: Scale, value: float) -> bool:
    return math.isfinite(value) and (value > 0 or not scale.log)


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


@dataclass(frozen=True)
class LegendEntry:
    """A legend row: a line sample (``style``) and/or a marker, and its label."""

    label: str
    style: Style | None = None
    shape: str = ""
    colour: str = "#000000"


@dataclass
class ColourBar:
    """A vertical bar mapping ``colour(share)`` over ``scale``'s values."""

    scale: Scale
    label: str


@dataclass
class Figure:
    """Panels in a grid (``rows`` x ``columns``), a title, a legend and a colour bar at
    the right; sizes in pixels."""

    rows: int = 1
    columns: int = 1
    panel_width: float = 420
    panel_height: float = 300
    title: str = ""
    legend: list[LegendEntry] = field(default_factory=list)
    colour_bar: ColourBar | None = None
    panels: list[Panel] = field(default_factory=list)

    _MARGIN_LEFT, _MARGIN_RIGHT, _GAP_X = 70, 20, 80
    _MARGIN_TOP, _MARGIN_BOTTOM, _GAP_Y = 40, 48, 70

    def _origin(self, index: int) -> tuple[float, float]:
        row, column = divmod(index, self.columns)
        return (self._MARGIN_LEFT + column * (self.panel_width + self._GAP_X),
                self._MARGIN_TOP + self._title_height() + row * (self.panel_height + self._GAP_Y))

    def _title_height(self) -> float:
        return 18.0 * len(self.title.splitlines())

    def add(self, panel: Panel) -> Panel:
        """Place ``panel`` in the next cell; its scales get their pixel ranges."""
        x0, y0 = self._origin(len(self.panels))
        panel.x.pixels = (x0, x0 + self.panel_width)
        panel.y.pixels = (y0 + self.panel_height, y0)
        self.panels.append(panel)
        return panel

    def to_svg(self) -> str:
        legend_width = (max((len(e.label) for e in self.legend), default=0) * 11 * CHAR_WIDTH
                        + 48 if self.legend else 0)
        bar_width = (max(70, len(self.colour_bar.label) * 11 * CHAR_WIDTH + 10)
                     if self.colour_bar else 0)
        plots_width = (self._MARGIN_LEFT + self.columns * self.panel_width
                       + (self.columns - 1) * self._GAP_X)
        width = plots_width + self._MARGIN_RIGHT + max(legend_width, bar_width)
        height = (self._MARGIN_TOP + self._title_height() + self.rows * self.panel_height
                  + (self.rows - 1) * self._GAP_Y + self._MARGIN_BOTTOM)
        height = max(height, self._MARGIN_TOP + 20 * len(self.legend) + 20)
        parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width:.0f} "
                 f"{height:.0f}' width='{width:.0f}' height='{height:.0f}' {FONT} "
                 f"font-size='12'>", "<rect width='100%' height='100%' fill='white'/>"]
        for i, line in enumerate(self.title.splitlines()):
            parts.append(f"<text x='{width / 2:.0f}' y='{24 + 18 * i}' text-anchor='middle' "
                         f"font-size='14'>{escape(line)}</text>")
        # Clip ids are per page, not per figure: the report inlines several figures, so
        # each figure's are named after what it shows.
        figure_id = hashlib.sha1(
            "|".join([self.title, *(p.title for p in self.panels)]).encode()).hexdigest()[:10]
        for index, panel in enumerate(self.panels):
            parts.append(_panel_svg(panel, f"lrlab-{figure_id}-{index}"))
        right = plots_width + self._MARGIN_RIGHT
        top = self._MARGIN_TOP + self._title_height()
        if self.legend:
            parts.append(_legend_svg(self.legend, right, top))
            top += 20 * len(self.legend) + 20
        if self.colour_bar is not None:
            parts.append(_colour_bar_svg(self.colour_bar, right, top,
                                         min(self.panel_height, 260)))
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
    parts.extend(panel.elements)
    parts.append("</g>")
    parts.append(f"<rect x='{x0:.1f}' y='{y0:.1f}' width='{x1 - x0:.1f}' "
                 f"height='{y1 - y0:.1f}' fill='none' stroke='#444444'/>")
    parts.extend(panel.labels)
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
