"""GitLab security reports: SAST, secret detection, dependency and container scanning (schemas 2-15).

`vulnerabilities[]` are streamed after a pass that reads `scan` (which writers put last), so each
finding names its scanner: `scan.scanner.name`, else `scan.analyzer.name`, else the vulnerability's own
`scanner.name` (schemas before 14), else "gitlab".

- Severity: GitLab's words ("Critical", "High", "Medium", "Low", "Info", "Unknown") through
  `SEVERITY_WORDS`; "Unknown" and a missing severity are info; any other word is bad input.
- Rule: GitLab calls the first of `identifiers` the primary one, so the rule is its `value`
  (semgrep: "bandit.B303-1", gitleaks: "AWS", trivy: "CVE-…").  The njsscan analyzer writes the rule's
  description into `value` and its id into `name`; when the value is the vulnerability's description
  and the name is one word, the name is the rule.  (gitleaks' value "AWS" is its description too, but
  its name "Gitleaks rule ID AWS" is a phrase.)  Without identifiers, the vulnerability's `name`.
- Fingerprint material: `raw_source_code_extract` (for secret detection only its SHA-256: it is the
  secret), else the message.  GitLab's own `id` and `cve` keys hold line numbers, so they are not used.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from typing import Any

from gatekeeper.errors import InputError
from gatekeeper.model import Evidence
from gatekeeper.parsers._security import (
    SEVERITY_WORDS,
    ReportFindings,
    as_dict,
    as_index,
    as_str,
    digest,
    expect_root,
    normalise_path,
    not_a,
    require_array,
    shape,
    stream,
)

TITLE = "GitLab security"
DEFAULT_TOOL = "gitlab"


def parse(path: Path) -> Evidence:
    """One finding per vulnerability; `vulnerabilities: []` is zero findings."""
    expect_root(path, TITLE, "object")
    scan = _first(stream(path, "scan"))
    tool = _name(scan.get("scanner")) or _name(scan.get("analyzer"))
    secrets = scan.get("type") == "secret_detection"
    report = ReportFindings()
    for index, raw in enumerate(stream(path, "vulnerabilities.item")):
        _add(path, index, raw, tool, secrets, report)
    if not report:
        require_array(path, TITLE, shape(path), "vulnerabilities")
    status = as_str(scan.get("status"))
    notes = (f"scan status is {status!r}, not 'success'",) if status not in ("", "success") else ()
    return Evidence(findings=report.findings(), notes=notes)


def _add(path: Path, index: int, raw: object, tool: str, secrets: bool, report: ReportFindings) -> None:
    if not isinstance(raw, dict) or not ("identifiers" in raw or "location" in raw):
        raise not_a(path, TITLE, f"vulnerabilities[{index}] has neither identifiers nor location")
    vulnerability: dict[str, Any] = raw
    tool = tool or _name(vulnerability.get("scanner")) or DEFAULT_TOOL
    word = vulnerability.get("severity") or "Unknown"
    if not isinstance(word, str) or word.lower() not in SEVERITY_WORDS:
        raise InputError(path, f"vulnerabilities[{index}] has unknown severity {word!r}")
    location = as_dict(vulnerability.get("location"))
    file = normalise_path(as_str(location.get("file")) or as_str(location.get("image")))
    line = as_index(location.get("start_line"))
    message = _text(vulnerability, "name", "message", "description")
    rule = _rule(vulnerability) or message or "unknown"
    extract = vulnerability.get("raw_source_code_extract")
    secret = secrets or vulnerability.get("category") == "secret_detection"
    if isinstance(extract, str) and extract.strip():
        material = digest(extract) if secret else extract
    else:
        material = _text(vulnerability, "description", "name", "message")
    report.add(
        tool=tool,
        rule=rule,
        severity=SEVERITY_WORDS[word.lower()],
        tool_severity=word,
        path=file,
        line=line,
        message=message,
        material=material,
    )


def _rule(vulnerability: dict[str, Any]) -> str:
    """The primary (first) identifier's value; its name where the value is the description (njsscan)."""
    identifiers = vulnerability.get("identifiers")
    if not isinstance(identifiers, list) or not identifiers or not isinstance(identifiers[0], dict):
        return ""
    value, name = identifiers[0].get("value"), identifiers[0].get("name")
    if isinstance(name, str) and name and not name.split()[1:] and value == vulnerability.get("description"):
        return name  # njsscan: value is the description, name the rule id
    return str(value) if value is not None else name if isinstance(name, str) else ""


def _text(vulnerability: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = vulnerability.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _name(component: object) -> str:
    name = component.get("name") if isinstance(component, dict) else None
    return name if isinstance(name, str) else ""


def _first(values: Generator[Any, None, None]) -> dict[str, Any]:
    """The first streamed value if it is an object, else {}; stops reading the file there."""
    with closing(values):
        value = next(values, None)
    return value if isinstance(value, dict) else {}
