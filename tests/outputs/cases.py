"""Verdicts built deterministically from Evidence made here, for the golden tests of every renderer.

Each case is what a release manager meets in practice: a run that fails, one that only warns, one
that passes, and one that could not decide.  Ids, times and the tool version are fixed so the golden
files change only when a renderer or the engine does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from gatekeeper.context import Context
from gatekeeper.engine import decide
from gatekeeper.model import (
    Coverage,
    Evidence,
    FileCoverage,
    Finding,
    Outcome,
    ReportInput,
    Severity,
    TestCase,
    TestResults,
    line_mask,
)
from gatekeeper.packs import model_levels
from gatekeeper.policy import Comparison, Gate, GateSeverity, Group, IfAbsent, Operator, Policy, Waiver
from gatekeeper.verdict import Tool, build, build_error

Verdict = dict[str, Any]  # the document: what the renderers (not yet typed) and the golden files take

TODAY = date(2026, 3, 15)
CREATED_AT = "2026-03-15T09:30:00.000000Z"
TOOL_VERSION = "0.0.0-test"  # not the real version, so a release does not churn the golden files


def _sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _coverage(path: str, total: int, covered: int, branches: dict[int, tuple[int, int]] | None = None) -> FileCoverage:
    return FileCoverage(
        path=path,
        statements=line_mask(range(1, total + 1)),
        covered=line_mask(range(1, covered + 1)),
        branches=branches,
    )


def _finding(tool: str, rule: str, severity: Severity, path: str, line: int, message: str) -> Finding:
    return Finding(
        tool=tool,
        rule=rule,
        severity=severity,
        tool_severity=severity.value.upper(),
        path=path,
        line=line,
        message=message,
        fingerprint=_sha(f"{tool}:{rule}:{path}:{line}"),
    )


POLICY = Policy(
    name="caict-cd-level-3",
    path="policies/level-3.yaml",
    model="caict-devops-cd",
    level=3,
    chain=("policies/level-3.yaml", "policies/level-2.yaml"),
    gates=(
        Gate(
            id="tests-present",
            criterion="3.2.1 Every build runs the automated test suite",
            condition=Comparison(metric="tests.total", min=1),
        ),
        Gate(
            id="tests-all-pass",
            criterion="3.2.2 All automated tests pass before delivery",
            condition=Comparison(metric="tests.pass_percent", min=100),
        ),
        Gate(
            id="line-coverage",
            criterion="3.2.4 Unit test line coverage ≥ 80%",
            condition=Comparison(metric="coverage.lines.percent", min=80),
        ),
        Gate(
            id="branch-coverage",
            criterion="3.2.5 Branch coverage is measured | reported",
            condition=Comparison(metric="coverage.branches.percent", min=60),
            severity=GateSeverity.WARN,
            if_absent=IfAbsent.SKIP,
        ),
        Gate(
            id="no-critical-or-high-findings",
            criterion="3.4.1 No critical or high security findings are released",
            condition=Group(
                operator=Operator.ALL,
                conditions=(Comparison(metric="findings.critical", max=0), Comparison(metric="findings.high", max=0)),
            ),
        ),
        Gate(
            id="few-medium-findings",
            criterion="3.4.2 Medium findings are tracked",
            condition=Comparison(metric="findings.medium", max=1),
            severity=GateSeverity.WARN,
        ),
        Gate(
            id="release-no-flaky-tests",
            criterion="3.2.6 Release branches have no flaky tests",
            condition=Comparison(metric="tests.flaky", equals=0),
            branches=("main", "release/*"),
        ),
    ),
    waivers=(
        Waiver(
            reason="asserts are expected in tests",
            tool="bandit",
            rule="B101",
            path="tests/**",
            owner="qa-team",
            expires=date(2026, 12, 31),
            source="policies/level-3.yaml:52",
        ),
        Waiver(
            reason="legacy XML parser, replacement tracked in PAY-88",
            tool="bandit",
            rule="B314",
            owner="payments-team",
            expires=date(2026, 2, 28),
            source="policies/level-3.yaml:57",
        ),
    ),
)


def _inputs(
    tests: TestResults | None, coverage: Coverage | None, findings: tuple[Finding, ...] | None
) -> list[ReportInput]:
    families = [
        ("build/test-results/TEST-payments.xml", "junit", Evidence(tests=tests), tests),
        ("build/coverage.xml", "cobertura", Evidence(coverage=coverage), coverage),
        ("build/bandit.json", "bandit", Evidence(findings=findings), findings),
    ]
    return [
        ReportInput(path=path, format=name, sha256=_sha(name), evidence=evidence)
        for path, name, evidence, given in families
        if given is not None
    ]


def _decided(name: str, inputs: list[ReportInput], context: Context, *, levels: bool = False) -> Verdict:
    """The case decided by POLICY; with `levels`, its model's level packs are assessed too (as `check` does)."""
    evidence = Evidence()
    for report in inputs:
        evidence = evidence + report.evidence
    packs = model_levels(POLICY.model) if levels else ()
    outcome = decide(evidence, POLICY, context, TODAY, levels=packs)
    verdict = build(
        outcome=outcome,
        policy=POLICY,
        context=context,
        inputs=inputs,
        duration_ms=1234,
        verdict_id=f"00000000-0000-4000-8000-{name.encode().hex()[:12]:0<12}",
        created_at=CREATED_AT,
    )
    return replace(verdict, tool=Tool(name="gatekeeper", version=TOOL_VERSION)).to_json()


def _case(classname: str, name: str, outcome: Outcome, message: str, *, flaky: bool = False) -> TestCase:
    return TestCase(
        suite=f"payments.{classname.split('.')[0]}",
        classname=f"payments.{classname}",
        name=name,
        outcome=outcome,
        duration_seconds=0.5,
        message=message,
        flaky=flaky,
    )


def failing() -> Verdict:
    """Failed and errored tests, 71.4% line coverage, a high finding: the merge must be stopped."""
    tests = TestResults(
        passed=118,
        failed=2,
        errors=1,
        skipped=3,
        flaky=1,
        duration_seconds=84.5,
        notable=(
            _case(
                "refunds.RefundTest", "test_partial_refund", Outcome.FAILED, "AssertionError: assert 'EUR|USD' == 'EUR'"
            ),
            _case("refunds.RefundTest", "test_refund_twice", Outcome.FAILED, "expected 409, got 200"),
            _case(
                "ledger.LedgerTest",
                "test_close_day",
                Outcome.ERROR,
                "ConnectionError: database unavailable\nTraceback (most recent call last): ...",
            ),
            _case("api.ApiTest", "test_timeout", Outcome.PASSED, "TimeoutError: no answer in 5s", flaky=True),
        ),
    )
    coverage = Coverage.of(
        [
            _coverage("src/payments/refunds.py", 1000, 700),
            _coverage("src/payments/ledger.py", 685, 503),
        ]
    )
    findings = (
        _finding(
            "bandit",
            "B602",
            Severity.HIGH,
            "src/payments/export.py",
            88,
            "subprocess call with shell=True identified, security issue.",
        ),
        _finding(
            "bandit",
            "B314",
            Severity.MEDIUM,
            "src/payments/import_xml.py",
            12,
            "Using xml.etree.ElementTree.parse to parse untrusted XML data is known to be vulnerable.",
        ),
        _finding(
            "bandit",
            "B108",
            Severity.MEDIUM,
            "src/payments/export.py",
            140,
            "Probable insecure usage of temp file/directory.",
        ),
        _finding("bandit", "B101", Severity.LOW, "tests/test_refunds.py", 20, "Use of assert detected."),
        _finding("bandit", "B101", Severity.LOW, "tests/test_ledger.py", 31, "Use of assert detected."),
    )
    context = Context(
        ci="jenkins",
        project="payments/api",
        branch="feature/PAY-1234-refunds",
        commit="3f2a9c1d4e5b6a7980f1e2d3c4b5a69788796a5b",
        pipeline="512",
        job="quality-gate",
        url="https://jenkins.example.com/job/payments/job/api/512/",
    )
    return _decided("failing", _inputs(tests, coverage, findings), context, levels=True)


def warning() -> Verdict:
    """Every blocking gate holds; too many medium findings only warn."""
    tests = TestResults(passed=240, skipped=4, duration_seconds=120.25)
    coverage = Coverage.of(
        [
            _coverage("src/payments/refunds.py", 1000, 870, {10: (2, 2), 20: (1, 2)}),
            _coverage("src/payments/ledger.py", 685, 566, {5: (1, 2)}),
        ]
    )
    findings = (
        _finding(
            "semgrep",
            "python.lang.security.audit.md5",
            Severity.MEDIUM,
            "src/payments/hashing.py",
            7,
            "Detected MD5 hash algorithm which is considered insecure.",
        ),
        _finding(
            "semgrep",
            "python.flask.security.audit.debug-enabled",
            Severity.MEDIUM,
            "src/app.py",
            3,
            "Detected Flask app with debug=True.",
        ),
        _finding(
            "semgrep",
            "python.lang.best-practice.open-never-closed",
            Severity.LOW,
            "src/app.py",
            40,
            "file object opened without corresponding close",
        ),
    )
    context = Context(
        ci="gitlab",
        project="payments/api",
        branch="main",
        commit="9b8a7c6d5e4f30211a2b3c4d5e6f708192a3b4c5",
        pipeline="90211",
        job="gate",
        url="https://gitlab.example.com/payments/api/-/jobs/4411",
    )
    return _decided("warning", _inputs(tests, coverage, findings), context)


def passing() -> Verdict:
    """A clean run on a release branch: every gate holds."""
    tests = TestResults(passed=1532, skipped=12, duration_seconds=301.0)
    coverage = Coverage.of([_coverage("src/payments/core.py", 2000, 1999, {1: (3, 4)})])
    findings: tuple[Finding, ...] = ()
    context = Context(
        ci="github",
        project="acme/payments-api",
        branch="release/2.4",
        commit="0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5",
        pipeline="7781234567",
        job="gate",
        url="https://github.com/acme/payments-api/actions/runs/7781234567",
    )
    return _decided("passing", _inputs(tests, coverage, findings), context)


def error() -> Verdict:
    """A run that could not decide: the coverage report is malformed, so no gate was evaluated."""
    tests = TestResults(passed=10)
    inputs = _inputs(tests, None, None)
    verdict = build_error(
        problem="build/coverage.xml: not well-formed XML at line 3, column 7: mismatched tag",
        policy=POLICY,
        context=Context(ci="jenkins", project="payments/api", branch="main", pipeline="513"),
        inputs=inputs,
        duration_ms=40,
        verdict_id="00000000-0000-4000-8000-6572726f7200",
        created_at=CREATED_AT,
    )
    return replace(verdict, tool=Tool(name="gatekeeper", version=TOOL_VERSION)).to_json()


CASES: dict[str, Callable[[], Verdict]] = {
    "failing": failing,
    "warning": warning,
    "passing": passing,
    "error": error,
}


def validate(verdict: dict[str, Any]) -> None:
    """Raise unless the verdict validates against schemas/verdict.schema.json, formats checked.

    jsonschema checks `date-time` only with an optional package installed, so it is checked here.
    """
    import json

    from jsonschema import Draft202012Validator, FormatChecker

    from gatekeeper.policy import resource_path

    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    schema = json.loads(resource_path("schemas", "verdict.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema, format_checker=checker).validate(verdict)


def renderer(name: str) -> Callable[..., str]:
    """The renderer of one format over a document: validated and typed first, as `verdicts show` reads
    a stored verdict (the renderers take the typed verdict)."""
    from gatekeeper.outputs import renderer_for
    from gatekeeper.verdict import parse

    render = renderer_for(name)

    def typed(document: Verdict, *, color: bool = False) -> str:
        return render(parse(document, "test verdict"), color=color)

    return typed
