"""Go coverprofile -> line coverage, and the boundary-line rule of the module docstring."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, FileCoverage, mask_lines
from gatekeeper.parsers import merge, read_report
from gatekeeper.parsers.coverprofile import parse

PKG = "github.com/acme/app"


def write(tmp_path: Path, text: str, name: str = "cover.out") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def coverage_of(tmp_path: Path, text: str) -> Coverage:
    coverage = parse(write(tmp_path, text)).coverage
    assert coverage is not None
    return coverage


def one_file(tmp_path: Path, blocks: str, mode: str = "set") -> FileCoverage:
    coverage = coverage_of(tmp_path, f"mode: {mode}\n{blocks}")
    (file,) = coverage.files.values()
    return file


def test_every_line_of_a_block_is_a_statement(tmp_path: Path) -> None:
    file = one_file(tmp_path, f"{PKG}/a.go:3.20,6.2 3 1\n{PKG}/a.go:8.20,9.2 1 0\n")
    assert file.path == f"{PKG}/a.go"  # import path kept as given
    assert mask_lines(file.statements) == [3, 4, 5, 6, 8, 9]
    assert mask_lines(file.covered) == [3, 4, 5, 6]
    assert file.branches is None


def test_a_boundary_line_is_covered_when_any_block_on_it_ran(tmp_path: Path) -> None:
    # 464  func cleanPath(p string) string {
    # 465      if p == "" {        <- the condition block ends at the "{", the body block starts there
    # 466          return "/"
    # 467      }
    # 468      ...
    blocks = f"{PKG}/mux.go:464.33,465.13 1 1\n{PKG}/mux.go:465.13,467.3 1 0\n{PKG}/mux.go:468.2,468.17 1 1\n"
    file = one_file(tmp_path, blocks)
    assert mask_lines(file.statements) == [464, 465, 466, 467, 468]
    assert mask_lines(file.covered) == [464, 465, 468]  # gocover-cobertura would miss 465 too


def test_a_covered_block_starting_on_a_missed_blocks_last_line(tmp_path: Path) -> None:
    # 10  if x {      (ran)        11  a()  (never)   12  } else {   13  b()  (ran)   14  }
    blocks = f"{PKG}/a.go:9.2,10.7 1 1\n{PKG}/a.go:10.7,12.3 1 0\n{PKG}/a.go:12.9,14.3 1 1\n"
    file = one_file(tmp_path, blocks)
    assert mask_lines(file.covered) == [9, 10, 12, 13, 14]
    assert mask_lines(file.statements) == [9, 10, 11, 12, 13, 14]


def test_blocks_without_statements_are_not_lines(tmp_path: Path) -> None:
    file = one_file(tmp_path, f"{PKG}/a.go:1.10,1.12 0 1\n{PKG}/a.go:3.1,3.9 1 0\n")
    assert (mask_lines(file.statements), mask_lines(file.covered)) == ([3], [])


def test_repeated_blocks_from_several_test_binaries_merge_by_or(tmp_path: Path) -> None:
    text = (
        "mode: count\n"
        f"{PKG}/a.go:9.30,10.13 1 0\n{PKG}/b.go:1.1,1.9 1 1\n"
        f"{PKG}/a.go:9.30,10.13 1 7\n{PKG}/a.go:12.3,13.2 1 0\n"
        "mode: count\n"  # concatenated profiles repeat the header
        f"{PKG}/a.go:12.3,13.2 1 0\n"
    )
    file = coverage_of(tmp_path, text).files[f"{PKG}/a.go"]
    assert mask_lines(file.covered) == [9, 10]
    assert mask_lines(file.statements) == [9, 10, 12, 13]


def test_atomic_mode_and_huge_counts(tmp_path: Path) -> None:
    file = one_file(tmp_path, f"{PKG}/a.go:1.1,1.9 1 2874063630\n", mode="atomic")
    assert file.lines_covered == 1


def test_two_profiles_merge_by_line(tmp_path: Path) -> None:
    one = write(tmp_path, f"mode: set\n{PKG}/a.go:1.1,2.2 1 1\n{PKG}/a.go:3.1,3.5 1 0\n", "1.out")
    two = write(tmp_path, f"mode: set\n{PKG}/a.go:1.1,2.2 1 0\n{PKG}/a.go:3.1,3.5 1 0\n", "2.out")
    result = metrics.compute(merge([read_report(one), read_report(two)]))
    assert (result["coverage.lines.covered"], result["coverage.lines.total"]) == (2, 3)
    assert "coverage.branches.total" not in result


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "SF:a.c\nDA:1,1\nend_of_record\n",
            "not a Go coverprofile: the first line is not 'mode: set|count|atomic'",
        ),
        ("<testsuites/>\n", "not a Go coverprofile"),
        ("mode: fancy\n", "unknown mode 'fancy'"),
        ("\n\n", "not a Go coverprofile: the file is empty"),
        ("mode: set\na.go:1.1,2.2 one 1\n", "line 2 is not a coverprofile block"),
        ("mode: set\na.go:5.1,2.2 1 1\n", "line 2 is not a coverprofile block"),
        ("mode: set\njunk\n", "line 2 is not a coverprofile block"),
    ],
)
def test_bad_input_is_refused_in_one_line(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(InputError) as raised:
        read_report(write(tmp_path, text), "coverprofile")
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_absurd_line_number_refuses_the_report(tmp_path: Path) -> None:
    path = write(tmp_path, f"mode: set\n{PKG}/a.go:1.1,99999999999.2 1 1\n")
    with pytest.raises(InputError, match="line 2: line number 99999999999 is out of range"):
        read_report(path, "coverprofile")
