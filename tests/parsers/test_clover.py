"""Clover counting rules (OpenClover and istanbul flavours), one small inline report per rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, mask_lines
from gatekeeper.parsers import merge, read_report
from gatekeeper.parsers.clover import parse


def write(tmp_path: Path, xml: str, name: str = "clover.xml") -> Path:
    path = tmp_path / name
    path.write_text(xml, encoding="utf-8")
    return path


def coverage_of(tmp_path: Path, xml: str) -> Coverage:
    evidence = parse(write(tmp_path, xml))
    assert evidence.coverage is not None
    return evidence.coverage


def report(files: str, root: str = 'clover="4.5.2" generated="1"', test_files: str = "") -> str:
    test_project = f'<testproject timestamp="1">{test_files}</testproject>' if test_files else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
    <coverage {root}><project timestamp="1"><metrics statements="0"/>
    <package name="p">{files}</package></project>{test_project}</coverage>"""


def file(path: str, lines: str) -> str:
    return f'<file name="{path.rpartition("/")[2]}" path="{path}"><metrics statements="0"/>{lines}</file>'


def test_stmt_lines(tmp_path: Path) -> None:
    lines = '<line num="1" type="stmt" count="3"/><line num="2" type="stmt" count="0"/>'
    coverage = coverage_of(tmp_path, report(file("src/a.php", lines)))
    a = coverage.files["src/a.php"]
    assert (mask_lines(a.statements), mask_lines(a.covered)) == ([1, 2], [1])
    assert a.branches is None  # no cond line anywhere: no branch data


def test_openclover_cond_lines_are_two_branches_from_true_and_false_counts(tmp_path: Path) -> None:
    lines = (
        '<line num="5" type="cond" truecount="3" falsecount="0"/>'  # only ever true: 1 of 2
        '<line num="6" type="cond" truecount="2" falsecount="1"/>'  # both ways: 2 of 2
        '<line num="7" type="cond" truecount="0" falsecount="0"/>'  # never evaluated: 0 of 2
    )
    a = coverage_of(tmp_path, report(file("A.java", lines))).files["A.java"]
    assert a.branches == {5: (1, 2), 6: (2, 2), 7: (0, 2)}
    assert (mask_lines(a.statements), mask_lines(a.covered)) == ([5, 6, 7], [5, 6])


def test_several_openclover_conditions_on_one_line_add_up(tmp_path: Path) -> None:
    lines = (
        '<line num="5" type="stmt" count="3"/>'
        '<line num="5" type="cond" truecount="3" falsecount="0"/>'  # if (a && b): a always true
        '<line num="5" type="cond" truecount="1" falsecount="2"/>'  # b both ways
    )
    a = coverage_of(tmp_path, report(file("A.java", lines))).files["A.java"]
    assert a.branches == {5: (3, 4)}
    assert (a.lines_covered, a.lines_total) == (1, 1)


def test_istanbul_cond_lines_count_covered_and_missed_branches(tmp_path: Path) -> None:
    lines = (
        '<line num="2" count="3" type="cond" truecount="2" falsecount="0"/>'
        '<line num="3" count="1" type="cond" truecount="1" falsecount="3"/>'
        '<line num="4" count="0" type="cond" truecount="0" falsecount="2"/>'
    )
    a = coverage_of(tmp_path, report(file("isLucky.js", lines), root='generated="1" clover="3.2.0"')).files[
        "isLucky.js"
    ]
    assert a.branches == {2: (2, 2), 3: (1, 4), 4: (0, 2)}
    assert mask_lines(a.covered) == [2, 3]


def test_method_lines_are_not_statements(tmp_path: Path) -> None:
    lines = (
        '<line num="10" type="method" name="f" visibility="public" complexity="1" count="2"/>'
        '<line num="11" type="stmt" count="2"/>'
        '<line num="20" type="method" name="g" visibility="public" complexity="1" count="0"/>'
        '<line num="21" type="stmt" count="0"/>'
    )
    a = coverage_of(tmp_path, report(file("src/A.php", lines))).files["src/A.php"]
    assert mask_lines(a.statements) == [11, 21]  # as Clover's own statements="2"


def test_duplicate_lines_merge(tmp_path: Path) -> None:
    lines = '<line num="12" type="stmt" count="0"/><line num="12" type="stmt" count="1"/>'
    a = coverage_of(tmp_path, report(file("m.cpp", lines))).files["m.cpp"]
    assert (a.lines_covered, a.lines_total) == (1, 1)


def test_files_without_cond_lines_count_zero_branches_when_the_report_has_some(tmp_path: Path) -> None:
    files = file("a.js", '<line num="1" type="stmt" count="1"/>') + file(
        "b.js", '<line num="1" count="1" type="cond" truecount="1" falsecount="1"/>'
    )
    coverage = coverage_of(tmp_path, report(files))
    assert coverage.files["a.js"].branches == {}


def test_testproject_is_not_read(tmp_path: Path) -> None:
    xml = report(
        file("src/a.c", '<line num="1" type="stmt" count="1"/>'),
        test_files=file("tests/t.c", '<line num="1" type="stmt" count="0"/>'),
    )
    assert list(coverage_of(tmp_path, xml).files) == ["src/a.c"]


def test_file_name_when_there_is_no_path(tmp_path: Path) -> None:
    xml = report('<file name="./x.js"><line num="1" type="stmt" count="1"/></file>')
    assert list(coverage_of(tmp_path, xml).files) == ["x.js"]


def test_two_reports_merge_by_line(tmp_path: Path) -> None:
    one = write(
        tmp_path,
        report(file("a.js", '<line num="1" type="stmt" count="1"/><line num="2" type="stmt" count="0"/>')),
        "1.xml",
    )
    two = write(
        tmp_path,
        report(file("a.js", '<line num="1" type="stmt" count="0"/><line num="2" type="stmt" count="0"/>')),
        "2.xml",
    )
    result = metrics.compute(merge([read_report(one), read_report(two)]))
    assert (result["coverage.lines.covered"], result["coverage.lines.total"]) == (1, 2)


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        (
            '<coverage lines-valid="1"><sources/><packages/></coverage>',
            "not a Clover report: <coverage> holds <sources>",
        ),
        ("<coverage/>", "not a Clover report: no <project>"),
        ('<report name="r"/>', "not a Clover report: the root element is <report>"),
        ('<coverage clover="1"><project>', "malformed XML"),
    ],
)
def test_other_formats_are_refused_in_one_line(tmp_path: Path, xml: str, problem: str) -> None:
    with pytest.raises(InputError) as raised:
        read_report(write(tmp_path, xml), "clover")
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_absurd_line_number_refuses_the_report(tmp_path: Path) -> None:
    path = write(tmp_path, report(file("a.js", '<line num="100000000000" type="stmt" count="1"/>')))
    with pytest.raises(InputError, match="out of range"):
        read_report(path, "clover")
