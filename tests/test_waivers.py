"""Waivers: which findings they match, when they expire, and what the metrics count afterwards."""

from __future__ import annotations

from datetime import date

import pytest

from gatekeeper.context import Context
from gatekeeper.engine import Decision, decide
from gatekeeper.model import Evidence, Finding, Severity
from gatekeeper.policy import Comparison, Gate, Policy, Waiver
from gatekeeper.waivers import apply_waivers, is_expired, matches

TODAY = date(2026, 3, 15)


def finding(
    *,
    tool: str = "bandit",
    rule: str = "B101",
    path: str = "tests/test_api.py",
    severity: Severity = Severity.LOW,
    fingerprint: str = "a1b2c3d4e5f60718293a4b5c6d7e8f90",
) -> Finding:
    return Finding(
        tool=tool,
        rule=rule,
        severity=severity,
        tool_severity=severity.value.upper(),
        path=path,
        line=3,
        message="Use of assert detected.",
        fingerprint=fingerprint,
    )


def waiver(**match: str) -> Waiver:
    return Waiver(reason="accepted", **match)  # type: ignore[arg-type]


# --- matching ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", ["bandit", "Bandit", "BANDIT"])
def test_tool_matches_in_any_case(tool: str) -> None:
    assert matches(waiver(tool=tool), finding(tool="bandit"))
    assert matches(waiver(tool="bandit"), finding(tool=tool))


def test_another_tool_does_not_match() -> None:
    assert not matches(waiver(tool="semgrep"), finding(tool="bandit"))


def test_rule_matches_exactly() -> None:
    assert matches(waiver(rule="B101"), finding(rule="B101"))
    assert not matches(waiver(rule="B10"), finding(rule="B101"))
    assert not matches(waiver(rule="b101"), finding(rule="B101"))


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("tests/**", "tests/test_api.py", True),
        ("tests/**", "tests/unit/deep/test_api.py", True),
        ("tests/**", "src/tests/test_api.py", False),
        ("tests/**", "tests_helpers/x.py", False),
        ("**/test_*.py", "test_api.py", True),
        ("**/test_*.py", "tests/unit/test_api.py", True),
        ("**/test_*.py", "tests/unit/api_test.py", False),
        ("**/test_*.py", "tests/unit/test_api.pyc", False),
        ("src/*.py", "src/app.py", True),
        ("src/*.py", "src/pkg/app.py", False),  # `*` does not cross `/`
        ("src/?.py", "src/a.py", True),
        ("src/?.py", "src/ab.py", False),
        ("src/[ab].py", "src/b.py", True),
        ("src/[!ab].py", "src/c.py", True),
        ("src/[!ab].py", "src/a.py", False),
        ("src/a.py", "src/a.py", True),
        ("src/a.py", "src/aXpy", False),  # `.` is literal
        ("src/**/*.py", "src/app.py", True),
        ("src/**/*.py", "src/x/y/app.py", True),
        ("tests/**", "./tests/test_api.py", True),  # tools that prefix ./
        ("tests/**", "tests\\test_api.py", True),  # tools on Windows
        ("a*b*c/**/d*e", "axbyc/q/r/dze", True),
    ],
)
def test_path_glob(glob: str, path: str, expected: bool) -> None:
    assert matches(waiver(path=glob), finding(path=path)) is expected


def test_fingerprint_matches_by_prefix() -> None:
    full = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    assert matches(waiver(fingerprint="a1b2c3"), finding(fingerprint=full))
    assert matches(waiver(fingerprint=full), finding(fingerprint=full))
    assert not matches(waiver(fingerprint="b1b2c3"), finding(fingerprint=full))


def test_every_given_field_must_match() -> None:
    both = waiver(tool="bandit", rule="B101", path="tests/**")
    assert matches(both, finding())
    assert not matches(both, finding(rule="B602"))
    assert not matches(both, finding(path="src/app.py"))


# --- expiry --------------------------------------------------------------------------------------


def test_a_waiver_applies_up_to_and_including_its_expiry_date() -> None:
    expiring = Waiver(reason="r", tool="bandit", expires=date(2026, 3, 15))
    assert not is_expired(expiring, date(2026, 3, 15))
    assert is_expired(expiring, date(2026, 3, 16))
    assert not is_expired(Waiver(reason="r", tool="bandit"), date(9999, 12, 31))


def test_expired_waivers_no_longer_waive_and_say_what_they_would_have_matched() -> None:
    findings = (finding(path="tests/a.py"), finding(path="tests/b.py"), finding(rule="B602", path="src/x.py"))
    old = Waiver(reason="r", tool="bandit", rule="B101", expires=date(2026, 3, 14))
    outcome = apply_waivers(findings, (old,), TODAY)
    assert outcome.kept == findings
    assert outcome.waived == ()
    assert outcome.applied == ()
    assert [(use.waiver, use.findings) for use in outcome.expired] == [(old, 2)]


def test_an_expired_waiver_does_not_count_what_an_active_one_waives() -> None:
    findings = (finding(path="tests/a.py"), finding(path="src/a.py"))
    active = Waiver(reason="r", tool="bandit", path="tests/**")
    old = Waiver(reason="r", tool="bandit", expires=date(2025, 1, 1))
    outcome = apply_waivers(findings, (active, old), TODAY)
    assert [use.findings for use in outcome.applied] == [1]
    assert [use.findings for use in outcome.expired] == [1]
    assert outcome.kept == (findings[1],)


def test_each_finding_counts_for_the_first_waiver_that_matches() -> None:
    findings = (finding(), finding(path="tests/b.py"))
    outcome = apply_waivers(findings, (waiver(tool="bandit"), waiver(rule="B101")), TODAY)
    assert [use.findings for use in outcome.applied] == [2, 0]  # an unused waiver is still listed
    assert outcome.waived == findings


def test_no_findings_no_waivers() -> None:
    outcome = apply_waivers((), (waiver(tool="bandit"),), TODAY)
    assert (outcome.kept, outcome.waived, [u.findings for u in outcome.applied]) == ((), (), [0])


# --- through the engine ----------------------------------------------------------------------------


def test_waived_findings_leave_the_metrics_and_are_counted() -> None:
    findings = (
        finding(severity=Severity.HIGH, rule="B602", path="src/run.py"),
        finding(severity=Severity.LOW, path="tests/a.py"),
        finding(severity=Severity.LOW, path="tests/b.py"),
        finding(severity=Severity.MEDIUM, rule="B108", path="src/tmp.py"),
    )
    policy = Policy(
        name="p",
        path="p.yaml",
        gates=(Gate(id="no-high", condition=Comparison(metric="findings.high", max=0)),),
        waivers=(
            Waiver(reason="asserts in tests", tool="bandit", rule="B101", path="tests/**"),
            Waiver(reason="shell=True on a constant", tool="bandit", rule="B602", expires=date(2026, 3, 15)),
        ),
    )
    outcome = decide(Evidence(findings=findings), policy, Context(), TODAY)
    assert outcome.metrics["findings.waived"] == 3
    assert outcome.metrics["findings.total"] == 1
    counts = [outcome.metrics[f"findings.{severity}"] for severity in ("high", "medium", "low")]
    assert counts == [0, 1, 0]
    assert outcome.status is Decision.PASS
    assert outcome.waivers.kept == (findings[3],)

    # The day after, the B602 waiver has expired: the high finding counts again, and the verdict says so.
    later = decide(Evidence(findings=findings), policy, Context(), date(2026, 3, 16))
    assert later.metrics["findings.high"] == 1
    assert later.metrics["findings.waived"] == 2
    assert later.status is Decision.FAIL
    assert [(use.waiver.rule, use.findings) for use in later.waivers.expired] == [("B602", 1)]


def test_an_empty_scan_counts_zero_waived() -> None:
    policy = Policy(name="p", path="p.yaml", waivers=(waiver(tool="bandit"),))
    outcome = decide(Evidence(findings=()), policy, Context(), TODAY)
    assert outcome.metrics["findings.waived"] == 0
    assert outcome.metrics["findings.total"] == 0
