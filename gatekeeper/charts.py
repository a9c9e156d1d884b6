"""Trend charts as self-contained SVG text, for the server's pages and `gatekeeper report`.

Pure: values in, markup out, no I/O and no clock, so the pages and the static report draw the same
chart from the same figures.  Charts are accessible images: `role="img"` with a `<title>` and a
`<desc>` that states the latest values, series told apart by dash pattern and marker as well as
colour, and `table_rows` gives the figures for the data table every chart is shown with.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

#: Series colours: each has at least 4.5:1 contrast on white (WCAG 1.4.11 asks 3:1 for graphics).
COLOURS = ("#0b5cad", "#b34700", "#1a7a3a", "#7b3fa0", "#3d3d3d")
#: Dash patterns, so series stay apart in greyscale and for colour-blind readers.
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")

_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 48, 16, 12, 52
#: Intervals on the y axis: with a top of 1, 2, 2.5 or 5 times 10^n, every tick is a round number.
_Y_STEPS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One value of a series at the time of the verdict that gave it."""

    at: datetime
    value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    name: str
    points: tuple[Point, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """What to draw.  `y_max` fixes the top of the axis (100 for percentages); None fits the data."""

    key: str
    title: str
    unit: str
    series: tuple[Series, ...]
    y_max: float | None = None

    @property
    def empty(self) -> bool:
        return not any(series.points for series in self.series)


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """Where the plot area lies in the SVG and which values its edges stand for."""

    width: int
    height: int
    t0: float
    t1: float
    y_top: float

    @property
    def left(self) -> float:
        return _MARGIN_LEFT

    @property
    def right(self) -> float:
        return self.width - _MARGIN_RIGHT

    @property
    def top(self) -> float:
        return _MARGIN_TOP

    @property
    def bottom(self) -> float:
        return self.height - _MARGIN_BOTTOM

    def x(self, at: datetime) -> float:
        """Time to x; a single instant sits in the middle."""
        if self.t1 <= self.t0:
            return (self.left + self.right) / 2
        return self.left + (at.timestamp() - self.t0) / (self.t1 - self.t0) * (self.right - self.left)

    def y(self, value: float) -> float:
        """Value to y: 0 at the bottom, `y_top` at the top (SVG's y grows downwards)."""
        share = 0.0 if self.y_top <= 0 else min(max(value, 0.0), self.y_top) / self.y_top
        return self.bottom - share * (self.bottom - self.top)


def frame(chart: Chart, width: int = 640, height: int = 240) -> Frame:
    """The frame a chart is drawn in: the time span of its points, and a round top for the y axis."""
    times = [point.at.timestamp() for series in chart.series for point in series.points]
    values = [point.value for series in chart.series for point in series.points]
    top = chart.y_max if chart.y_max is not None else nice_top(max(values, default=0.0))
    return Frame(width=width, height=height, t0=min(times, default=0.0), t1=max(times, default=0.0), y_top=top)


def nice_top(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times 10^n at or above `value` (at least 1), so ticks are round numbers."""
    if value <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return float(min(step * magnitude, sys.float_info.max))  # 2 x 10^308 is past the largest double
    return float(10 * magnitude)  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _latest(series: Series) -> str:
    return f"{series.name} {_number(series.points[-1].value)}" if series.points else f"{series.name} no data"


def describe(chart: Chart) -> str:
    """The chart in words, for `<desc>`: what it spans and the latest value of each series."""
    if chart.empty:
        return f"{chart.title}: no data in this period."
    count = max(len(series.points) for series in chart.series)
    times = sorted(point.at for series in chart.series for point in series.points)
    span = f"{times[0]:%Y-%m-%d} to {times[-1]:%Y-%m-%d}"
    latest = "; ".join(_latest(series) for series in chart.series)
    unit = f" ({chart.unit})" if chart.unit else ""
    return f"{chart.title}{unit}, {count} verdicts from {span}. Latest: {latest}."


def render_svg(chart: Chart, *, width: int = 640, height: int = 240) -> str:
    """The chart as an inline `<svg>` element (no XML declaration, so it embeds in HTML as is)."""
    box = frame(chart, width, height)
    title_id, desc_id = f"{chart.key}-title", f"{chart.key}-desc"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{title_id} {desc_id}">',
        f"<title id={quoteattr(title_id)}>{escape(chart.title)}</title>",
        f"<desc id={quoteattr(desc_id)}>{escape(describe(chart))}</desc>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    out += _axes(chart, box)
    if chart.empty:
        out.append(
            f'<text x="{(box.left + box.right) / 2:.1f}" y="{(box.top + box.bottom) / 2:.1f}" '
            'text-anchor="middle" fill="#3d3d3d" font-size="14">no data in this period</text>'
        )
    for index, series in enumerate(chart.series):
        out += _series(series, index, box)
    out += _legend(chart, box)
    out.append("</svg>")
    return "\n".join(out)


def _axes(chart: Chart, box: Frame) -> list[str]:
    out = ['<g class="axes" font-size="11" fill="#3d3d3d">']
    for step in range(_Y_STEPS + 1):
        value = box.y_top / _Y_STEPS * step  # not y_top * step first: past the largest double at the top
        y = box.y(value)
        out.append(f'<line x1="{box.left}" x2="{box.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d0d0"/>')
        out.append(f'<text x="{box.left - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>')
    out.append(f'<line x1="{box.left}" x2="{box.left}" y1="{box.top}" y2="{box.bottom}" stroke="#3d3d3d"/>')
    out.append(f'<line x1="{box.left}" x2="{box.right}" y1="{box.bottom}" y2="{box.bottom}" stroke="#3d3d3d"/>')
    if not chart.empty:
        times = [point.at for series in chart.series for point in series.points]
        first, last = min(times), max(times)
        shown = "%Y-%m-%d" if (last - first).days >= 2 else "%Y-%m-%d %H:%M"
        y = box.bottom + 16
        out.append(f'<text x="{box.left}" y="{y}" text-anchor="start">{first.strftime(shown)}</text>')
        if box.t1 > box.t0:
            out.append(f'<text x="{box.right}" y="{y}" text-anchor="end">{last.strftime(shown)}</text>')
    out.append("</g>")
    return out


def _series(series: Series, index: int, box: Frame) -> list[str]:
    if not series.points:
        return []
    colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
    coordinates = [(box.x(point.at), box.y(point.value)) for point in series.points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
    out = [
        f"<g class={quoteattr('series series-' + str(index))} data-name={quoteattr(series.name)}>",
        f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attribute}/>',
    ]
    if len(coordinates) <= 60:  # markers help on sparse data, and are clutter on dense data
        out += [_marker(index, x, y, colour) for x, y in coordinates]
    out.append("</g>")
    return out


def _marker(index: int, x: float, y: float, colour: str) -> str:
    """Circle, square, triangle, diamond… so a series is recognisable by its marker too."""
    shape = index % 4
    if shape == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
    if shape == 1:
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}"/>'
    if shape == 2:
        return f'<path d="M{x:.1f} {y - 4:.1f} L{x + 4:.1f} {y + 3:.1f} L{x - 4:.1f} {y + 3:.1f} Z" fill="{colour}"/>'
    diamond = f"M{x:.1f} {y - 4:.1f} L{x + 4:.1f} {y:.1f} L{x:.1f} {y + 4:.1f} L{x - 4:.1f} {y:.1f} Z"
    return f'<path d="{diamond}" fill="{colour}"/>'


def _legend(chart: Chart, box: Frame) -> list[str]:
    out = ['<g class="legend" font-size="12" fill="#1a1a1a">']
    x, y = box.left, box.height - 12
    for index, series in enumerate(chart.series):
        colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
        dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
        line = f'x1="{x}" x2="{x + 24}" y1="{y - 4}" y2="{y - 4}"'
        out.append(f'<line {line} stroke="{colour}" stroke-width="2"{dash_attribute}/>')
        out.append(_marker(index, x + 12, y - 4, colour))
        out.append(f'<text x="{x + 30}" y="{y}">{escape(series.name)}</text>')
        x += 52 + 7 * len(series.name)
    out.append("</g>")
    return out


def table_rows(chart: Chart) -> list[tuple[datetime, tuple[float | None, ...]]]:
    """The chart's figures as rows (one per instant, oldest first, a value or None per series): the
    data table shown with every chart, for screen readers and for reading exact values."""
    instants = sorted({point.at for series in chart.series for point in series.points})
    by_series = [{point.at: point.value for point in series.points} for series in chart.series]
    return [(at, tuple(values.get(at) for values in by_series)) for at in instants]


@dataclass(frozen=True, slots=True, kw_only=True)
class Trend:
    """Which metrics one trend chart draws, each as a named series."""

    key: str
    title: str
    unit: str
    y_max: float | None
    series: tuple[tuple[str, str], ...]  # (series name, metric name)


#: The trends a release manager watches (the pages and `gatekeeper report` draw the same ones).
TRENDS = (
    Trend(key="tests", title="Tests passing", unit="%", y_max=100.0, series=(("pass %", "tests.pass_percent"),)),
    Trend(
        key="coverage",
        title="Coverage",
        unit="%",
        y_max=100.0,
        series=(("lines %", "coverage.lines.percent"), ("branches %", "coverage.branches.percent")),
    ),
    Trend(
        key="findings",
        title="Security findings by severity",
        unit="findings",
        y_max=None,
        series=(
            ("critical", "findings.critical"),
            ("high", "findings.high"),
            ("medium", "findings.medium"),
            ("low", "findings.low"),
        ),
    ),
)

#: Every metric the trends read, for the query that fetches them.
TREND_METRICS = tuple(metric for trend in TRENDS for _, metric in trend.series)


def trend_charts(values: Iterable[tuple[datetime, str, float]]) -> tuple[Chart, ...]:
    """The TRENDS charts from (verdict time, metric, value) triples, in any order; a metric that a
    verdict lacks (absent, never zero) leaves a gap in its series rather than a fall to 0."""
    by_metric: dict[str, list[Point]] = {metric: [] for metric in TREND_METRICS}
    for at, metric, value in values:
        if metric in by_metric:
            by_metric[metric].append(Point(at=at, value=value))
    return tuple(
        Chart(
            key=trend.key,
            title=trend.title,
            unit=trend.unit,
            y_max=trend.y_max,
            series=tuple(
                Series(name=name, points=tuple(sorted(by_metric[metric], key=lambda point: point.at)))
                for name, metric in trend.series
            ),
        )
        for trend in TRENDS
    )
