"""Format detection by content (DESIGN.md "Detect by content, not by file name")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gatekeeper.errors import InputError
from gatekeeper.parsers.detect import SNIFF_BYTES, detect, json_problem
from tests.test_cli_metrics import gatekeeper, metrics_json


def write(tmp_path: Path, content: str | bytes, name: str = "report") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('<?xml version="1.0"?>\n<testsuites><testsuite name="s"/></testsuites>', "junit"),
        ('<testsuite name="s"><testcase name="t"/></testsuite>', "junit"),
        ('<?xml version="1.0"?>\n<testcase name="t"><failure/></testcase>', "junit"),  # a bare case: one test
        ('<?xml version="1.0"?><!-- comment --><coverage line-rate="0.5"/>', "cobertura"),
        ('<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd"><coverage/>', "cobertura"),
        ('<coverage generated="1" clover="4.4.1"><project/></coverage>', "clover"),
        ('<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="x"/>', "jacoco"),
        ("<html><body/></html>", None),
    ],
)
def test_xml_formats_are_recognised_by_their_root_element(tmp_path: Path, content: str, expected: str | None) -> None:
    assert detect(write(tmp_path, content, "coverage.json")) == expected  # the name says nothing


def test_a_bom_and_leading_whitespace_do_not_hide_xml(tmp_path: Path) -> None:
    assert detect(write(tmp_path, b"\xef\xbb\xbf \r\n\t<testsuites/>")) == "junit"


def test_utf16_xml_is_recognised(tmp_path: Path) -> None:
    content = '<?xml version="1.0" encoding="UTF-16"?><testsuites/>'.encode("utf-16")
    assert detect(write(tmp_path, content)) == "junit"


def test_utf16_json_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="UTF-16"):
        detect(write(tmp_path, '{"runs": []}'.encode("utf-16")))


def test_only_the_head_of_a_large_xml_file_is_read(tmp_path: Path) -> None:
    cases = '<testcase name="t"/>' * (2 * SNIFF_BYTES // 20)
    path = write(tmp_path, f"<testsuite>{cases}<this is broken")
    assert detect(path) == "junit"  # the parser, not detection, reports the broken tail


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0"}, "sarif"),
        ({"version": "2.1.0", "runs": []}, "sarif"),
        ({"errors": [], "generated_at": "2024-01-01T00:00:00Z", "results": []}, "bandit"),
        ({"errors": [], "results": [{"test_id": "B101"}]}, "bandit"),
        ({"errors": [], "results": [{"check_id": "python.lang.x"}]}, "semgrep"),
        ({"version": "15.0.4", "vulnerabilities": []}, "gitlab-security"),
        ({"meta": {"version": "7.4"}, "files": {}}, "coverage-json"),
        (None, "gitleaks"),
        ([], "gitleaks"),
        ([{"RuleID": "aws-access-token", "Secret": "x"}], "gitleaks"),
        ([{"rule": "AWS", "offender": "x"}], "gitleaks"),
        ([{"name": "not a leak"}], None),
        ([1, 2, 3], None),
        ([[]], None),
        ({}, None),
        ({"results": [{"unknown": 1}]}, None),
        # An empty semgrep scan, with or without the keys of newer versions.
        ({"results": [], "errors": []}, "semgrep"),
        ({"errors": [], "results": []}, "semgrep"),
        ({"version": "1.52.0", "results": [], "errors": [], "paths": {"scanned": []}}, "semgrep"),
        ({"version": "1.52.0", "errors": [], "results": []}, "semgrep"),
        ({"results": []}, None),
        ({"results": [], "errors": [], "metrics": {}}, None),  # bandit's keys without generated_at
        ({"results": [{"unknown": 1}], "errors": []}, None),
        ({"results": {}, "errors": []}, None),
        ({"data": {"results": [], "errors": []}}, None),
    ],
)
def test_json_formats_are_recognised_by_keys(tmp_path: Path, document: object, expected: str | None) -> None:
    assert detect(write(tmp_path, json.dumps(document), "scan.txt")) == expected


GITLEAKS_7 = {
    "line": 'aws_key = "AKIAIOSFODNN7EXAMPLE"',
    "lineNumber": 7,
    "offender": "AKIAIOSFODNN7EXAMPLE",
    "offenderEntropy": -1,
    "commit": "6d127980966808f7413935678e079dcd7fedf9c2",
    "repo": ".",
    "repoURL": "",
    "leakURL": "",
    "rule": "AWS Access Key",
    "commitMessage": "add key",
    "author": "a",
    "email": "a@example.com",
    "file": "config/settings.py",
    "date": "2021-07-15T22:00:32+07:00",
    "tags": "key, AWS",
    "operation": "addition",
}


@pytest.mark.parametrize("order", ["as written", "reversed", "rule last", "offender only"])
def test_a_gitleaks_7_report_is_recognised_whatever_the_order_of_its_keys(tmp_path: Path, order: str) -> None:
    """gitleaks 7 starts each leak with `line`, a key no format owns: any key of the first leak decides."""
    keys = list(GITLEAKS_7)
    if order == "reversed":
        keys.reverse()
    elif order == "rule last":
        keys = [key for key in keys if key != "rule"] + ["rule"]
    elif order == "offender only":
        keys = [key for key in keys if key not in ("rule", "leakURL")]
    leak = {key: GITLEAKS_7[key] for key in keys}
    assert detect(write(tmp_path, json.dumps([leak, GITLEAKS_7]), "leaks.json")) == "gitleaks"


@pytest.mark.parametrize(
    "document",
    [
        [{"line": "x", "lineNumber": 1, "file": "a.py"}],  # none of gitleaks' own keys
        [{"name": "x", "meta": {"rule": "r", "offender": "o"}}],  # only deeper down
        [{"name": "x"}, {"rule": "r", "offender": "o"}],  # only in a later entry
    ],
)
def test_an_array_whose_first_entry_has_no_gitleaks_key_is_not_gitleaks(tmp_path: Path, document: object) -> None:
    assert detect(write(tmp_path, json.dumps(document), "leaks.json")) is None


def test_a_bom_before_json_does_not_hide_the_format(tmp_path: Path) -> None:
    assert detect(write(tmp_path, b'\xef\xbb\xbf{"version": "2.1.0", "runs": []}')) == "sarif"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("mode: set\ngithub.com/x/y.go:1.1,2.2 1 1\n", "coverprofile"),
        ("TN:\nSF:/src/a.c\nDA:1,1\nend_of_record\n", "lcov"),
        ("\n\nSF:/src/a.c\n", "lcov"),
        ("hello, world\n", None),
        ("", None),
        ("   \n", None),
    ],
)
def test_text_formats_by_first_line(tmp_path: Path, content: str, expected: str | None) -> None:
    assert detect(write(tmp_path, content)) == expected


def test_sqlite_is_a_coverage_data_file(tmp_path: Path) -> None:
    assert detect(write(tmp_path, b"SQLite format 3\x00" + bytes(100), ".coverage")) == "coverage-data"


def test_a_binary_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="a binary file, not a report"):
        detect(write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('<?xml version="1.0"?>\n<<testsuites/>', "malformed XML at line 2, column 2: not well-formed"),
        ('<?xml version="1.0"?>', "the document ends early (truncated?): no element found"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><testsuites/>', "refused: the document declares the entity 'a'"),
        ('<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><x/>', "refused"),
        ('{"tool": [', "malformed JSON: parse error: premature EOF (truncated?)"),
        ('{"a" 1}', "malformed JSON: parse error: object key and value must be separated by a colon"),
        (b'{"tool": "\xff\xfe"}', "malformed JSON: lexical error: invalid bytes in UTF8 string"),
    ],
)
def test_broken_heads_are_one_line_input_errors(tmp_path: Path, content: str | bytes, fragment: str) -> None:
    """Detection reads only up to the root element or a decisive key: a break before it is reported."""
    path = write(tmp_path, content)
    with pytest.raises(InputError) as raised:
        detect(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    assert fragment in message
    assert "\n" not in message and "\\n" not in message


def test_json_problem_keeps_only_the_first_line() -> None:
    assert json_problem(ValueError("parse error: premature EOF\n     {\n   (right here) ------^\n")) == (
        "parse error: premature EOF (truncated?)"
    )
    assert json_problem(ValueError("")) == "ValueError"


CASES = Path(__file__).resolve().parents[1] / "conformance" / "cases"


@pytest.mark.parametrize(
    ("case", "format_name", "counts"),
    [
        ("gitleaks/gitleaks7_leaks.json", "gitleaks", {"findings.total": 3}),
        ("junit/bare_testcase_failed.xml", "junit", {"tests.total": 1, "tests.failed": 1, "tests.errors": 0}),
        ("semgrep/semgrep_empty.json", "semgrep", {"findings.total": 0}),
    ],
)
def test_the_console_script_reads_them_without_a_forced_format(
    tmp_path: Path, case: str, format_name: str, counts: dict[str, int]
) -> None:
    """Issue 15, items 1, 3 and 4: each once exit 2 ("not a report gatekeeper can read", "not a JUnit report")."""
    document = metrics_json(str(CASES / case), cwd=tmp_path)
    (read,) = document["inputs"]
    assert (read["format"], read["counts"]) == (format_name, counts)


def test_the_console_script_notes_a_bare_testcase_in_its_table(tmp_path: Path) -> None:
    run = gatekeeper("metrics", str(CASES / "junit" / "bare_testcase_passed.xml"), cwd=tmp_path)
    assert (run.returncode, run.stderr) == (0, "")
    assert "the root element is a bare <testcase>: read as one test case" in run.stdout
    assert re.search(r"^tests\.passed\s+1$", run.stdout, re.MULTILINE), run.stdout
