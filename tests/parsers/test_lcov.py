"""LCOV counting rules (1.x and 2.x records), one small inline tracefile per rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, Evidence, mask_lines
from gatekeeper.parsers import merge, read_report
from gatekeeper.parsers.lcov import parse


def write(tmp_path: Path, text: str, name: str = "lcov.info") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read(tmp_path: Path, text: str) -> Evidence:
    return parse(write(tmp_path, text))


def coverage_of(tmp_path: Path, text: str) -> Coverage:
    coverage = read(tmp_path, text).coverage
    assert coverage is not None
    return coverage


def test_lines_from_da_records_not_lf_lh(tmp_path: Path) -> None:
    text = "TN:\nSF:src/a.c\nDA:1,4\nDA:2,0\nDA:7,1,d41d8cd98f00b204e9800998ecf8427e\nLF:10\nLH:9\n"
    text += "end_of_record\n"
    a = coverage_of(tmp_path, text).files["src/a.c"]
    assert (mask_lines(a.statements), mask_lines(a.covered)) == ([1, 2, 7], [1, 7])
    assert a.branches is None  # no BRDA/BRF in the file: no branch data


def test_brda_per_line_and_dash_means_not_taken(tmp_path: Path) -> None:
    text = (
        "SF:a.c\nDA:3,5\nDA:7,2\n"
        "BRDA:3,0,0,4\nBRDA:3,0,1,1\nBRDA:3,1,2,0\nBRDA:7,8,0,-\nBRDA:7,8,1,2\n"
        "BRF:5\nBRH:3\nend_of_record\n"
    )
    assert coverage_of(tmp_path, text).files["a.c"].branches == {3: (2, 3), 7: (1, 2)}


def test_brda_with_an_lcov2_expression_branch(tmp_path: Path) -> None:
    text = "SF:a.c\nDA:3,1\nBRDA:3,e0,(x > 1) && (y, z),7\nend_of_record\n"
    assert coverage_of(tmp_path, text).files["a.c"].branches == {3: (1, 1)}


def test_function_records_version_and_stray_lines_are_skipped(tmp_path: Path) -> None:
    text = (
        "\nTN:t\nSF:./lib/x.cpp\nVER:abc\nFNL:0,14,16\nFNA:0,2,_ZN1x\nFN:3,f\nFNDA:1,f\nFNF:1\nFNH:1\n"
        "DA:3,1\nend_of_record   \nEOF\n"
    )
    coverage = coverage_of(tmp_path, text)
    assert list(coverage.files) == ["lib/x.cpp"]
    assert coverage.files["lib/x.cpp"].lines_total == 1


def test_huge_hit_counts_and_crlf(tmp_path: Path) -> None:
    text = "SF:/tmp/big.c\r\nDA:1,2874063630\r\nDA:2,0\r\nBRDA:1,0,0,2874063630\r\nend_of_record\r\n"
    big = coverage_of(tmp_path, text).files["/tmp/big.c"]
    assert (big.lines_covered, big.lines_total, big.branches) == (1, 2, {1: (1, 1)})


def test_a_record_with_lf_0_and_no_da_is_a_file_with_no_statements(tmp_path: Path) -> None:
    text = "SF:empty.cpp\nFNF:0\nFNH:0\nBRF:0\nBRH:0\nLH:0\nLF:0\nend_of_record\n"
    text += "SF:a.cpp\nDA:1,1\nend_of_record\n"
    coverage = coverage_of(tmp_path, text)
    assert coverage.files["empty.cpp"].lines_total == 0
    # BRF present: the tracefile has branch data, and both files have 0 branches
    assert metrics.compute(Evidence(coverage=coverage))["coverage.branches.total"] == 0


def test_records_of_one_file_merge_by_line(tmp_path: Path) -> None:
    text = "SF:a.c\nDA:1,1\nDA:2,0\nend_of_record\nSF:a.c\nDA:1,0\nDA:2,0\nDA:3,1\nend_of_record\n"
    a = coverage_of(tmp_path, text).files["a.c"]
    assert (mask_lines(a.statements), mask_lines(a.covered)) == ([1, 2, 3], [1, 3])


def test_two_tracefiles_merge_by_line_not_by_average(tmp_path: Path) -> None:
    one = write(tmp_path, "SF:a.c\nDA:1,1\nDA:2,0\nend_of_record\n", "1.info")
    two = write(tmp_path, "SF:a.c\nDA:1,0\nDA:2,0\nend_of_record\n", "2.info")
    result = metrics.compute(merge([read_report(one), read_report(two)]))
    assert (result["coverage.lines.covered"], result["coverage.lines.total"]) == (1, 2)


def test_a_missing_end_of_record_is_read_with_a_note(tmp_path: Path) -> None:
    evidence = read(tmp_path, "SF:a.c\nDA:1,1\nSF:b.c\nDA:1,0\n")
    assert evidence.coverage is not None
    assert sorted(evidence.coverage.files) == ["a.c", "b.c"]
    assert len(evidence.notes) == 2
    assert any("truncated" in note for note in evidence.notes)


def test_malformed_records_are_skipped_with_a_note(tmp_path: Path) -> None:
    evidence = read(tmp_path, "SF:a.c\nDA:x,1\nDA:2,1\nBRDA:,0,0,1\nend_of_record\n")
    assert evidence.coverage is not None
    assert evidence.coverage.files["a.c"].lines_total == 1
    assert any("2 malformed" in note and "line 2" in note for note in evidence.notes)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('<?xml version="1.0"?>\n<testsuites/>\n', "not an LCOV tracefile: line 1 is not an LCOV record"),
        ("mode: set\na.go:1.1,2.2 1 1\n", "not an LCOV tracefile: line 1"),
        ('{"meta": {}}', "not an LCOV tracefile: line 1"),
        ("\n\n", "not an LCOV tracefile: no SF: record"),
        ("TN:\n", "not an LCOV tracefile: no SF: record"),
    ],
)
def test_other_formats_are_refused_in_one_line(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(InputError) as raised:
        read_report(write(tmp_path, text), "lcov")
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_absurd_line_number_refuses_the_report(tmp_path: Path) -> None:
    path = write(tmp_path, "SF:a.c\nDA:99999999999,1\nend_of_record\n")
    with pytest.raises(InputError, match="line 2: line number 99999999999 is out of range"):
        read_report(path, "lcov")
