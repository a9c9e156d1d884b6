"""Trend charts as self-contained SVG text, for the server's pages and `gatekeeper report`.

Pure: values in, markup out, no I/O and no clock, so the pages and the static report draw the same
chart from the same figures.  The x axis has one step per verdict, oldest to newest (dated labels
under some of them), so verdicts of the same minute never draw on top of each other and a quiet week
takes no room.  A percentage whose values all lie near 100 gets a y axis that starts above 0 (the chart
says so in its text and its description), so 99.9% is drawn apart from 100%; counts get whole-number
ticks.  `render_strip` draws each verdict's status and level achieved on the same steps.  Charts are
accessible images: `role="img"` with a `<title>` and a
`<desc>` that states the latest values, series told apart by dash pattern and marker as well as
colour, and `table_rows` gives the figures for the data table every chart is shown with.
"""

from __future__ import annotations

import bisect
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from gatekeeper.words import plural

#: Series colours: each has at least 4.5:1 contrast on white (WCAG 1.4.11 asks 3:1 for graphics).
COLOURS = ("#0b5cad", "#b34700", "#1a7a3a", "#7b3fa0", "#3d3d3d")
#: Dash patterns, so series stay apart in greyscale and for colour-blind readers.
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")

_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 56, 16, 22, 64
#: Dated labels under the x axis at most (each is about 70 px wide).
_X_LABELS = 6
#: Fill of each verdict status in the status strip (white text on each has at least 4.5:1 contrast).
STATUS_COLOURS = {"pass": "#1a6b34", "warn": "#8a4b00", "fail": "#b00020", "error": "#3d3d3d"}
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
    """What to draw.  `y_max` fixes the top of the axis (100 for percentages, which may then start
    above 0); None means counts (whole-number ticks from 0).  `steps` are the verdict times on the x
    axis, one step each; empty means the points' own times."""

    key: str
    title: str
    unit: str
    series: tuple[Series, ...]
    y_max: float | None = None
    steps: tuple[datetime, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(series.points for series in self.series)

    @property
    def instants(self) -> tuple[datetime, ...]:
        """The x axis's steps, oldest first."""
        points = (point.at for series in self.series for point in series.points)
        return tuple(sorted(set(self.steps).union(points)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """Where the plot area lies in the SVG and which values its edges stand for."""

    width: int
    height: int
    steps: tuple[datetime, ...]
    y_top: float
    y_bottom: float = 0.0

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

    @property
    def step_width(self) -> float:
        """The room one verdict has on the x axis: the distance between steps, at most 24 px."""
        return min((self.right - self.left) / max(len(self.steps) - 1, 1), 24.0)

    def index_x(self, index: int) -> float:
        """The x of the step `index`; a single step sits in the middle."""
        if len(self.steps) <= 1:
            return (self.left + self.right) / 2
        return self.left + index / (len(self.steps) - 1) * (self.right - self.left)

    def x(self, at: datetime) -> float:
        """A verdict time to the x of its step (its place among the steps, not its distance in time)."""
        return self.index_x(min(bisect.bisect_left(self.steps, at), max(len(self.steps) - 1, 0)))

    def y(self, value: float) -> float:
        """Value to y: `y_bottom` at the bottom, `y_top` at the top (SVG's y grows downwards)."""
        span = self.y_top - self.y_bottom
        share = 0.0 if span <= 0 else (min(max(value, self.y_bottom), self.y_top) - self.y_bottom) / span
        return self.bottom - share * (self.bottom - self.top)


def frame(chart: Chart, width: int = 640, height: int = 240) -> Frame:
    """The frame a chart is drawn in: a step per verdict, and a round range for the y axis."""
    values = [point.value for series in chart.series for point in series.points]
    if chart.y_max is None:  # counts: at least 0-5, so five intervals are whole numbers
        return Frame(width=width, height=height, steps=chart.instants, y_top=max(5.0, nice_top(max(values, default=0))))
    return Frame(
        width=width, height=height, steps=chart.instants, y_top=chart.y_max, y_bottom=y_bottom(chart.y_max, values)
    )


def y_bottom(top: float, values: Sequence[float]) -> float:
    """Where a fixed-top axis starts: 0, unless every value lies in the top half; then a round span
    below the top that holds them all (99.93 and 100 give 99.9), so small differences near the top
    show."""
    lowest = min(values, default=top)
    span = top - lowest
    if span <= 0 or span * 2 > top:
        return 0.0
    step = 10.0 ** math.floor(math.log10(span))
    nice = next(factor * step for factor in (1, 2, 2.5, 5, 10) if factor * step >= span - 1e-12)
    return max(0.0, round(top - nice, 10))


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


def _tick(value: float) -> str:
    """An axis label with as few decimals as it needs (99.92, not 99.9)."""
    for decimals in range(7):
        if abs(round(value, decimals) - value) < 1e-9:
            return f"{value:.{decimals}f}"
    return f"{value:g}"  # pragma: no cover - ticks are round numbers


def scale_note(chart: Chart) -> str:
    """What the y axis spans when it does not start at 0, in words ("" when it does)."""
    box = frame(chart)
    if box.y_bottom <= 0:
        return ""
    return f"y axis from {_tick(box.y_bottom)} to {_tick(box.y_top)}, not from 0"


def _latest(series: Series) -> str:
    return f"{series.name} {_number(series.points[-1].value)}" if series.points else f"{series.name} no data"


def describe(chart: Chart) -> str:
    """The chart in words, for `<desc>`: what it spans and the latest value of each series."""
    if chart.empty:
        return f"{chart.title}: no data in this period."
    times = chart.instants
    span = f"{times[0]:%Y-%m-%d} to {times[-1]:%Y-%m-%d}"
    latest = "; ".join(_latest(series) for series in chart.series)
    unit = f" ({chart.unit})" if chart.unit else ""
    note = scale_note(chart)
    scale = f" Scale: {note}." if note else ""
    return f"{chart.title}{unit}, {plural(len(times), 'verdict')} from {span}, one step each. Latest: {latest}.{scale}"


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
        # not span * step first: past the largest double at the top
        value = box.y_bottom + (box.y_top / _Y_STEPS - box.y_bottom / _Y_STEPS) * step
        y = box.y(value)
        out.append(f'<line x1="{box.left}" x2="{box.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d0d0"/>')
        out.append(f'<text x="{box.left - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick(value)}</text>')
    out.append(f'<line x1="{box.left}" x2="{box.left}" y1="{box.top}" y2="{box.bottom}" stroke="#3d3d3d"/>')
    out.append(f'<line x1="{box.left}" x2="{box.right}" y1="{box.bottom}" y2="{box.bottom}" stroke="#3d3d3d"/>')
    note = scale_note(chart)
    if note:
        out.append(f'<text class="scale" x="{box.left}" y="{box.top - 8}" font-weight="700">{escape(note)}</text>')
    out += _x_labels(box)
    out.append("</g>")
    return out


def _x_labels(box: Frame) -> list[str]:
    """A tick per verdict on the x axis, and the date and time under a few of them (first and last
    always), so the steps read as verdicts and still say when."""
    out = [
        f'<line x1="{box.index_x(index):.1f}" x2="{box.index_x(index):.1f}" y1="{box.bottom}" '
        f'y2="{box.bottom + 4}" stroke="#3d3d3d"/>'
        for index in range(len(box.steps))
    ]
    count = len(box.steps)
    if count == 0:
        return out
    shown = sorted({round(index * (count - 1) / (_X_LABELS - 1)) for index in range(_X_LABELS)})
    for index in shown:
        at, x = box.steps[index], box.index_x(index)
        anchor = "middle" if count == 1 else "start" if index == 0 else "end" if index == count - 1 else "middle"
        out.append(
            f'<text class="step" x="{x:.1f}" y="{box.bottom + 16}" text-anchor="{anchor}">{at:%Y-%m-%d}'
            f'<tspan x="{x:.1f}" dy="13">{at:%H:%M:%S}</tspan></text>'
        )
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
    x, y = box.left, box.height - 6
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


def trend_charts(values: Iterable[tuple[datetime, str, float]], steps: Iterable[datetime] = ()) -> tuple[Chart, ...]:
    """The TRENDS charts from (verdict time, metric, value) triples, in any order; a metric that a
    verdict lacks (absent, never zero) leaves a gap in its series rather than a fall to 0.  `steps`
    are the times of every verdict charted, so all charts (and the status strip) share one x axis."""
    instants = tuple(sorted(set(steps)))
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
            steps=instants,
            series=tuple(
                Series(name=name, points=tuple(sorted(by_metric[metric], key=lambda point: point.at)))
                for name, metric in trend.series
            ),
        )
        for trend in TRENDS
    )


def default_branch(counts: Mapping[str | None, int]) -> str | None:
    """The one branch trends show when none is chosen and a project has several (branches are never
    mixed in one series): main or master if it has one, else the branch with most verdicts (ties: the
    first in `counts`).  None when there is nothing to choose: one branch, or none named."""
    named = [branch for branch in counts if branch]
    if len(counts) <= 1 or not named:
        return None
    return next((branch for branch in ("main", "master") if branch in named), max(named, key=counts.__getitem__))


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One verdict on the status strip: when, its status and the maturity level it achieved."""

    at: datetime
    status: str
    level: int | None


#: The highest maturity level, the top of the strip's level bars.
_LEVEL_TOP = 5
_STRIP_HEIGHT = 150


def describe_strip(steps: Sequence[Step]) -> str:
    """The strip in words: how many verdicts of each status, and the latest status and level."""
    if not steps:
        return "Status and level achieved: no verdicts in this period."
    ordered = sorted(steps, key=lambda step: step.at)
    counts = ", ".join(
        f"{sum(1 for step in ordered if step.status == status)} {status}"
        for status in STATUS_COLOURS
        if any(step.status == status for step in ordered)
    )
    latest = ordered[-1]
    level = "no level assessed" if latest.level is None else f"level {latest.level}"
    span = f"{ordered[0].at:%Y-%m-%d} to {latest.at:%Y-%m-%d}"
    return (
        f"Status and level achieved, {plural(len(ordered), 'verdict')} from {span}, one step each: {counts}. "
        f"Latest: {latest.status}, {level}."
    )


def render_strip(steps: Sequence[Step], *, key: str = "status", width: int = 640) -> str:
    """Each verdict's status (a coloured cell with its initial, so colour is not the only cue) and the
    level it achieved (a bar, 0 to 5), on the same steps as the trend charts above it."""
    ordered = sorted(steps, key=lambda step: step.at)
    box = Frame(width=width, height=_STRIP_HEIGHT, steps=tuple(step.at for step in ordered), y_top=_LEVEL_TOP)
    title_id, desc_id = f"{key}-title", f"{key}-desc"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart strip" role="img" width="{width}" '
        f'height="{_STRIP_HEIGHT}" viewBox="0 0 {width} {_STRIP_HEIGHT}" aria-labelledby="{title_id} {desc_id}">',
        f"<title id={quoteattr(title_id)}>Status and level achieved</title>",
        f"<desc id={quoteattr(desc_id)}>{escape(describe_strip(ordered))}</desc>",
        f'<rect x="0" y="0" width="{width}" height="{_STRIP_HEIGHT}" fill="#ffffff"/>',
        '<g class="axes" font-size="11" fill="#3d3d3d">',
        # left of the first cell, which reaches half a step (at most 12 px) left of the axis
        f'<text x="{box.left - 16}" y="{box.top + 13}" text-anchor="end">status</text>',
        f'<text x="{box.left - 16}" y="{box.bottom - 4}" text-anchor="end">level</text>',
        *_x_labels(box),
        "</g>",
    ]
    cell = max(box.step_width - 1, 1.0)
    bar_top, bar_bottom = box.top + 26, box.bottom
    for index, step in enumerate(ordered):
        x = box.index_x(index) - cell / 2
        colour = STATUS_COLOURS.get(step.status, "#5a5a5a")
        out.append(
            f'<g class="step" data-status={quoteattr(step.status)}>'
            f'<rect x="{x:.1f}" y="{box.top}" width="{cell:.1f}" height="18" fill="{colour}"/>'
        )
        if cell >= 9:
            out.append(
                f'<text x="{box.index_x(index):.1f}" y="{box.top + 13}" text-anchor="middle" font-size="10" '
                f'fill="#ffffff">{escape(step.status[:1].upper())}</text>'
            )
        if step.level is not None:
            top = bar_bottom - (bar_bottom - bar_top) * min(max(step.level, 0), _LEVEL_TOP) / _LEVEL_TOP
            out.append(
                f'<rect class="level" data-level="{step.level}" x="{x:.1f}" y="{top:.1f}" width="{cell:.1f}" '
                f'height="{max(bar_bottom - top, 1):.1f}" fill="#0b5cad"/>'
            )
            if cell >= 9:
                out.append(
                    f'<text x="{box.index_x(index):.1f}" y="{top - 2:.1f}" text-anchor="middle" font-size="10" '
                    f'fill="#1a1a1a">{step.level}</text>'
                )
        out.append("</g>")
    out += _strip_legend(box)
    out.append("</svg>")
    return "\n".join(out)


def _strip_legend(box: Frame) -> list[str]:
    out = ['<g class="legend" font-size="12" fill="#1a1a1a">']
    x, y = box.left, box.height - 6
    for status, colour in STATUS_COLOURS.items():
        out.append(f'<rect x="{x}" y="{y - 11}" width="14" height="14" fill="{colour}"/>')
        out.append(f'<text x="{x + 18}" y="{y}">{status}</text>')
        x += 30 + 7 * len(status)
    out.append(f'<rect x="{x}" y="{y - 11}" width="14" height="14" fill="#0b5cad"/>')
    out.append(f'<text x="{x + 18}" y="{y}">level achieved (0-{_LEVEL_TOP})</text>')
    out.append("</g>")
    return out
