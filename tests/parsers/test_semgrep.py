"""semgrep JSON: both severity scales, nosemgrep-ignored results, fingerprints that ignore the line and
semgrep's "requires login" placeholder, and the one-line errors for other kinds of file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Finding, Severity
from gatekeeper.parsers import read_report
from gatekeeper.parsers.semgrep import parse


def result(
    severity: str = "WARNING", line: int = 27, lines: str = '    tmpl := "<h1>" + id', **extra: Any
) -> dict[str, Any]:
    return {
        "check_id": "go.lang.security.audit.formatted-template-string",
        "path": "./cmd/test.go",
        "start": {"line": line, "col": 5, "offset": 400},
        "end": {"line": line, "col": 40, "offset": 435},
        "extra": {
            "severity": severity,
            "message": "Found a formatted template string.",
            "lines": lines,
            "fingerprint": "requires login",
            "metadata": {},
            **extra,
        },
    }


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "semgrep.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def findings(tmp_path: Path, *results: dict[str, Any]) -> tuple[Finding, ...]:
    evidence = parse(write(tmp_path, {"errors": [], "results": list(results), "version": "1.60.0"}))
    assert evidence.findings is not None
    return evidence.findings


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("ERROR", Severity.HIGH),
        ("WARNING", Severity.MEDIUM),
        ("INFO", Severity.LOW),
        ("CRITICAL", Severity.CRITICAL),
        ("HIGH", Severity.HIGH),
        ("MEDIUM", Severity.MEDIUM),
        ("LOW", Severity.LOW),
        ("INVENTORY", Severity.INFO),
        ("warning", Severity.MEDIUM),
    ],
)
def test_both_severity_scales(tmp_path: Path, word: str, severity: Severity) -> None:
    (finding,) = findings(tmp_path, result(severity=word))
    assert (finding.severity, finding.tool_severity) == (severity, word.upper())


def test_a_finding_has_tool_rule_path_line_and_message(tmp_path: Path) -> None:
    (finding,) = findings(tmp_path, result())
    assert (finding.tool, finding.rule, finding.path, finding.line) == (
        "semgrep",
        "go.lang.security.audit.formatted-template-string",
        "cmd/test.go",
        27,
    )
    assert finding.message == "Found a formatted template string."


def test_unknown_severity_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"results\[0\] has unknown extra.severity 'SEVERE'"):
        findings(tmp_path, result(severity="SEVERE"))


def test_fingerprint_ignores_the_line_not_the_matched_code(tmp_path: Path) -> None:
    (a,) = findings(tmp_path, result(line=27))
    (b,) = findings(tmp_path, result(line=127))
    (c,) = findings(tmp_path, result(line=27, lines='    tmpl := "<h2>" + id'))
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_requires_login_is_no_material_the_message_is(tmp_path: Path) -> None:
    """Without login semgrep hides the matched code; two such results still get distinct fingerprints."""
    first, second = findings(tmp_path, result(line=3, lines="requires login"), result(line=9, lines="requires login"))
    (with_other_message,) = findings(tmp_path, result(line=3, lines="requires login", message="Other text."))
    assert first.fingerprint != second.fingerprint
    assert first.fingerprint != with_other_message.fingerprint


def test_ignored_results_are_not_counted_and_noted(tmp_path: Path) -> None:
    evidence = parse(write(tmp_path, {"errors": [], "results": [result(is_ignored=True), result(is_ignored=False)]}))
    assert evidence.findings is not None and len(evidence.findings) == 1
    assert any("1 result ignored in source (nosemgrep) not counted" in note for note in evidence.notes)


def test_empty_results_are_zero_not_absent(tmp_path: Path) -> None:
    evidence = parse(write(tmp_path, {"errors": [], "paths": {"scanned": []}, "results": [], "version": "1.0"}))
    assert evidence.findings == ()
    assert metrics.compute(evidence)["findings.total"] == 0


@pytest.mark.parametrize(
    "document",
    [
        {"results": [], "errors": []},
        {"version": "1.52.0", "results": [], "errors": []},
        {"version": "1.52.0", "results": [], "errors": [], "paths": {"scanned": ["a.py"]}},
    ],
)
def test_an_empty_scan_is_read_as_semgrep_without_naming_its_format(tmp_path: Path, document: object) -> None:
    """`{"results": [], "errors": []}` is an empty semgrep scan, not "unrecognised" (issue 15)."""
    report = read_report(write(tmp_path, document))
    assert report.format == "semgrep"
    assert report.evidence.findings == ()
    assert metrics.compute(report.evidence)["findings.total"] == 0


BANDIT_RESULT = {"filename": "a.py", "issue_severity": "LOW", "line_number": 1, "test_id": "B101"}


@pytest.mark.parametrize(
    ("document", "why"),
    [
        (
            {"errors": [], "generated_at": "x", "metrics": {}, "results": [BANDIT_RESULT]},
            "results[0] has no check_id (a bandit result?)",
        ),
        (
            {"errors": [], "generated_at": "x", "metrics": {}, "results": []},
            'top-level "generated_at" is bandit\'s',
        ),
        ({"version": "2.1.0", "runs": []}, 'no top-level "results"'),
        ({"results": [7]}, "results[0] has no check_id"),
        ([], "the file is a JSON array"),
        ("<coverage/>", "the file is an XML document"),
    ],
)
def test_forced_on_the_wrong_kind_of_file_is_a_one_line_input_error(tmp_path: Path, document: object, why: str) -> None:
    path = write(tmp_path, document)
    with pytest.raises(InputError) as raised:
        parse(path)
    assert str(raised.value) == f"{path}: not a semgrep report: {why}"


def test_truncated_report_is_malformed(tmp_path: Path) -> None:
    text = json.dumps({"errors": [], "results": [result(), result()]})
    with pytest.raises(InputError, match="malformed JSON"):
        parse(write(tmp_path, text[:-40]))
