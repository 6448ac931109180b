"""A figure as data: panels with their scales, what is drawn in each (lines, bands,
markers, rules, labels, in data coordinates), a legend and a colour bar. Each of compare's
and the report's figures is defined once as one of these (:mod:`lrlab.present.charts`),
then written by :mod:`lrlab.present.svg` (always) or drawn by matplotlib
(:mod:`lrlab.present.mpl`, only with ``--png``). Pure; no dependencies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

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


# Values beyond this magnitude (or, on a log scale, below its inverse) are left off a
# fitted axis: its span, padding and powers of ten would overflow (a damaged file's 1e308
# or 1e-320). They are still drawn, clipped at the panel's edge.
_LARGEST = 1e300


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
        kept = [v for v in values if math.isfinite(v) and abs(v) <= _LARGEST
                and (v >= 1 / _LARGEST or not log)]
        low, high = (min(kept), max(kept)) if kept else ((1.0, 10.0) if log else (0.0, 1.0))
        if log:
            low, high = math.log10(low), math.log10(high)
        if high - low < 1e-12:
            low, high = low - 0.5, high + 0.5
        span = high - low
        low, high = low - pad * span, high + pad * span
        if log:
            top = math.log10(_LARGEST)
            low, high = 10 ** max(low, -top), 10 ** min(high, top)
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


@dataclass(frozen=True)
class Line:
    """A polyline through the points, broken where one cannot be drawn (NaN, infinity, or
    not positive on a log scale); dots at the points when ``marker_size`` > 0."""

    xs: Sequence[float]
    ys: Sequence[float]
    style: Style
    marker_size: float = 0.0


@dataclass(frozen=True)
class Band:
    """The area between ``low`` and ``high``, over the points where both exist."""

    xs: Sequence[float]
    low: Sequence[float]
    high: Sequence[float]
    colour: str
    opacity: float = 0.2


# The marker shapes a figure may use.
SHAPES = ("circle", "ring", "star", "x", "square")


@dataclass(frozen=True)
class Marks:
    """Markers at the points: a shape of :data:`SHAPES` (``ring`` is hollow, in
    ``colour``); ``size`` is the radius in pixels, ``edge`` the outline's colour."""

    xs: Sequence[float]
    ys: Sequence[float]
    shape: str
    size: float
    colour: str
    edge: str = "none"


@dataclass(frozen=True)
class HLine:
    """A horizontal rule across the panel at ``y``."""

    y: float
    style: Style


@dataclass(frozen=True)
class Label:
    """Text centred at a point, ``dy`` pixels below it (negative: above), drawn over the
    panel's frame."""

    x: float
    y: float
    text: str
    dy: float = -10


Element = Line | Band | Marks | HLine


@dataclass
class Panel:
    """One plot area: its scales, what is drawn in it (in data coordinates, in order) and
    its labels."""

    x: Scale
    y: Scale
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    grid: bool = True
    elements: list[Element] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)

    def line(self, xs: Sequence[float], ys: Sequence[float], style: Style,
             marker_size: float = 0.0) -> None:
        if len(xs) != len(ys):
            raise ValueError(f"{len(xs)} x values against {len(ys)} y values")
        self.elements.append(Line(xs, ys, style, marker_size))

    def band(self, xs: Sequence[float], low: Sequence[float], high: Sequence[float],
             colour: str, opacity: float = 0.2) -> None:
        self.elements.append(Band(xs, low, high, colour, opacity))

    def marks(self, xs: Sequence[float], ys: Sequence[float], shape: str, *, size: float,
              colour: str, edge: str = "none") -> None:
        if shape not in SHAPES:
            raise ValueError(f"unknown marker {shape!r}; expected one of {', '.join(SHAPES)}")
        self.elements.append(Marks(xs, ys, shape, size, colour, edge))

    def hline(self, y: float, style: Style) -> None:
        self.elements.append(HLine(y, style))

    def text(self, x: float, y: float, label: str, *, dy: float = -10) -> None:
        self.labels.append(Label(x, y, label, dy))


def drawable(scale: Scale, value: float) -> bool:
    """Whether ``value`` has a place on ``scale``: finite, no larger than a scale's
    arithmetic allows, and positive on a log one."""
    return math.isfinite(value) and abs(value) <= _LARGEST and (value > 0 or not scale.log)


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
    the right; sizes in pixels (the SVG's; matplotlib's at 100 pixels an inch)."""

    rows: int = 1
    columns: int = 1
    panel_width: float = 420
    panel_height: float = 300
    title: str = ""
    legend: list[LegendEntry] = field(default_factory=list)
    colour_bar: ColourBar | None = None
    panels: list[Panel] = field(default_factory=list)

    # The layout's margins and gaps, in pixels.
    MARGIN_LEFT, MARGIN_RIGHT, GAP_X = 70, 20, 80
    MARGIN_TOP, MARGIN_BOTTOM, GAP_Y = 40, 48, 70

    def _origin(self, index: int) -> tuple[float, float]:
        row, column = divmod(index, self.columns)
        return (self.MARGIN_LEFT + column * (self.panel_width + self.GAP_X),
                self.MARGIN_TOP + self.title_height() + row * (self.panel_height + self.GAP_Y))

    def title_height(self) -> float:
        """The title's lines' height, in pixels."""
        return 18.0 * len(self.title.splitlines())

    def add(self, panel: Panel) -> Panel:
        """Place ``panel`` in the next cell; its scales get their pixel ranges."""
        x0, y0 = self._origin(len(self.panels))
        panel.x.pixels = (x0, x0 + self.panel_width)
        panel.y.pixels = (y0 + self.panel_height, y0)
        self.panels.append(panel)
        return panel
