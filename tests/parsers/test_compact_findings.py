"""Findings held compactly (issue 16): every finding keeps what the gate counts and matches; only a report's
first DETAILED_FINDINGS in the verdict's order keep their message and suppression justification, so the
verdict lists the same details as if every finding had kept them.  And what issue 17 needs of a finding:
SARIF's `baselineState`, and fingerprints that do not move when lines are inserted above a finding."""

from __future__ import annotations

import json
import random
import tracemalloc
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import metrics
from gatekeeper.context import Context
from gatekeeper.engine import decide
from gatekeeper.errors import InputError
from gatekeeper.model import DETAILED_FINDINGS, Evidence, Finding, Suppression, finding_order
from gatekeeper.parsers import _security, bandit, gitlab, gitleaks, merge, read_report, sarif, semgrep
from gatekeeper.policy import Comparison, Gate, Policy, Waiver
from gatekeeper.verdict import LIST_LIMIT, build

TODAY = date(2026, 12, 7)
SEVERITIES = ("error", "warning", "note")
_RNG_SEED = 16


# --- reports of each format, from one list of (rule, severity index, path, line, message, code) ------------


def issues(count: int, seed: int = _RNG_SEED) -> list[tuple[str, int, str, int, str, str]]:
    """`count` findings in no particular order, with paths and lines that repeat (ties in the verdict's order)."""
    rng = random.Random(seed)
    return [
        (
            f"R{rng.randrange(12)}",
            rng.randrange(3),
            f"src/m{rng.randrange(25)}.py",
            rng.randrange(1, 60),
            f"message {index}: " + "x" * rng.randrange(0, 700),
            f"call_{index}(arg)",
        )
        for index in range(count)
    ]


def sarif_report(found: list[tuple[str, int, str, int, str, str]], shift: int = 0, **fields: Any) -> dict[str, Any]:
    results = [
        {
            "ruleId": rule,
            "level": SEVERITIES[severity],
            "message": {"text": message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": path},
                        "region": {"startLine": line + shift, "snippet": {"text": code}},
                    }
                }
            ],
            **fields,
        }
        for rule, severity, path, line, message, code in found
    ]
    return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Scanner"}}, "results": results}]}


def bandit_report(found: list[tuple[str, int, str, int, str, str]], shift: int = 0) -> dict[str, Any]:
    words = ("HIGH", "MEDIUM", "LOW")
    results = []
    for rule, severity, path, line, message, code in found:
        at = line + shift
        results.append(
            {
                "test_id": rule,
                "issue_severity": words[severity],
                "filename": path,
                "line_number": at,
                "line_range": [at],
                "issue_text": message,
                "code": f"{at - 1} before()\n{at} {code}\n{at + 1} after()\n",
            }
        )
    return {"generated_at": "2026-12-07T12:00:00Z", "metrics": {}, "results": results}


def semgrep_report(found: list[tuple[str, int, str, int, str, str]], shift: int = 0) -> dict[str, Any]:
    words = ("ERROR", "WARNING", "INFO")
    return {
        "results": [
            {
                "check_id": rule,
                "path": path,
                "start": {"line": line + shift, "col": 1},
                "end": {"line": line + shift, "col": 9},
                "extra": {"severity": words[severity], "message": message, "lines": code},
            }
            for rule, severity, path, line, message, code in found
        ],
        "errors": [],
    }


def gitlab_report(found: list[tuple[str, int, str, int, str, str]], shift: int = 0) -> dict[str, Any]:
    words = ("High", "Medium", "Low")
    return {
        "version": "15.0.0",
        "vulnerabilities": [
            {
                "id": f"{index}-{line + shift}",
                "name": message,
                "severity": words[severity],
                "identifiers": [{"type": "semgrep_id", "name": rule, "value": rule}],
                "location": {"file": path, "start_line": line + shift},
                "raw_source_code_extract": code,
            }
            for index, (rule, severity, path, line, message, code) in enumerate(found)
        ],
        "scan": {"scanner": {"id": "semgrep", "name": "Semgrep"}, "type": "sast", "status": "success"},
    }


def gitleaks_report(found: list[tuple[str, int, str, int, str, str]], shift: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "RuleID": rule,
            "Description": message,
            "File": path,
            "StartLine": line + shift,
            "Secret": code,
            "Commit": "0123456789abcdef",
        }
        for rule, _, path, line, message, code in found
    ]


FORMATS = {
    "sarif": (sarif_report, sarif.parse),
    "bandit": (bandit_report, bandit.parse),
    "semgrep": (semgrep_report, semgrep.parse),
    "gitlab": (gitlab_report, gitlab.parse),
    "gitleaks": (gitleaks_report, gitleaks.parse),
}


def write(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def parsed(tmp_path: Path, format_name: str, found: list[Any], shift: int = 0) -> tuple[Finding, ...]:
    make, parse = FORMATS[format_name]
    evidence = parse(write(tmp_path, f"{format_name}-{shift}.json", make(found, shift)))
    assert evidence.findings is not None
    return evidence.findings


def in_detail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, format_name: str, found: list[Any]
) -> tuple[Finding, ...]:
    """The same report with every finding kept in detail (the limit out of reach): what it was before."""
    with monkeypatch.context() as patched:
        patched.setattr(_security, "DETAILED_FINDINGS", 10**9)
        return parsed(tmp_path / "full", format_name, found)


# --- what each finding keeps ------------------------------------------------------------------------------


@pytest.mark.parametrize("format_name", FORMATS)
def test_only_the_first_findings_in_the_verdicts_order_keep_their_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, format_name: str
) -> None:
    (tmp_path / "full").mkdir()
    found = issues(60)
    full = in_detail(monkeypatch, tmp_path, format_name, found)
    monkeypatch.setattr(_security, "DETAILED_FINDINGS", 7)
    compact = parsed(tmp_path, format_name, found)

    assert len(compact) == len(full) == 60
    assert metrics.compute(Evidence(findings=compact)) == metrics.compute(Evidence(findings=full))
    first = sorted(range(60), key=lambda i: (*finding_order(full[i]), i))[:7]
    for index, (small, whole) in enumerate(zip(compact, full, strict=True)):
        assert replace(small, message=whole.message) == whole, "everything but the message is kept"
        assert small.message == (whole.message if index in first else ""), index
    assert all(full[i].message for i in first)


@pytest.mark.parametrize("format_name", FORMATS)
def test_a_report_of_a_thousand_findings_or_fewer_keeps_every_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, format_name: str
) -> None:
    (tmp_path / "full").mkdir()
    found = issues(DETAILED_FINDINGS)
    full = in_detail(monkeypatch, tmp_path, format_name, found)
    assert parsed(tmp_path, format_name, found) == full
    assert all(finding.message for finding in full)


def test_suppressed_findings_keep_their_kind_and_the_first_their_justification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = issues(40)
    suppressions = [{"kind": "inSource", "justification": "reviewed: test data"}]
    report = sarif_report(found[:20])
    report["runs"][0]["results"] += sarif_report(found[20:], suppressions=suppressions)["runs"][0]["results"]
    monkeypatch.setattr(_security, "DETAILED_FINDINGS", 5)
    findings = sarif.parse(write(tmp_path, "scan.sarif", report)).findings
    assert findings is not None

    active = [f for f in findings if f.suppression is None]
    waived = [f for f in findings if f.suppression is not None]
    assert len(active) == len(waived) == 20
    assert {f.suppression for f in waived} == {
        Suppression(kind="inSource", justification="reviewed: test data"),
        Suppression(kind="inSource"),
    }
    for group in (active, waived):  # each keeps its own first five in detail
        ordered = sorted(group, key=finding_order)
        assert all(f.message for f in ordered[:5]) and not any(f.message for f in ordered[5:])
    detailed = [f for f in waived if f.message]
    assert all(f.suppression and f.suppression.justification for f in detailed)
    assert metrics.compute(Evidence(findings=findings))["findings.waived"] == 20


# --- the verdict lists the same details ---------------------------------------------------------------------


@pytest.mark.parametrize("format_name", ["sarif", "bandit"])
def test_the_verdict_lists_the_same_findings_as_with_every_message_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, format_name: str
) -> None:
    """A report of many findings, policy waivers that take out some of the first ones: the verdict's
    details, counts and waiver uses are those of the same report with every finding kept in detail."""
    found = issues(2500, seed=7)
    make, _ = FORMATS[format_name]
    report = write(tmp_path, f"report.{format_name}.json", make(found))
    waivers = (
        Waiver(reason="accepted", rule="R3"),  # a twelfth of all findings, many among the first
        Waiver(reason="accepted", path="src/m1*.py"),
    )
    policy = Policy(
        name="findings",
        path="policy.yaml",
        gates=(Gate(id="few-findings", condition=Comparison(metric="findings.total", max=10)),),
        waivers=waivers,
    )

    def verdict() -> dict[str, Any]:
        inputs = [read_report(report, format_name)]
        outcome = decide(merge(inputs), policy, Context(), TODAY)
        built = build(
            outcome=outcome,
            policy=policy,
            context=Context(),
            inputs=inputs,
            duration_ms=0,
            verdict_id="v",
            created_at="2026-12-07T12:00:00Z",
        )
        return built.to_json()

    compact = verdict()
    with monkeypatch.context() as patched:
        patched.setattr(_security, "DETAILED_FINDINGS", 10**9)
        whole = verdict()
    listed = compact["details"]["findings"]
    assert len(listed) == LIST_LIMIT and all(finding["message"] for finding in listed)
    assert compact["details"] == whole["details"]
    assert compact["metrics"] == whole["metrics"]
    assert compact["waivers"] == whole["waivers"]


# --- what issue 17 reads of a finding -------------------------------------------------------------------------


def test_sarif_baseline_state_is_kept_on_the_finding(tmp_path: Path) -> None:
    found = issues(5)
    report = sarif_report(found)
    results = report["runs"][0]["results"]
    for result, state in zip(results, ("new", "unchanged", "updated", "absent", None), strict=True):
        if state is not None:
            result["baselineState"] = state
    evidence = sarif.parse(write(tmp_path, "scan.sarif", report))
    assert evidence.findings is not None
    assert [f.baseline_state for f in evidence.findings] == ["new", "unchanged", "updated", None]
    assert any("baselineState 'absent'" in note for note in evidence.notes)  # fixed: no finding


@pytest.mark.parametrize("format_name", ["bandit", "semgrep", "gitlab", "gitleaks"])
def test_formats_without_a_baseline_state_leave_it_unset(tmp_path: Path, format_name: str) -> None:
    assert {f.baseline_state for f in parsed(tmp_path, format_name, issues(3))} == {None}


@pytest.mark.parametrize("state", ["NEW", "fixed", 1, True, ["new"]])
def test_an_unknown_baseline_state_is_a_one_line_input_error(tmp_path: Path, state: object) -> None:
    path = write(tmp_path, "scan.sarif", sarif_report(issues(1), baselineState=state))
    with pytest.raises(InputError) as raised:
        sarif.parse(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: not a SARIF report: runs[0].results[0] has baselineState ")
    assert "new, unchanged, updated, absent" in message and "\n" not in message


@pytest.mark.parametrize("format_name", FORMATS)
def test_findings_moved_by_inserted_lines_keep_their_fingerprints(tmp_path: Path, format_name: str) -> None:
    """The same report after 17 lines were inserted at the top of every file: every line moves, no
    fingerprint does (identical findings included: the n-th one keeps its n)."""
    found = issues(30)
    found += found[:3]  # the same code flagged again in the same file
    before = parsed(tmp_path, format_name, found)
    after = parsed(tmp_path, format_name, found, shift=17)
    assert [f.line + 17 for f in before if f.line is not None] == [f.line for f in after if f.line is not None]
    assert [f.fingerprint for f in before] == [f.fingerprint for f in after]
    assert len({f.fingerprint for f in before}) == len(found)


# --- memory -----------------------------------------------------------------------------------------------------


def test_a_finding_held_costs_under_half_a_kibibyte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the parsed evidence holds (tracemalloc: bytes, not time) per finding of results with long
    messages: the per-finding part of the issue's bound (64 MiB + 0.5 KiB per finding).  The growth between
    two sizes, so fixed costs cancel out; bench/README.md measures the peak of the whole process."""
    monkeypatch.setattr(_security, "DETAILED_FINDINGS", 50)  # its fixed cost out of the way, as at 100,000

    def held(count: int) -> int:
        path = write(tmp_path, f"{count}.sarif", sarif_report(issues(count)))
        tracemalloc.start()
        try:
            evidence = sarif.parse(path)
            assert evidence.findings is not None and len(evidence.findings) == count
            return tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()

    growth = (held(4_000) - held(1_000)) / 3_000
    assert growth < 512, f"{growth:.0f} bytes per finding"
