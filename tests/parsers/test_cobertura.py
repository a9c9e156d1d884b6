"""Cobertura counting rules, one small inline report per rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, CoverageTotals, Evidence, mask_lines
from gatekeeper.parsers import merge, read_report
from gatekeeper.parsers._coverage import positive
from gatekeeper.parsers.cobertura import condition_coverage, parse


def write(tmp_path: Path, xml: str, name: str = "coverage.xml") -> Path:
    path = tmp_path / name
    path.write_text(xml, encoding="utf-8")
    return path


def coverage_of(tmp_path: Path, xml: str, name: str = "coverage.xml") -> Coverage:
    evidence = parse(write(tmp_path, xml, name))
    assert evidence.coverage is not None
    return evidence.coverage


def report(*classes: str, root: str = "") -> str:
    return f"""<?xml version="1.0" ?>
    <coverage version="7.0" {root}><packages><package name="p"><classes>
    {"".join(classes)}
    </classes></package></packages></coverage>"""


def klass(filename: str, lines: str, methods: str = "") -> str:
    return f'<class name="c" filename="{filename}"><methods>{methods}</methods><lines>{lines}</lines></class>'


def test_lines_are_statements_covered_when_hits_above_zero(tmp_path: Path) -> None:
    coverage = coverage_of(
        tmp_path,
        report(klass("a.py", '<line number="1" hits="3"/><line number="2" hits="0"/><line number="5" hits="1"/>')),
    )
    file = coverage.files["a.py"]
    assert mask_lines(file.statements) == [1, 2, 5]
    assert mask_lines(file.covered) == [1, 5]
    assert file.branches is None


def test_method_lines_are_never_counted_twice(tmp_path: Path) -> None:
    lines = '<line number="1" hits="1"/><line number="2" hits="0"/>'
    method = f'<method name="m" signature="()"><lines>{lines}</lines></method>'
    coverage = coverage_of(tmp_path, report(klass("A.cs", lines, method)))
    file = coverage.files["A.cs"]
    assert (file.lines_covered, file.lines_total) == (1, 2)


def test_lines_only_under_a_method_are_not_counted(tmp_path: Path) -> None:
    method = '<method name="m" signature="()"><lines><line number="9" hits="1"/></lines></method>'
    coverage = coverage_of(tmp_path, report(klass("A.cs", '<line number="1" hits="1"/>', method)))
    assert mask_lines(coverage.files["A.cs"].statements) == [1]


def test_a_class_ends_where_the_next_begins_or_the_document_ends(tmp_path: Path) -> None:
    """No end tags are watched outside methods: each class's lines must still stay its own."""
    method = '<method name="m" signature="()"><lines><line number="7" hits="1"/></lines></method>'
    first = '<class name="a" filename="a.py"><lines><line number="1" hits="1"/></lines></class>'
    bare_method = (  # a <method> straight under the class, with no <methods> around it
        f'<class name="b" filename="b.py"><lines><line number="2" hits="0"/></lines>{method}'
        '<lines><line number="3" hits="4"/></lines></class>'
    )
    coverage = coverage_of(tmp_path, report(first, bare_method, klass("c.py", '<line number="5" hits="1"/>', method)))
    assert {path: mask_lines(f.statements) for path, f in coverage.files.items()} == {
        "a.py": [1],
        "b.py": [2, 3],
        "c.py": [5],
    }
    assert mask_lines(coverage.files["b.py"].covered) == [3]


def test_lines_outside_any_class_are_not_counted(tmp_path: Path) -> None:
    xml = (
        '<coverage version="7.0"><packages><package name="p"><lines><line number="1" hits="1"/></lines>'
        '<classes><class name="a" filename="a.py"><lines><line number="2" hits="1"/></lines></class>'
        "</classes></package></packages></coverage>"
    )
    assert {path: mask_lines(f.statements) for path, f in coverage_of(tmp_path, xml).files.items()} == {"a.py": [2]}


def test_classes_of_one_file_merge_by_line(tmp_path: Path) -> None:
    coverage = coverage_of(
        tmp_path,
        report(
            klass("Outer.java", '<line number="1" hits="1"/><line number="2" hits="0"/>'),
            klass("Outer.java", '<line number="2" hits="4"/><line number="3" hits="0"/>'),
        ),
    )
    file = coverage.files["Outer.java"]
    assert mask_lines(file.statements) == [1, 2, 3]
    assert mask_lines(file.covered) == [1, 2]


def test_a_line_repeated_in_one_class_is_covered_if_any_copy_is(tmp_path: Path) -> None:
    # gcovr writes line 12 twice, hits 0 and hits 1 (two template instances)
    coverage = coverage_of(tmp_path, report(klass("m.cpp", '<line number="12" hits="0"/><line number="12" hits="1"/>')))
    file = coverage.files["m.cpp"]
    assert (file.lines_covered, file.lines_total) == (1, 1)


@pytest.mark.parametrize(
    ("hits", "covered"),
    [
        ("0", False),
        ("1", True),
        ("2874063630", True),
        ("1.0", True),
        ("0.0", False),
        ("-1", False),
        ("", False),
        ("junk", False),
        ("1e3", True),
        ("nan", False),
    ],
)
def test_hits_are_parsed_robustly(hits: str, covered: bool) -> None:
    assert positive(hits) is covered


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("50% (1/2)", (1, 2)),
        ("100% (4/4)", (4, 4)),
        ("0% (0/1)", (0, 1)),
        ("50%", None),
        ("", None),
        ("(3/2)", None),
        ("x (a/b)", None),
        ("0% (0/0)", None),
    ],
)
def test_condition_coverage(text: str, counts: tuple[int, int] | None) -> None:
    assert condition_coverage(text) == counts


def test_branches_from_condition_coverage(tmp_path: Path) -> None:
    coverage = coverage_of(
        tmp_path,
        report(
            klass(
                "foo.py",
                '<line number="1" hits="1"/>'
                '<line number="2" hits="1" branch="true" condition-coverage="50% (1/2)"'
                ' missing-branches="exit"/>'
                '<line number="3" hits="1" branch="True" condition-coverage="100% (4/4)"/>',
            )
        ),
    )
    assert coverage.files["foo.py"].branches == {2: (1, 2), 3: (4, 4)}


def test_a_branch_line_without_counts_is_a_statement_with_no_branches_counted(tmp_path: Path) -> None:
    coverage = coverage_of(
        tmp_path,
        report(
            klass(
                "f.py",
                '<line number="1" hits="1" branch="true" condition-coverage="50%"/>'
                '<line number="2" hits="0" branch="true"/>',
            )
        ),
    )
    file = coverage.files["f.py"]
    assert (file.lines_covered, file.lines_total) == (1, 2)
    assert file.branches == {}  # the report has branch data, but none we can count here


def test_branch_false_everywhere_means_branch_data_with_no_branches(tmp_path: Path) -> None:
    coverage = coverage_of(tmp_path, report(klass("S.cs", '<line number="1" hits="1" branch="false"/>')))
    assert coverage.files["S.cs"].branches == {}
    assert metrics.compute(Evidence(coverage=coverage))["coverage.branches.total"] == 0


def test_no_branch_attribute_anywhere_means_no_branch_data(tmp_path: Path) -> None:
    coverage = coverage_of(tmp_path, report(klass("a.rb", '<line number="1" hits="1"/>')))
    assert "coverage.branches.total" not in metrics.compute(Evidence(coverage=coverage))


def test_files_without_branch_lines_count_zero_branches_when_the_report_has_branch_data(
    tmp_path: Path,
) -> None:
    coverage = coverage_of(
        tmp_path,
        report(
            klass("a.py", '<line number="1" hits="1"/>'),
            klass("b.py", '<line number="1" hits="1" branch="true" condition-coverage="50% (1/2)"/>'),
        ),
    )
    assert coverage.files["a.py"].branches == {}
    assert coverage.files["b.py"].branches == {1: (1, 2)}


def test_paths_are_normalised(tmp_path: Path) -> None:
    coverage = coverage_of(tmp_path, report(klass(r".\src\win.cs", '<line number="1" hits="1"/>')))
    assert list(coverage.files) == ["src/win.cs"]


def test_totals_only_report(tmp_path: Path) -> None:
    evidence = parse(
        write(
            tmp_path,
            '<coverage line-rate="0.77" lines-covered="63" lines-valid="82"'
            ' branches-covered="0" branches-valid="0" version="0.4"></coverage>',
        )
    )
    assert evidence.coverage == Coverage(files={}, totals_only=CoverageTotals(lines_covered=63, lines_total=82))
    assert any("totals only" in note for note in evidence.notes)


def test_totals_only_report_with_branch_totals(tmp_path: Path) -> None:
    evidence = parse(
        write(tmp_path, '<coverage lines-covered="5" lines-valid="10" branches-covered="1" branches-valid="4"/>')
    )
    assert evidence.coverage is not None
    assert evidence.coverage.totals_only == CoverageTotals(
        lines_covered=5, lines_total=10, branches_covered=1, branches_total=4
    )


def test_an_empty_report_is_zero_lines_not_totals(tmp_path: Path) -> None:
    coverage = coverage_of(tmp_path, '<coverage lines-valid="0" lines-covered="0"><packages/></coverage>')
    assert coverage == Coverage(files={})


def test_two_reports_merge_by_line_not_by_average(tmp_path: Path) -> None:
    first = write(tmp_path, report(klass("a.py", '<line number="1" hits="1"/><line number="2" hits="0"/>')), "1.xml")
    second = write(tmp_path, report(klass("a.py", '<line number="1" hits="0"/><line number="2" hits="0"/>')), "2.xml")
    merged = merge([read_report(first), read_report(second)])
    result = metrics.compute(merged)
    assert (result["coverage.lines.covered"], result["coverage.lines.total"]) == (1, 2)


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        (
            '<report name="x"><package name="p"/></report>',
            "not a Cobertura report: the root element is <report>",
        ),
        (
            '<testsuites><testsuite name="s"/></testsuites>',
            "not a Cobertura report: the root element is <testsuites>",
        ),
        (
            '<coverage generated="1" clover="4.4.1"><project/></coverage>',
            "not a Cobertura report: it is a Clover",
        ),
        ("<coverage><project/></coverage>", "not a Cobertura report: it is a Clover"),
        ("<coverage><packages>", "malformed XML"),
    ],
)
def test_other_formats_are_refused_in_one_line(tmp_path: Path, xml: str, problem: str) -> None:
    path = write(tmp_path, xml)
    with pytest.raises(InputError) as raised:
        read_report(path, "cobertura")
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_absurd_line_number_refuses_the_report(tmp_path: Path) -> None:
    path = write(tmp_path, report(klass("a.py", '<line number="99999999999" hits="1"/>')))
    with pytest.raises(InputError, match="line number 99999999999 is out of range"):
        read_report(path, "cobertura")


def test_a_line_numbered_below_one_is_no_line_and_is_noted(tmp_path: Path) -> None:
    """Cobertura's lines, like every editor's, start at 1: line 0 (or -2, or none) is skipped, not counted."""
    lines = '<line number="0" hits="1"/><line number="-2" hits="0"/><line hits="1"/><line number="3" hits="1"/>'
    evidence = parse(write(tmp_path, report(klass("a.py", lines))))
    assert evidence.coverage is not None
    file = evidence.coverage.files["a.py"]
    assert (mask_lines(file.statements), mask_lines(file.covered)) == ([3], [3])
    assert evidence.notes == (
        "3 <line> elements numbered below 1 or not at all (the first: number='0') not counted: "
        "Cobertura's lines start at 1",
    )


def test_hits_that_are_no_count_are_not_covered_and_noted(tmp_path: Path) -> None:
    """A negative or junk hit count reads as 0, as a missing one does, but not silently."""
    lines = '<line number="1" hits="-3"/><line number="2" hits="junk"/><line number="3" hits="nan"/>'
    lines += '<line number="4" hits="0"/><line number="5" hits="1.0"/><line number="6"/>'
    evidence = parse(write(tmp_path, report(klass("a.py", lines))))
    assert evidence.coverage is not None
    file = evidence.coverage.files["a.py"]
    assert (mask_lines(file.statements), mask_lines(file.covered)) == ([1, 2, 3, 4, 5, 6], [5])
    assert evidence.notes == (
        "3 <line> elements with hits that is no count (the first: hits='-3') counted as not covered",
    )


def test_classes_without_any_line_fall_back_to_root_totals(tmp_path: Path) -> None:
    coverage = coverage_of(tmp_path, report(klass("a.py", ""), root='lines-valid="10" lines-covered="12"'))
    # no per-line data at all; lines-covered above lines-valid is clamped, never over 100 %
    assert coverage == Coverage(files={}, totals_only=CoverageTotals(lines_covered=10, lines_total=10))


def test_root_totals_that_disagree_with_the_entries_are_noted_and_the_entries_counted(tmp_path: Path) -> None:
    """coverage.py's two `<source>` roots with a same-named file: the root counts both files, the entries one."""
    lines = '<line number="1" hits="1"/><line number="2" hits="1" branch="true" condition-coverage="50% (1/2)"/>'
    root = 'lines-valid="3" lines-covered="3" branches-valid="2" branches-covered="1"'
    evidence = parse(write(tmp_path, report(klass("__init__.py", lines), root=root)))
    assert evidence.notes == (
        "Cobertura root totals disagree with its <class> entries (lines-valid=3 but its entries hold 2; "
        "lines-covered=3 but its entries hold 2): the entries are counted",
    )
    counted = metrics.compute(evidence)
    assert (counted["coverage.lines.covered"], counted["coverage.lines.total"]) == (2, 2)


def test_root_totals_that_agree_or_are_not_given_add_no_note(tmp_path: Path) -> None:
    lines = '<line number="1" hits="1"/><line number="2" hits="0"/>'
    assert parse(write(tmp_path, report(klass("a.py", lines), root='lines-valid="2" lines-covered="1"'))).notes == ()
    assert parse(write(tmp_path, report(klass("a.py", lines)))).notes == ()


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # (covered lines + covered branches) / (lines + branches): (1 + 1) / (2 + 2) = 50
        ('<line number="1" hits="1" branch="true" condition-coverage="50% (1/2)"/><line number="2" hits="0"/>', 50.0),
        # no branch data: lines alone, 1 / 2
        ('<line number="1" hits="1"/><line number="2" hits="0"/>', 50.0),
        # branches 2/2 and lines 1/2: (1 + 2) / (2 + 2) = 75
        ('<line number="1" hits="1" branch="true" condition-coverage="100% (2/2)"/><line number="2" hits="0"/>', 75.0),
    ],
)
def test_coverage_percent_counts_lines_and_branches_together(tmp_path: Path, lines: str, expected: float) -> None:
    counted = metrics.compute(parse(write(tmp_path, report(klass("a.py", lines)))))
    assert counted["coverage.percent"] == pytest.approx(expected)
