"""GitLab security reports: severity words, the primary identifier as rule (and njsscan's quirk), the
scanner as tool, secrets kept out of messages and fingerprints, and empty vs wrong kind of file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Evidence, Finding, Severity
from gatekeeper.parsers._security import fingerprint
from gatekeeper.parsers.gitlab import parse

SECRET = "AKIAIOSFODNN7EXAMPLE"


def vulnerability(
    severity: str | None = "High",
    line: int = 12,
    identifiers: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "c4c9c908",
        "name": "Improper neutralization of SQL",
        "description": "SQL built from user input.",
        "location": {"file": "app/db.py", "start_line": line, "end_line": line},
        "identifiers": identifiers
        if identifiers is not None
        else [
            {"type": "semgrep_id", "name": "bandit.B608", "value": "bandit.B608"},
            {"type": "cwe", "name": "CWE-89", "value": "89"},
        ],
        **fields,
    }
    if severity is not None:
        data["severity"] = severity
    return data


def report(
    *vulnerabilities: dict[str, Any], scan: dict[str, Any] | None = None, scan_last: bool = True
) -> dict[str, Any]:
    scan = (
        scan
        if scan is not None
        else {"scanner": {"id": "semgrep", "name": "Semgrep"}, "type": "sast", "status": "success"}
    )
    if scan_last:
        return {"version": "15.0.4", "vulnerabilities": list(vulnerabilities), "scan": scan}
    return {"scan": scan, "version": "15.0.4", "vulnerabilities": list(vulnerabilities)}


def read(tmp_path: Path, document: object) -> Evidence:
    path = tmp_path / "gl-sast-report.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return parse(path)


def findings(tmp_path: Path, document: object) -> tuple[Finding, ...]:
    evidence = read(tmp_path, document)
    assert evidence.findings is not None
    return evidence.findings


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("Critical", Severity.CRITICAL),
        ("High", Severity.HIGH),
        ("Medium", Severity.MEDIUM),
        ("Low", Severity.LOW),
        ("Info", Severity.INFO),
        ("Unknown", Severity.INFO),
        (None, Severity.INFO),
    ],
)
def test_severity_words(tmp_path: Path, word: str | None, severity: Severity) -> None:
    (finding,) = findings(tmp_path, report(vulnerability(severity=word)))
    assert (finding.severity, finding.tool_severity) == (severity, word or "Unknown")


def test_unknown_severity_word_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"vulnerabilities\[0\] has unknown severity 'Severe'"):
        read(tmp_path, report(vulnerability(severity="Severe")))


def test_rule_is_the_primary_identifiers_value_tool_the_scanner(tmp_path: Path) -> None:
    (finding,) = findings(tmp_path, report(vulnerability()))
    assert (finding.tool, finding.rule, finding.path, finding.line) == (
        "Semgrep",
        "bandit.B608",
        "app/db.py",
        12,
    )
    assert finding.message == "Improper neutralization of SQL"


def test_njsscan_puts_the_description_in_value_so_the_name_is_the_rule(tmp_path: Path) -> None:
    identifiers = [
        {"type": "njsscan_rule_type", "name": "node_username", "value": "A hardcoded username."},
        {"type": "cwe", "name": "CWE-798", "value": "node_username"},
    ]
    the_vulnerability = vulnerability(
        identifiers=identifiers, name="node_username", description="A hardcoded username."
    )
    (finding,) = findings(tmp_path, report(the_vulnerability))
    assert finding.rule == "node_username"


def test_gitleaks_value_equal_to_description_stays_the_rule(tmp_path: Path) -> None:
    identifiers = [{"type": "gitleaks_rule_id", "name": "Gitleaks rule ID AWS", "value": "AWS"}]
    (finding,) = findings(tmp_path, report(vulnerability(identifiers=identifiers, name="AWS", description="AWS")))
    assert finding.rule == "AWS"


def test_without_identifiers_the_name_is_the_rule(tmp_path: Path) -> None:
    (finding,) = findings(tmp_path, report(vulnerability(identifiers=[])))
    assert finding.rule == "Improper neutralization of SQL"


@pytest.mark.parametrize(
    ("scan", "per_vulnerability", "tool"),
    [
        ({"scanner": {"name": "Semgrep"}}, None, "Semgrep"),
        ({"analyzer": {"name": "GitLab Advanced SAST"}}, None, "GitLab Advanced SAST"),
        ({}, {"id": "gitleaks", "name": "Gitleaks"}, "Gitleaks"),  # schemas before 14
        ({}, None, "gitlab"),
    ],
)
def test_tool_name(tmp_path: Path, scan: dict[str, Any], per_vulnerability: dict[str, Any] | None, tool: str) -> None:
    the_vulnerability = vulnerability()
    if per_vulnerability:
        the_vulnerability["scanner"] = per_vulnerability
    (finding,) = findings(tmp_path, report(the_vulnerability, scan=scan))
    assert finding.tool == tool


def test_scan_before_vulnerabilities_reads_the_same(tmp_path: Path) -> None:
    first = findings(tmp_path, report(vulnerability(), scan_last=True))
    second = findings(tmp_path, report(vulnerability(), scan_last=False))
    assert first == second


def test_secret_detection_keeps_the_secret_out_of_message_and_fingerprint(tmp_path: Path) -> None:
    scan = {
        "scanner": {"id": "gitleaks", "name": "Gitleaks"},
        "type": "secret_detection",
        "status": "success",
    }
    identifiers = [{"type": "gitleaks_rule_id", "name": "Gitleaks rule ID AWS", "value": "AWS"}]
    leak = vulnerability(
        "Critical", identifiers=identifiers, name="AWS", description="AWS", raw_source_code_extract=SECRET
    )
    (finding,) = findings(tmp_path, report(leak, scan=scan))
    assert SECRET not in repr(finding)
    assert finding.fingerprint != fingerprint("Gitleaks", "AWS", "app/db.py", SECRET)
    (other_secret,) = findings(tmp_path, report(dict(leak, raw_source_code_extract="AKIAOTHEREXAMPLE0000"), scan=scan))
    assert other_secret.fingerprint != finding.fingerprint


def test_fingerprint_ignores_the_line(tmp_path: Path) -> None:
    (a,) = findings(tmp_path, report(vulnerability(line=12, raw_source_code_extract="cursor.execute(q % x)")))
    (b,) = findings(tmp_path, report(vulnerability(line=80, raw_source_code_extract="cursor.execute(q % x)")))
    (c,) = findings(tmp_path, report(vulnerability(line=12, raw_source_code_extract="cursor.execute(q % y)")))
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_a_failed_scan_is_noted(tmp_path: Path) -> None:
    evidence = read(tmp_path, report(scan={"scanner": {"name": "x"}, "status": "failure"}))
    assert any("scan status is 'failure'" in note for note in evidence.notes)


def test_no_vulnerabilities_is_zero_not_absent(tmp_path: Path) -> None:
    evidence = read(tmp_path, report())
    assert evidence.findings == ()
    assert metrics.compute(evidence)["findings.total"] == 0


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ({"version": "2.1.0", "runs": []}, 'no top-level "vulnerabilities"'),
        (
            {"auditReportVersion": 2, "vulnerabilities": {"lodash": {}}},
            'top-level "vulnerabilities" is an object',
        ),
        ({"vulnerabilities": [{"cve": "x"}]}, "vulnerabilities[0] has neither identifiers nor location"),
        ([], "the file is a JSON array"),
        ("<report/>", "the file is an XML document"),
    ],
)
def test_forced_on_the_wrong_kind_of_file_is_a_one_line_input_error(tmp_path: Path, document: object, why: str) -> None:
    with pytest.raises(InputError) as raised:
        read(tmp_path, document)
    message = str(raised.value)
    assert ": not a GitLab security report: " in message and why in message and "\n" not in message
