"""GitLab's code-quality report (`artifacts:reports:codequality`), so gate results show in the merge request.

GitLab reads a subset of the Code Climate issue format: a JSON array of objects with `description`,
`check_name`, `fingerprint`, `severity` (info, minor, major, critical, blocker), `location.path` and
`location.lines.begin` (https://docs.gitlab.com/ci/testing/code_quality/, "Code Quality report format";
the schema written down from it is tests/data/gitlab-codequality.schema.json). One issue per failed or
warned gate, one per unwaived finding the verdict lists, and one per range of changed lines no test ran
(`location.lines.begin`-`end`, where the merge request's diff shows it). Fingerprints never include a run's figures, so
the same problem keeps its fingerprint from run to run and the merge request shows it as unchanged, not
as fixed-and-new.  Text from reports is made one line of printable characters (escape.one_line), as
every other output does: GitLab shows it in the merge request.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gatekeeper.model import Decision, GateStatus
from gatekeeper.newcode import ranges_text
from gatekeeper.outputs.escape import clean, one_line
from gatekeeper.verdict import Details, Verdict
from gatekeeper.words import plural

#: a gate's status -> GitLab severity: a failed blocking gate blocks the merge, a warning does not.
_GATE_SEVERITY = {"fail": "blocker", "warn": "minor"}

#: gatekeeper's finding severity -> GitLab severity, one step up the scale per level.
_FINDING_SEVERITY = {
    "critical": "blocker",
    "high": "critical",
    "medium": "major",
    "low": "minor",
    "info": "info",
}

_DESCRIPTION_LIMIT = 1000  # characters: a report's message can be any length

# Where an issue about the gate itself points when the verdict names no policy file.
_NO_POLICY_PATH = "gatekeeper-policy.yaml"


def _fingerprint(*parts: str) -> str:
    """A stable 32-hex-digit id (the length of the MD5 GitLab's docs suggest) from identifying parts only."""
    text = "\0".join(("gatekeeper", *parts))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _repo_path(path: object) -> str:
    """A report's path as GitLab links it: forward slashes, relative, no leading `./`."""
    text = clean(path or "").replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text


def _issue(
    *, description: str, check_name: str, fingerprint: str, severity: str, path: str, line: int
) -> dict[str, Any]:
    return {
        "description": one_line(description, _DESCRIPTION_LIMIT),
        "check_name": one_line(check_name, _DESCRIPTION_LIMIT),
        "fingerprint": fingerprint,
        "severity": severity,
        "location": {"path": path, "lines": {"begin": max(line, 1)}},
    }


def _gate_issues(verdict: Verdict, policy_path: str, policy_name: str) -> list[dict[str, Any]]:
    issues = []
    for gate in verdict.gates:
        severity = _GATE_SEVERITY.get(gate.status.value)
        if severity is None:
            continue
        verb = "failed" if gate.status is GateStatus.FAIL else "warns"
        criterion = f" (criterion: {gate.criterion})" if gate.criterion else ""
        issues.append(
            _issue(
                description=f"quality gate {gate.id} {verb}: {gate.message}{criterion}",
                check_name=f"gatekeeper/gate/{gate.id}",
                fingerprint=_fingerprint("gate", policy_name, gate.id),
                severity=severity,
                path=policy_path,
                line=1,
            )
        )
    return issues


def _finding_issues(verdict: Verdict, policy_path: str, policy_name: str) -> list[dict[str, Any]]:
    details = verdict.details or Details()
    issues = []
    seen: set[str] = set()
    for finding in details.findings:
        parts = (finding.rule, finding.path, finding.line, finding.message)
        identity = finding.fingerprint or "\0".join(str(part or "") for part in parts)
        fingerprint = _fingerprint("finding", finding.tool, identity)
        if fingerprint in seen:  # GitLab shows only the first issue of a fingerprint: keep the list honest
            continue
        seen.add(fingerprint)
        issues.append(
            _issue(
                description=f"{finding.tool} {finding.rule}: {finding.message}",
                check_name=f"{finding.tool}/{finding.rule}",
                fingerprint=fingerprint,
                severity=_FINDING_SEVERITY.get(finding.severity.value, "info"),
                path=_repo_path(finding.path) or policy_path,
                line=finding.line or 1,
            )
        )
    omitted = details.findings_omitted
    if omitted:
        more = f"{plural(omitted, 'more unwaived finding')} {'is' if omitted == 1 else 'are'} not listed"
        issues.append(
            _issue(
                description=f"{more}: see the verdict and the scan reports",
                check_name="gatekeeper/findings-omitted",
                fingerprint=_fingerprint("findings-omitted", policy_name),
                severity="info",
                path=policy_path,
                line=1,
            )
        )
    return issues


def render(verdict: Verdict, *, color: bool = False) -> str:
    policy_name = verdict.policy.name or ""
    policy_path = _repo_path(verdict.policy.path) or _NO_POLICY_PATH
    issues: list[dict[str, Any]] = []
    if verdict.status is Decision.ERROR:
        issues.append(
            _issue(
                description=f"the quality gate could not decide: {verdict.reason}",
                check_name="gatekeeper/undecided",
                fingerprint=_fingerprint("undecided", policy_name),
                severity="blocker",
                path=policy_path,
                line=1,
            )
        )
    issues += _gate_issues(verdict, policy_path, policy_name)
    issues += _finding_issues(verdict, policy_path, policy_name)
    issues += _uncovered_issues(verdict)
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def _uncovered_issues(verdict: Verdict) -> list[dict[str, Any]]:
    """One issue per range of changed lines no test ran, at those lines, so the merge request's diff shows
    where the change needs tests.  Its fingerprint is the file and the range's text: the same untested
    lines stay one issue from run to run."""
    if verdict.change is None:
        return []
    issues = []
    for record in verdict.change.files:
        path = _repo_path(record.path)
        if record.new_lines is None or not path:  # not measured, or nowhere GitLab can link: nothing to point at
            continue
        covered, total = record.new_lines
        counts = f"{covered:,} of {plural(total, 'changed line')} of the file covered"
        for first, last in record.uncovered:
            lines = f"line {first}" if first == last else f"lines {first}-{last}"
            issue = _issue(
                description=f"{lines} changed by this merge request and run by no test ({counts})",
                check_name="gatekeeper/uncovered-changed-lines",
                fingerprint=_fingerprint("uncovered", path, ranges_text([(first, last)])),
                severity="minor",
                path=path,
                line=first,
            )
            issue["location"]["lines"]["end"] = max(last, first, 1)  # never before its start, nor line 0
            issues.append(issue)
    return issues
