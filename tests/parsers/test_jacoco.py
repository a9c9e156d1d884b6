"""JaCoCo counting rules, one small inline report per rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, CoverageTotals, mask_lines
from gatekeeper.parsers import merge, read_report
from gatekeeper.parsers.jacoco import parse, source_path


def write(tmp_path: Path, xml: str, name: str = "jacoco.xml") -> Path:
    path = tmp_path / name
    path.write_text(xml, encoding="utf-8")
    return path


def coverage_of(tmp_path: Path, xml: str) -> Coverage:
    evidence = parse(write(tmp_path, xml))
    assert evidence.coverage is not None
    return evidence.coverage


def report(body: str, package: str = "org/acme") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">
    <report name="r"><sessioninfo id="s" start="1" dump="2"/>
    <package name="{package}">{body}</package></report>"""


def sourcefile(name: str, lines: str, counters: str = "") -> str:
    return f'<sourcefile name="{name}">{lines}{counters}</sourcefile>'


def test_statement_when_instructions_covered_when_ci(tmp_path: Path) -> None:
    lines = (
        '<line nr="3" mi="0" ci="3" mb="0" cb="0"/>'
        '<line nr="4" mi="3" ci="0" mb="0" cb="0"/>'
        '<line nr="5" mi="1" ci="2" mb="0" cb="0"/>'
        '<line nr="6" mi="0" ci="0" mb="0" cb="0"/>'
    )
    coverage = coverage_of(tmp_path, report(sourcefile("Foo.java", lines)))
    file = coverage.files["org/acme/Foo.java"]
    assert mask_lines(file.statements) == [3, 4, 5]  # line 6 has no instructions: no code
    assert mask_lines(file.covered) == [3, 5]  # partly covered line 5 is covered (JaCoCo's LINE rule)


def test_branches_from_mb_cb(tmp_path: Path) -> None:
    lines = '<line nr="3" mi="0" ci="3" mb="1" cb="1"/><line nr="4" mi="0" ci="3" mb="0" cb="4"/>'
    coverage = coverage_of(tmp_path, report(sourcefile("Foo.java", lines)))
    assert coverage.files["org/acme/Foo.java"].branches == {3: (1, 2), 4: (4, 4)}


def test_class_and_method_counters_do_not_add_lines(tmp_path: Path) -> None:
    klass = (
        '<class name="org/acme/Foo" sourcefilename="Foo.java"><method name="m" desc="()V" line="3">'
        '<counter type="LINE" missed="5" covered="5"/></method>'
        '<counter type="LINE" missed="5" covered="5"/></class>'
    )
    coverage = coverage_of(tmp_path, report(klass + sourcefile("Foo.java", '<line nr="3" mi="0" ci="1"/>')))
    assert coverage.totals_only is None
    assert coverage.files["org/acme/Foo.java"].lines_total == 1


def test_default_package_gives_the_bare_name(tmp_path: Path) -> None:
    coverage = coverage_of(tmp_path, report(sourcefile("Example.java", '<line nr="1" mi="0" ci="3"/>'), package=""))
    assert list(coverage.files) == ["Example.java"]


@pytest.mark.parametrize(
    ("package", "name", "path"),
    [
        ("org/acme", "Foo.java", "org/acme/Foo.java"),
        ("", "Foo.java", "Foo.java"),
        ("fooDirectory/#_child", "#_child/Invoke.ps1", "fooDirectory/#_child/Invoke.ps1"),  # Pester
        ("a/b", "c/F.ps1", "a/b/c/F.ps1"),
    ],
)
def test_source_path(package: str, name: str, path: str) -> None:
    assert source_path(package, name) == path


def test_no_branch_data_without_branches_or_branch_counter(tmp_path: Path) -> None:
    coverage = coverage_of(tmp_path, report(sourcefile("a.ps1", '<line nr="1" mi="0" ci="1" mb="0" cb="0"/>')))
    assert coverage.files["org/acme/a.ps1"].branches is None


def test_a_branch_counter_elsewhere_gives_every_file_branch_data(tmp_path: Path) -> None:
    body = sourcefile("A.java", '<line nr="1" mi="0" ci="1" mb="1" cb="1"/>') + sourcefile(
        "B.java", '<line nr="1" mi="0" ci="1"/>'
    )
    coverage = coverage_of(tmp_path, report(body))
    assert coverage.files["org/acme/B.java"].branches == {}


def test_lines_without_mi_ci_fall_back_to_the_sourcefile_counters(tmp_path: Path) -> None:
    # gcovr: <line nr> without mi/ci; the LINE counter (9) is not the number of <line>s (4)
    lines = '<line nr="2"/><line nr="3" mb="1" cb="1"/><line nr="4"/><line nr="5"/>'
    counters = '<counter type="LINE" missed="2" covered="7"/><counter type="BRANCH" missed="1" covered="1"/>'
    evidence = parse(write(tmp_path, report(sourcefile("foo.cpp", lines, counters))))
    assert evidence.coverage == Coverage(
        files={},
        totals_only=CoverageTotals(lines_covered=7, lines_total=9, branches_covered=1, branches_total=2),
    )
    assert any("without mi/ci" in note for note in evidence.notes)


def test_report_counters_only(tmp_path: Path) -> None:
    xml = (
        '<report name="r"><counter type="INSTRUCTION" missed="7" covered="13"/>'
        '<counter type="LINE" missed="3" covered="6"/>'
        '<counter type="BRANCH" missed="1" covered="1"/></report>'
    )
    evidence = parse(write(tmp_path, xml))
    assert evidence.coverage == Coverage(
        files={},
        totals_only=CoverageTotals(lines_covered=6, lines_total=9, branches_covered=1, branches_total=2),
    )
    assert any("totals only" in note for note in evidence.notes)


def test_package_counters_are_not_report_totals(tmp_path: Path) -> None:
    xml = '<report name="r"><package name="p"><counter type="LINE" missed="3" covered="6"/></package></report>'
    assert coverage_of(tmp_path, xml) == Coverage(files={})


def test_two_reports_merge_by_line(tmp_path: Path) -> None:
    first = write(
        tmp_path,
        report(sourcefile("F.java", '<line nr="1" mi="0" ci="1"/><line nr="2" mi="1" ci="0"/>')),
        "1.xml",
    )
    second = write(
        tmp_path,
        report(sourcefile("F.java", '<line nr="1" mi="1" ci="0"/><line nr="2" mi="1" ci="0"/>')),
        "2.xml",
    )
    result = metrics.compute(merge([read_report(first), read_report(second)]))
    assert (result["coverage.lines.covered"], result["coverage.lines.total"]) == (1, 2)


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        (
            '<coverage lines-valid="1"><packages/></coverage>',
            "not a JaCoCo report: the root element is <coverage>",
        ),
        ('<testsuite name="s"/>', "not a JaCoCo report: the root element is <testsuite>"),
        ('<report name="r"><package name="p">', "malformed XML"),
    ],
)
def test_other_formats_are_refused_in_one_line(tmp_path: Path, xml: str, problem: str) -> None:
    with pytest.raises(InputError) as raised:
        read_report(write(tmp_path, xml), "jacoco")
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_absurd_line_number_refuses_the_report(tmp_path: Path) -> None:
    path = write(tmp_path, report(sourcefile("A.java", '<line nr="1e12" mi="0" ci="1"/>')))
    with pytest.raises(InputError, match="out of range"):
        read_report(path, "jacoco")
