"""coverage.py JSON reports and `.coverage` data files, including a real `coverage run --branch`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, mask_lines
from gatekeeper.parsers import merge, read_report
from gatekeeper.parsers.coveragepy import parse, parse_data_file


def write_json(tmp_path: Path, document: Any, name: str = "coverage.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def report(files: dict[str, Any], branch: bool = False, fmt: int = 3) -> dict[str, Any]:
    meta = {"format": fmt, "version": "7.6.0", "timestamp": "2025-01-01T00:00:00", "branch_coverage": branch}
    return {"meta": meta, "files": files, "totals": {}}


def coverage_of(tmp_path: Path, document: Any) -> Coverage:
    coverage = parse(write_json(tmp_path, document)).coverage
    assert coverage is not None
    return coverage


def test_statements_are_executed_and_missing_lines_not_excluded(tmp_path: Path) -> None:
    files = {"./pkg/a.py": {"executed_lines": [1, 2, 5], "missing_lines": [3], "excluded_lines": [4, 9]}}
    coverage = coverage_of(tmp_path, report(files, fmt=2))
    a = coverage.files["pkg/a.py"]
    assert (mask_lines(a.statements), mask_lines(a.covered)) == ([1, 2, 3, 5], [1, 2, 5])
    assert a.branches is None  # branch_coverage false: no branch data


def test_branch_arcs_count_per_source_line(tmp_path: Path) -> None:
    data = {
        "executed_lines": [1, 2, 3, 6, 7, 8, 10],
        "missing_lines": [4, 9],
        "executed_branches": [[2, 3], [7, 8], [7, 10], [8, 7]],
        "missing_branches": [[2, 4], [8, 9], [8, -6]],
    }
    a = coverage_of(tmp_path, report({"a.py": data, "b.py": {"executed_lines": [1]}}, branch=True))
    assert a.files["a.py"].branches == {2: (1, 2), 7: (2, 2), 8: (1, 3)}
    assert a.files["b.py"].branches == {}  # measured with --branch, no branch in this file


def test_only_non_negative_integers_of_a_line_list_are_line_numbers(tmp_path: Path) -> None:
    """A plain list of ints is taken whole; any odd member (bool, float, string, negative) is dropped."""
    files = {
        "plain.py": {"executed_lines": [1, 2, 3], "missing_lines": []},
        "odd.py": {"executed_lines": [1, True, 2.0, "3", -4, None, 5], "missing_lines": [False, 6]},
        "negative.py": {"executed_lines": [-1, 0], "missing_lines": {"not": "a list"}},
    }
    coverage = coverage_of(tmp_path, report(files))
    assert {path: mask_lines(f.statements) for path, f in coverage.files.items()} == {
        "plain.py": [1, 2, 3],
        "odd.py": [1, 5, 6],
        "negative.py": [0],
    }


def test_reports_before_meta_format_and_newer_formats_are_read(tmp_path: Path) -> None:
    files = {"a.py": {"executed_lines": [1], "missing_lines": [2], "executed_branches": 7}}
    old = {"meta": {"version": "6.5.0", "branch_coverage": True}, "files": files}  # coverage < 7.4.1
    coverage = coverage_of(tmp_path, old)
    assert coverage.files["a.py"].branches == {}  # a non-list of arcs is no arcs
    newer = report(files, fmt=4)
    evidence = parse(write_json(tmp_path, newer, "newer.json"))
    assert evidence.coverage is not None and evidence.coverage.files["a.py"].lines_total == 2
    assert evidence.notes == ("coverage.py JSON format 4 is newer than 3: read as format 3",)


def test_files_merge_by_line_across_reports(tmp_path: Path) -> None:
    one = write_json(tmp_path, report({"a.py": {"executed_lines": [1], "missing_lines": [2]}}), "1.json")
    two = write_json(tmp_path, report({"a.py": {"executed_lines": [], "missing_lines": [1, 2]}}), "2.json")
    result = metrics.compute(merge([read_report(one), read_report(two)]))
    assert (result["coverage.lines.covered"], result["coverage.lines.total"]) == (1, 2)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"version": "2.1.0", "runs": []}', "not a coverage.py JSON report: no meta.version or meta.format"),
        (
            '{"meta": {"tool": "x"}, "files": {}}',
            "not a coverage.py JSON report: no meta.version or meta.format",
        ),
        ('{"meta": {"format": 3}, "files": {"a.py": [1, 2]}}', "files['a.py'] is not an object"),
        ('{"meta": {"format": 3}, "files": {"a.py": {"executed_lines": [1]', "malformed JSON"),
    ],
)
def test_bad_json_is_refused_in_one_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "coverage.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        read_report(path, "coverage-json")
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


MODULE = """\
def sign(x):
    if x > 0:
        return 1
    elif x < 0:
        return -1
    return 0


def first_even(values):
    for v in values:
        if v % 2 == 0:
            return v
    return None


def unused():
    return "never"
"""

SCRIPT = """\
import shapes

shapes.sign(3)
shapes.sign(0)
shapes.first_even([1, 3, 4])
"""


def run_coverage(directory: Path, *arguments: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    subprocess.run(
        [sys.executable, "-m", "coverage", *arguments],
        cwd=directory,
        env=environment,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def measured(tmp_path: Path) -> Path:
    """A directory where a tiny module was measured with `coverage run --branch`, plus `coverage json`."""
    (tmp_path / "shapes.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "script.py").write_text(SCRIPT, encoding="utf-8")
    run_coverage(tmp_path, "run", "--branch", "script.py")
    run_coverage(tmp_path, "json", "-o", "coverage.json")
    return tmp_path


def coverage_py_totals(directory: Path) -> dict[str, float]:
    """What `coverage report` itself counts, from the totals of its JSON report."""
    totals = json.loads((directory / "coverage.json").read_text(encoding="utf-8"))["totals"]
    return {
        "coverage.lines.covered": totals["covered_lines"],
        "coverage.lines.total": totals["num_statements"],
        "coverage.branches.covered": totals["covered_branches"],
        "coverage.branches.total": totals["num_branches"],
    }


def headline(result: dict[str, float]) -> dict[str, float]:
    return {key: value for key, value in result.items() if not key.endswith(".percent")}


def test_a_real_json_report_matches_coverage_py_totals(measured: Path) -> None:
    result = metrics.compute(read_report(measured / "coverage.json").evidence)
    assert headline(result) == coverage_py_totals(measured)
    assert result["coverage.branches.total"] > 0 and result["coverage.lines.covered"] < result["coverage.lines.total"]


def test_a_real_data_file_matches_coverage_py_totals(measured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(measured)
    report_input = read_report(measured / ".coverage")
    assert report_input.format == "coverage-data"
    assert headline(metrics.compute(report_input.evidence)) == coverage_py_totals(measured)
    assert report_input.evidence.notes == ()


def test_data_file_with_some_sources_gone_counts_the_rest_with_a_note(
    measured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (measured / "script.py").unlink()
    monkeypatch.chdir(measured)
    evidence = parse_data_file(measured / ".coverage")
    assert evidence.coverage is not None
    assert [Path(name).name for name in evidence.coverage.files] == ["shapes.py"]
    assert any(
        "1 of 2 files" in note and "could not be analysed (source not found): not counted" in note
        for note in evidence.notes
    )


def test_data_file_with_no_source_left_is_an_input_error(measured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (measured / "script.py").unlink()
    (measured / "shapes.py").unlink()
    monkeypatch.chdir(measured)
    with pytest.raises(InputError) as raised:
        parse_data_file(measured / ".coverage")
    message = str(raised.value)
    assert "source files not found" in message and str(measured / ".coverage") in message
    assert "\n" not in message


def test_an_sqlite_file_that_is_not_coverage_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("create table people (name text)")
    connection.close()
    before = path.read_bytes()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as raised:
        read_report(path)  # detected as coverage-data by its SQLite header
    assert "not a coverage.py data file" in str(raised.value)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)
    assert path.read_bytes() == before  # coverage.py would have added its tables to it


def test_a_data_file_with_nothing_measured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import coverage

    data = coverage.CoverageData(basename=str(tmp_path / ".coverage"))
    data.add_lines({})  # creates the file with coverage.py's schema and no measured file
    data.write()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="holds no measured files"):
        parse_data_file(tmp_path / ".coverage")


def test_a_data_file_forced_on_a_text_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lcov.info"
    path.write_text("SF:a.c\nDA:1,1\nend_of_record\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as raised:
        read_report(path, "coverage-data")
    assert "\n" not in str(raised.value)


def test_an_absurd_line_number_refuses_the_report(tmp_path: Path) -> None:
    path = write_json(tmp_path, report({"a.py": {"executed_lines": [1, 10**12], "missing_lines": []}}))
    with pytest.raises(InputError, match="out of range"):
        read_report(path, "coverage-json")
