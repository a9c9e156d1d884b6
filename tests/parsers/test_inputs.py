"""Report arguments: files, directories, globs and FORMAT:PATH, expanded the way a CI user expects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatekeeper.errors import InputError, UsageError
from gatekeeper.parsers import expand, iter_reports, read_reports, split_forced_format

JUNIT = '<testsuite name="{name}"><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite>'


def junit(path: Path, name: str = "s") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(JUNIT.format(name=name), encoding="utf-8")
    return path


@pytest.fixture
def chdir_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("junit:out/results.xml", ("junit", "out/results.xml")),
        ("coverage-json:cov.json", ("coverage-json", "cov.json")),
        ("sarif:scans/**/*.sarif", ("sarif", "scans/**/*.sarif")),
        ("results.xml", (None, "results.xml")),
        ("C:\\build\\results.xml", (None, "C:\\build\\results.xml")),  # a drive letter is not a format
        ("./junit:x", (None, "./junit:x")),
    ],
)
def test_a_format_prefix_is_split_off(argument: str, expected: tuple[str | None, str]) -> None:
    assert split_forced_format(argument) == expected


def test_an_unknown_format_prefix_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as raised:
        split_forced_format("nope:file.xml")
    assert "unknown format 'nope'" in str(raised.value) and "junit" in str(raised.value)


def test_an_existing_file_with_a_colon_in_its_name_is_not_a_format(chdir_tmp: Path) -> None:
    junit(chdir_tmp / "report:2024.xml")
    assert split_forced_format("report:2024.xml") == (None, "report:2024.xml")


def test_files_keep_their_order_and_duplicates_are_dropped(chdir_tmp: Path) -> None:
    a, b = junit(chdir_tmp / "a.xml"), junit(chdir_tmp / "b.xml")
    found = expand(["b.xml", "a.xml", "./b.xml", str(b.resolve()), "sub/../a.xml"])
    assert [r.path.name for r in found] == ["b.xml", "a.xml"]
    assert all(r.explicit and r.forced_format is None for r in found)
    assert a.exists()


def test_directories_are_walked_sorted_skipping_hidden_directories(chdir_tmp: Path) -> None:
    for name in ("z/TEST-2.xml", "a/TEST-1.xml", ".git/TEST-hidden.xml", "a/.hidden-file.xml"):
        junit(chdir_tmp / "build" / name)
    found = expand(["build"])
    assert [r.path.relative_to("build").as_posix() for r in found] == [
        "a/.hidden-file.xml",  # hidden files can be reports (.coverage is one); hidden directories are not
        "a/TEST-1.xml",
        "z/TEST-2.xml",
    ]
    assert not any(r.explicit for r in found)


def test_recursive_globs_expand_and_carry_a_forced_format(chdir_tmp: Path) -> None:
    for name in ("m1/target/reports/TEST-a.xml", "m2/target/reports/TEST-b.xml", "m2/pom.xml"):
        junit(chdir_tmp / name)
    found = expand(["junit:**/TEST-*.xml"])
    assert [r.path.name for r in found] == ["TEST-a.xml", "TEST-b.xml"]
    assert all(r.forced_format == "junit" and r.explicit for r in found)


def test_a_glob_matching_a_directory_walks_it(chdir_tmp: Path) -> None:
    junit(chdir_tmp / "m1" / "test-results" / "r.xml")
    assert [r.path.name for r in expand(["*/test-results"])] == ["r.xml"]


def test_a_glob_that_matches_nothing_is_an_input_error(chdir_tmp: Path) -> None:
    with pytest.raises(InputError, match=r"^reports/\*\*/\*\.xml: no files match this pattern$"):
        expand(["reports/**/*.xml"])


def test_a_walk_skips_files_that_are_not_reports(chdir_tmp: Path) -> None:
    junit(chdir_tmp / "out" / "results.xml")
    (chdir_tmp / "out" / "README.md").write_text("# not a report\n", encoding="utf-8")
    (chdir_tmp / "out" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00")
    (chdir_tmp / "out" / "other.xml").write_text("<project/>", encoding="utf-8")
    (chdir_tmp / "out" / "broken-prolog.xml").write_text("<?xml <<", encoding="utf-8")
    (chdir_tmp / "out" / "dangling").symlink_to(chdir_tmp / "nowhere")
    os.mkfifo(chdir_tmp / "out" / "pipe")  # opening it would block forever
    reports = read_reports(["out"])
    assert [(Path(r.path).name, r.format) for r in reports] == [("results.xml", "junit")]


def test_a_recognised_but_broken_report_in_a_walk_is_an_error_not_skipped(chdir_tmp: Path) -> None:
    junit(chdir_tmp / "out" / "a.xml")
    (chdir_tmp / "out" / "b.xml").write_text('<testsuite name="s"><testcase name="t">', encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.xml: malformed XML .* ends early"):
        read_reports(["out"])


@pytest.mark.parametrize("content", [None, "just notes\n"])
def test_a_directory_with_no_report_is_an_input_error(chdir_tmp: Path, content: str | None) -> None:
    (chdir_tmp / "empty").mkdir()
    if content is not None:
        (chdir_tmp / "empty" / "notes.txt").write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        read_reports(["empty"])
    assert str(raised.value).startswith("empty: no report found here")


def test_a_file_named_directly_must_be_a_report(chdir_tmp: Path) -> None:
    (chdir_tmp / "notes.txt").write_text("hello\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"notes\.txt: not a report gatekeeper can read"):
        read_reports(["notes.txt"])


def test_a_pipe_named_directly_is_refused(chdir_tmp: Path) -> None:
    os.mkfifo(chdir_tmp / "pipe")
    with pytest.raises(InputError, match="pipe: not a regular file"):
        read_reports(["pipe"])


def test_a_file_reached_twice_is_read_once(chdir_tmp: Path) -> None:
    junit(chdir_tmp / "out" / "a.xml")
    reports = read_reports(["out/a.xml", "out", "out/*.xml"])
    assert len(reports) == 1


def test_reports_read_before_a_bad_one_are_handed_over_first(chdir_tmp: Path) -> None:
    """`check` records what it had read when an input fails: iter_reports yields one report at a time."""
    junit(chdir_tmp / "good.xml")
    (chdir_tmp / "bad.xml").write_text("<testsuite>", encoding="utf-8")
    reports = iter_reports(["good.xml", "bad.xml"])
    assert Path(next(reports).path).name == "good.xml"
    with pytest.raises(InputError, match=r"^bad\.xml: "):
        next(reports)


def test_forcing_a_format_on_a_directory_forces_it_on_every_file(chdir_tmp: Path) -> None:
    junit(chdir_tmp / "out" / "a.xml")
    (chdir_tmp / "out" / "b.txt").write_text("not xml", encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.txt: malformed XML"):
        read_reports(["junit:out"])
