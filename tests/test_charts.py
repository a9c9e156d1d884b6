"""gatekeeper/charts.py: well-formed, accessible SVG whose points sit where their values say."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from gatekeeper import charts
from gatekeeper.charts import Chart, Point, Series

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def chart(*series: Series, y_max: float | None = 100.0, title: str = "Tests passing") -> Chart:
    return Chart(key="tests", title=title, unit="%", series=series, y_max=y_max)


def points(*values: float, days: int = 1) -> tuple[Point, ...]:
    return tuple(Point(at=T0 + timedelta(days=days * index), value=value) for index, value in enumerate(values))


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def polyline(root: ET.Element, index: int = 0) -> list[tuple[float, float]]:
    group = root.find(f".//{SVG}g[@class='series series-{index}']")
    assert group is not None
    line = group.find(f"{SVG}polyline")
    assert line is not None
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in line.attrib["points"].split())]


def test_svg_is_well_formed_and_accessible() -> None:
    root = parse(charts.render_svg(chart(Series(name="pass %", points=points(80, 90, 100)))))
    assert root.tag == f"{SVG}svg"
    assert root.attrib["role"] == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == "Tests passing"
    assert desc is not None and desc.text is not None
    assert desc.text.startswith("Tests passing (%), 3 verdicts from 2026-11-01 to 2026-11-03, one step each.")
    assert "Latest: pass % 100." in desc.text
    # the accessible name and description are the title and desc elements
    assert root.attrib["aria-labelledby"].split() == [title.attrib["id"], desc.attrib["id"]]


def test_points_scale_to_the_plot_area() -> None:
    data = chart(Series(name="pass %", points=points(0, 50, 100)))
    box = charts.frame(data, 640, 240)
    line = polyline(parse(charts.render_svg(data, width=640, height=240)))
    assert [x for x, _ in line] == pytest.approx([box.left, (box.left + box.right) / 2, box.right], abs=0.1)
    assert [y for _, y in line] == pytest.approx([box.bottom, (box.top + box.bottom) / 2, box.top], abs=0.1)


def test_one_step_per_verdict_not_distance_in_time() -> None:
    """Verdicts two days apart and one day apart are one step apart each; the steps carry dates."""
    series = Series(
        name="pass %",
        points=(
            Point(at=T0, value=1),
            Point(at=T0 + timedelta(days=2), value=1),
            Point(at=T0 + timedelta(days=3), value=1),
        ),
    )
    root = parse(charts.render_svg(chart(series)))
    xs = [x for x, _ in polyline(root)]
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.1)
    labels = ["".join(text.itertext()) for text in root.iter(f"{SVG}text") if text.get("class") == "step"]
    assert labels == ["2026-11-0112:00:00", "2026-11-0312:00:00", "2026-11-0412:00:00"]


def test_verdicts_of_the_same_minute_do_not_overlap() -> None:
    same_minute = tuple(Point(at=T0 + timedelta(seconds=seconds), value=50) for seconds in (0, 10, 20, 30))
    xs = [x for x, _ in polyline(parse(charts.render_svg(chart(Series(name="pass %", points=same_minute)))))]
    assert len(set(xs)) == 4
    assert min(b - a for a, b in itertools.pairwise(xs)) > 100  # a quarter of the plot each


def test_steps_of_verdicts_without_the_metric_keep_their_place() -> None:
    """A verdict with no coverage still takes its step, so every chart's steps line up."""
    steps = tuple(T0 + timedelta(hours=hour) for hour in range(3))
    data = Chart(
        key="coverage",
        title="Coverage",
        unit="%",
        y_max=100.0,
        steps=steps,
        series=(Series(name="lines %", points=(Point(at=steps[2], value=40),)),),
    )
    box = charts.frame(data)
    [(x, _)] = polyline(parse(charts.render_svg(data)))
    assert x == pytest.approx(box.right, abs=0.1)


def test_near_100_percent_is_drawn_apart_from_100_and_the_scale_says_so() -> None:
    data = chart(Series(name="pass %", points=points(99.93, 100)))
    box = charts.frame(data)
    assert (box.y_bottom, box.y_top) == (pytest.approx(99.9), 100)
    svg = charts.render_svg(data)
    (_, low), (_, high) = polyline(parse(svg))
    assert low - high > 0.2 * (box.bottom - box.top)  # 99.93 sits 30% up the axis, 100 at its top
    assert "y axis from 99.9 to 100, not from 0" in "".join(parse(svg).itertext())
    assert "Scale: y axis from 99.9 to 100, not from 0." in charts.describe(data)
    ticks = [
        text.text
        for text in parse(svg).iter(f"{SVG}text")
        if text.get("text-anchor") == "end" and not text.get("class")
    ]
    assert {"99.9", "99.92", "99.98", "100"} <= set(ticks)
    # a wide spread keeps the axis from 0, and says nothing about its scale
    assert charts.frame(chart(Series(name="pass %", points=points(20, 100)))).y_bottom == 0
    assert charts.scale_note(chart(Series(name="pass %", points=points(20, 100)))) == ""
    assert charts.y_bottom(100, [100, 100]) == 0  # all at the top: nothing to tell apart


def test_counts_get_a_round_axis_top() -> None:
    assert [charts.nice_top(value) for value in (0, 1, 3, 7, 11, 240, 2600)] == [1, 1, 5, 10, 20, 250, 5000]
    data = chart(Series(name="high", points=points(3, 7)), y_max=None)
    assert charts.frame(data).y_top == 10
    labels = [text.text for text in parse(charts.render_svg(data)).iter(f"{SVG}text")]
    assert {"0", "2", "4", "6", "8", "10"} <= set(labels)


@pytest.mark.parametrize("highest", [0, 1, 2, 3, 4, 7, 11, 24])
def test_count_ticks_are_whole_numbers(highest: int) -> None:
    data = chart(Series(name="high", points=points(0, highest)), y_max=None)
    root = parse(charts.render_svg(data))
    axis = root.find(f"{SVG}g[@class='axes']")
    assert axis is not None
    ticks = [
        text.text or ""
        for text in axis.iter(f"{SVG}text")
        if text.get("text-anchor") == "end" and not text.get("class")
    ]
    assert len(ticks) == 6 and all(tick.isdigit() for tick in ticks), ticks
    assert int(ticks[-1]) >= highest


def test_titles_and_names_are_escaped() -> None:
    svg = charts.render_svg(chart(Series(name="<b>&", points=points(1)), title="a < b & c"))
    root = parse(svg)
    assert root.find(f"{SVG}title").text == "a < b & c"  # type: ignore[union-attr]
    assert "<b>" not in svg


def test_empty_chart_says_so() -> None:
    data = chart(Series(name="pass %", points=()))
    root = parse(charts.render_svg(data))
    assert "no data in this period" in "".join(root.itertext())
    assert charts.describe(data) == "Tests passing: no data in this period."
    assert charts.table_rows(data) == []


def test_a_single_point_sits_in_the_middle() -> None:
    data = chart(Series(name="pass %", points=points(40)))
    box = charts.frame(data)
    [(x, y)] = polyline(parse(charts.render_svg(data)))
    assert x == pytest.approx((box.left + box.right) / 2, abs=0.1)
    assert y == pytest.approx(box.y(40), abs=0.1)


def test_trend_charts_and_their_table_keep_absent_metrics_as_gaps() -> None:
    later = T0 + timedelta(hours=1)
    values = [
        (later, "coverage.lines.percent", 82.0),
        (T0, "coverage.lines.percent", 80.0),
        (T0, "coverage.branches.percent", 60.0),  # the later verdict has no branch coverage
        (T0, "findings.high", 2.0),
        (T0, "not.a.trend", 1.0),
    ]
    tests, coverage, findings = charts.trend_charts(values)
    assert [series.name for series in coverage.series] == ["lines %", "branches %"]
    assert [point.value for point in coverage.series[0].points] == [80.0, 82.0]  # oldest first
    assert charts.table_rows(coverage) == [(T0, (80.0, 60.0)), (later, (82.0, None))]
    assert tests.empty and not findings.empty
    assert [series.name for series in findings.series] == ["critical", "high", "medium", "low"]
    assert set(charts.TREND_METRICS) >= {"tests.pass_percent", "coverage.lines.percent", "findings.critical"}


def test_series_differ_by_more_than_colour() -> None:
    data = chart(Series(name="lines %", points=points(1, 2)), Series(name="branches %", points=points(3, 4)))
    root = parse(charts.render_svg(data))
    lines = [root.find(f".//{SVG}g[@class='series series-{index}']/{SVG}polyline") for index in (0, 1)]
    assert lines[0] is not None and lines[1] is not None
    assert lines[0].get("stroke-dasharray") != lines[1].get("stroke-dasharray")
    legend = root.find(f".//{SVG}g[@class='legend']")
    assert legend is not None and [text.text for text in legend.iter(f"{SVG}text")] == ["lines %", "branches %"]


def test_status_strip_shows_each_verdicts_status_and_level_on_the_charts_steps() -> None:
    steps = [
        charts.Step(at=T0 + timedelta(minutes=2), status="fail", level=0),
        charts.Step(at=T0, status="pass", level=3),
        charts.Step(at=T0 + timedelta(minutes=1), status="warn", level=None),
    ]
    root = parse(charts.render_strip(steps))
    assert root.attrib["role"] == "img"
    cells = root.findall(f".//{SVG}g[@class='step']")
    assert [cell.get("data-status") for cell in cells] == ["pass", "warn", "fail"]  # oldest first
    assert ["".join("".join(cell.itertext()).split()) for cell in cells] == [
        "P3",
        "W",
        "F0",
    ]  # initials, not colour alone
    bars = [cell.find(f"{SVG}rect[@class='level']") for cell in cells]
    assert bars[1] is None and bars[0] is not None and bars[2] is not None
    assert float(bars[0].attrib["height"]) > float(bars[2].attrib["height"])  # level 3 above level 0
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text == (
        "Status and level achieved, 3 verdicts from 2026-11-01 to 2026-11-01, one step each: "
        "1 pass, 1 warn, 1 fail. Latest: fail, level 0."
    )
    # the same steps as a trend chart of the same verdicts: each cell centred on the chart's point
    data = Chart(
        key="tests",
        title="Tests",
        unit="%",
        y_max=100.0,
        steps=tuple(step.at for step in steps),
        series=(
            Series(name="pass %", points=tuple(Point(at=at, value=90) for at in sorted(step.at for step in steps))),
        ),
    )
    xs = [x for x, _ in polyline(parse(charts.render_svg(data)))]
    centres = [float(cell[0].attrib["x"]) + float(cell[0].attrib["width"]) / 2 for cell in cells]
    assert centres == pytest.approx(xs, abs=0.2)
    assert "no verdicts" in charts.describe_strip([])


def test_default_branch_keeps_branches_apart() -> None:
    assert charts.default_branch({"feature/x": 9, "main": 2}) == "main"
    assert charts.default_branch({"feature/x": 1, "master": 1, None: 4}) == "master"
    assert charts.default_branch({"dev": 2, "feature/x": 5}) == "feature/x"  # the most verdicts
    assert charts.default_branch({"b": 2, "a": 2}) == "b"  # a tie: the first given
    assert charts.default_branch({"main": 3}) is None  # one branch: nothing to choose
    assert charts.default_branch({None: 3}) is None
