"""gatekeeper/charts.py: well-formed, accessible SVG whose points sit where their values say."""

from __future__ import annotations

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
    assert desc.text.startswith("Tests passing (%), 3 verdicts from 2026-11-01 to 2026-11-03.")
    assert "Latest: pass % 100." in desc.text
    # the accessible name and description are the title and desc elements
    assert root.attrib["aria-labelledby"].split() == [title.attrib["id"], desc.attrib["id"]]


def test_points_scale_to_the_plot_area() -> None:
    data = chart(Series(name="pass %", points=points(0, 50, 100)))
    box = charts.frame(data, 640, 240)
    line = polyline(parse(charts.render_svg(data, width=640, height=240)))
    assert [x for x, _ in line] == pytest.approx([box.left, (box.left + box.right) / 2, box.right], abs=0.1)
    assert [y for _, y in line] == pytest.approx([box.bottom, (box.top + box.bottom) / 2, box.top], abs=0.1)


def test_time_not_index_places_points() -> None:
    """Verdicts two days apart and one day apart are drawn two and one units apart."""
    series = Series(
        name="pass %",
        points=(
            Point(at=T0, value=1),
            Point(at=T0 + timedelta(days=2), value=1),
            Point(at=T0 + timedelta(days=3), value=1),
        ),
    )
    xs = [x for x, _ in polyline(parse(charts.render_svg(chart(series))))]
    assert xs[1] - xs[0] == pytest.approx(2 * (xs[2] - xs[1]), abs=0.2)


def test_counts_get_a_round_axis_top() -> None:
    assert [charts.nice_top(value) for value in (0, 1, 3, 7, 11, 240, 2600)] == [1, 1, 5, 10, 20, 250, 5000]
    data = chart(Series(name="high", points=points(3, 7)), y_max=None)
    assert charts.frame(data).y_top == 10
    labels = [text.text for text in parse(charts.render_svg(data)).iter(f"{SVG}text")]
    assert {"0", "2", "4", "6", "8", "10"} <= set(labels)


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
