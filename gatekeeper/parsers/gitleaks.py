"""gitleaks JSON: a top-level array of leaks (v8 `RuleID`/`File`/`StartLine`/`Secret`, v7 `rule`/`file`/
`lineNumber`/`offender`), or the bare literal `null` that gitleaks writes when it finds nothing.

gitleaks gives no severity.  A committed secret is usable by anyone who can read the repository, so every
leak is **high** (`tool_severity` stays empty: the tool said nothing); a policy can remap it.  The secret
never leaves this module: messages name the rule (and commit), and the fingerprint material is the
secret's SHA-256 (the rule's description when gitleaks redacted the secret).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekeeper.model import Evidence, Severity
from gatekeeper.parsers._security import (
    ReportFindings,
    as_index,
    digest,
    expect_root,
    normalise_path,
    not_a,
    stream,
)

TOOL = "gitleaks"
TITLE = "gitleaks"
SEVERITY = Severity.HIGH
_REDACTED = frozenset({"", "REDACTED"})


def parse(path: Path) -> Evidence:
    """One finding per leak; `null` and `[]` are zero findings."""
    expect_root(path, TITLE, "array", "null")
    report = ReportFindings()
    for index, raw in enumerate(stream(path, "item")):
        _add(path, index, raw, report)
    return Evidence(findings=report.findings())


def _add(path: Path, index: int, raw: object, report: ReportFindings) -> None:
    if not isinstance(raw, dict) or not _str(raw, "RuleID", "rule"):
        raise not_a(path, TITLE, f"entry [{index}] has no RuleID (v8) or rule (v7)")
    leak: dict[str, Any] = raw
    rule = _str(leak, "RuleID", "rule")
    file = normalise_path(_str(leak, "File", "file"))
    line = as_index(leak.get("StartLine", leak.get("lineNumber")))
    description = _str(leak, "Description") or rule
    commit = _str(leak, "Commit", "commit")
    message = f"{description} secret in commit {commit[:12]}" if commit else f"{description} secret"
    secret = _str(leak, "Secret", "offender", "Match")
    material = description if secret in _REDACTED else digest(secret)
    report.add(
        tool=TOOL,
        rule=rule,
        severity=SEVERITY,
        tool_severity="",
        path=file,
        line=line,
        message=message,
        material=material,
    )


def _str(leak: dict[str, Any], *keys: str) -> str:
    """The first of `keys` that holds a non-empty string."""
    for key in keys:
        value = leak.get(key)
        if isinstance(value, str) and value:
            return value
    return ""
