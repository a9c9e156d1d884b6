"""Format detection by content (DESIGN.md "Detect by content, not by file name")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.errors import InputError
from gatekeeper.parsers.detect import SNIFF_BYTES, detect, json_problem


def write(tmp_path: Path, content: str | bytes, name: str = "report") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('<?xml version="1.0"?>\n<testsuites><testsuite name="s"/></testsuites>', "junit"),
        ('<testsuite name="s"><testcase name="t"/></testsuite>', "junit"),
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
    ],
)
def test_json_formats_are_recognised_by_keys(tmp_path: Path, document: object, expected: str | None) -> None:
    assert detect(write(tmp_path, json.dumps(document), "scan.txt")) == expected


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
