"""What every security parser shares: the documented severity mapping and stable fingerprints."""

from __future__ import annotations

import hashlib
import re

from gatekeeper.model import Severity

#: SARIF `level` -> severity (DESIGN.md); the spec's default level is "warning".
SARIF_LEVELS = {
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "note": Severity.LOW,
    "none": Severity.INFO,
}
#: bandit's issue_severity, as named.
BANDIT_SEVERITIES = {
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
    "UNDEFINED": Severity.INFO,
}
#: semgrep's extra.severity: the classic ERROR/WARNING/INFO scale, and the newer named scale.
SEMGREP_SEVERITIES = {
    "ERROR": Severity.HIGH,
    "WARNING": Severity.MEDIUM,
    "INFO": Severity.LOW,
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}
#: Severity words used by GitLab reports, gitleaks, trivy and SARIF `security-severity` strings.
SEVERITY_WORDS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.INFO,
    "informational": Severity.INFO,
    "negligible": Severity.INFO,
    "unknown": Severity.INFO,
}


def severity_from_score(score: float) -> Severity | None:
    """A CVSS-like `security-severity` score; None for 0 or less (the level decides then)."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return None


_LEADING_LINE_NUMBER = re.compile(r"^\s*\d+\s?", re.MULTILINE)
_WHITESPACE = re.compile(r"\s+")


def fingerprint(tool: str, rule: str, path: str, text: str) -> str:
    """A finding's identity across runs: tool, rule, path and its snippet (or message), not its line.

    Line numbers that tools prefix to snippets (bandit) and whitespace are dropped, so a finding keeps
    its fingerprint when code above it moves.
    """
    normalised = _WHITESPACE.sub(" ", _LEADING_LINE_NUMBER.sub("", text)).strip()
    material = "\x1f".join((tool.lower(), rule, path.replace("\\", "/"), normalised))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def normalise_path(path: str) -> str:
    """Report paths compare equal across tools and OSes: forward slashes, no leading './' or 'file://'."""
    if path.startswith("file://"):
        path = path[len("file://") :]
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path
