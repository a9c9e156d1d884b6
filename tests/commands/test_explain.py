"""`gatekeeper explain`: on verdicts `gatekeeper check` really produced from the bundled examples, and on
verdicts decided by the engine for a table of gates, whose advice must name the right numbers.

Every table case is explained twice: with the policy at hand, and from the verdict alone (the policy file
gone), which must say the same.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.commands.explain import Explanation, GateExplanation, explain, render_markdown, render_text, run
from gatekeeper.context import Context
from gatekeeper.engine import Baseline, Decision, Maturity, Outcome, evaluate
from gatekeeper.engine import GateStatus as Status
from gatekeeper.errors import InputError
from gatekeeper.model import Finding, Severity
from gatekeeper.policy import load_policy
from gatekeeper.status import ExitStatus
from gatekeeper.verdict import Verdict, build, parse
from gatekeeper.waivers import apply_waivers
from tests.conftest import REPO

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
LEVEL_3 = REPO / "rules" / "caict-cd" / "level-3.yaml"
EXAMPLES = REPO / "examples"


def _run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS"))}
    environment.pop("GATEKEEPER_STORE", None)
    return subprocess.run(
        [GATEKEEPER, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        input=stdin,
    )


def _check(example: str, branch: str, workspace: Path) -> Path:
    """The verdict `gatekeeper check` writes for an example project, as a CI job would run it."""
    reports = EXAMPLES / example / "reports"
    verdict = workspace / f"{example}-{branch.replace('/', '-')}.json"
    result = _run(
        "check",
        "-p",
        str(LEVEL_3),
        *(str(reports / name) for name in ("junit.xml", "coverage.xml", "bandit.json")),
        "--branch",
        branch,
        "--no-store",
        "-o",
        f"json={verdict}",
        cwd=workspace,
    )
    assert result.returncode == (1 if example == "failing" else 0), result.stderr
    return verdict


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    workspace = tmp_path_factory.mktemp("explain")
    return {
        "failing": _check("failing", "main", workspace),
        "passing": _check("passing", "feature/login", workspace),
    }


def _load(path: Path) -> dict[str, Any]:
    verdict: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return verdict


def _typed(document: dict[str, Any]) -> Verdict:
    """The verdict as every reader takes it: the document validated, then typed."""
    return parse(document, "test")


def _gate(explanation: Explanation, gate_id: str) -> GateExplanation:
    return next(gate for gate in explanation.gates if gate.id == gate_id)


# --- verdicts of the bundled examples --------------------------------------------------------------


def test_the_failing_example_names_its_failed_tests_and_high_findings(verdicts: dict[str, Path]) -> None:
    verdict = _load(verdicts["failing"])
    explanation = explain(_typed(verdict), load_policy(LEVEL_3))
    tests = _gate(explanation, "tests-all-pass")
    assert tests.status is Status.FAIL and tests.label == "to pass"
    failed = [case for case in verdict["details"]["tests"] if case["outcome"] in ("failed", "error")]
    metrics = verdict["metrics"]
    assert len(failed) == metrics["tests.failed"] + metrics["tests.errors"] == 3
    (advice,) = tests.advice
    assert advice.startswith("fix the 3 tests that did not pass (2 failed, 1 errored): ")
    for case in failed:
        assert f"{case['classname']}.{case['name']}" in advice
    assert "tests.test_legacy.test_load_config" in advice

    findings = _gate(explanation, "no-critical-or-high-findings")
    assert findings.status is Status.FAIL
    (advice,) = findings.advice
    assert metrics["findings.high"] == 3
    assert advice.startswith("fix or waive the 3 high findings")
    assert "bandit B602 at src/ledger/legacy.py:26" in advice and "bandit B324 at src/ledger/legacy.py:32" in advice
    assert "medium" not in advice  # only the high ones block this gate

    coverage = _gate(explanation, "line-coverage")
    covered, total = metrics["coverage.lines.covered"], metrics["coverage.lines.total"]
    spare = covered - math.ceil(50 * total / 100)
    assert (covered, total, spare) == (165, 197, 66)
    assert coverage.advice == ("line coverage may fall 33.8 points (66 covered lines) to the minimum 50%",)


def test_the_failing_example_says_what_holds_level_1_back(verdicts: dict[str, Path]) -> None:
    explanation = explain(_typed(_load(verdicts["failing"])), load_policy(LEVEL_3))
    assert (explanation.level_achieved, explanation.next_level) == (0, 1)
    (gate,) = explanation.next_level_gates
    assert gate.id == "tests-all-pass"
    assert gate.advice[0].startswith("fix the 3 tests that did not pass")
    text = render_text(explanation)
    assert "caict-devops-cd (levels 1-5): no level reached: level 1 is held back by tests-all-pass; the policy" in text
    assert "level 3: fail, held back by tests-all-pass, no-critical-or-high-findings" in text
    assert "to reach level 1:" in text


def test_the_passing_example_on_a_feature_branch(verdicts: dict[str, Path]) -> None:
    explanation = explain(_typed(_load(verdicts["passing"])), load_policy(LEVEL_3))
    assert explanation.status == "pass"
    deploy = _gate(explanation, "deploy-branch-evidence")
    assert deploy.status is Status.SKIP
    assert deploy.advice == ("on branches main, master, release/*",)
    tests = _gate(explanation, "tests-all-pass")
    assert tests.advice == ("every test that ran passed: one failure fails it",)
    assert (explanation.level_achieved, explanation.next_level) == (3, 4)
    held = {gate.id: gate for gate in explanation.next_level_gates}
    assert "ci-feedback-time" in held
    assert any("--pipeline-started-at" in advice for advice in held["ci-feedback-time"].advice)


@pytest.mark.parametrize("example", ["failing", "passing"])
def test_the_verdict_alone_explains_as_much_as_the_policy(verdicts: dict[str, Path], example: str) -> None:
    verdict = _load(verdicts[example])
    with_policy = explain(_typed(verdict), load_policy(LEVEL_3))
    alone = explain(_typed(verdict), None)
    assert alone.conditions_from == "verdict"
    assert [(g.id, g.status, g.label, g.advice) for g in alone.gates] == [
        (g.id, g.status, g.label, g.advice) for g in with_policy.gates
    ]


def test_explain_on_the_command_line(verdicts: dict[str, Path], tmp_path: Path) -> None:
    path = verdicts["failing"]
    result = _run("explain", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "to pass: fix or waive the 3 high findings" in result.stdout
    assert "the policy file" not in result.stdout  # the verdict names the pack, which is here, unchanged
    from_stdin = _run("explain", "-", cwd=tmp_path, stdin=path.read_text(encoding="utf-8"))
    assert from_stdin.stdout == result.stdout
    markdown = _run("explain", str(path), "--format", "markdown", cwd=tmp_path)
    assert markdown.returncode == 0, markdown.stderr
    assert "- **FAIL** `tests-all-pass`: test pass rate 91.9% \\< 100%" in markdown.stdout
    assert "tests.test\\_legacy.test\\_load\\_config" in markdown.stdout


def test_explain_the_latest_verdict_in_a_store(tmp_path: Path) -> None:
    reports = EXAMPLES / "failing" / "reports"
    store = tmp_path / "verdicts.db"
    result = _run("check", "-p", str(LEVEL_3), str(reports / "junit.xml"), "--store", str(store), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    result = _run("explain", "--store", str(store), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "for coverage.lines.total, add a coverage report (Cobertura, JaCoCo, LCOV, coverage.py" in result.stdout
    assert "for findings.critical and findings.high, add a security scan report (SARIF, bandit" in result.stdout


def test_explain_latest_and_a_prefix_read_the_default_store_as_verdicts_show_does(tmp_path: Path) -> None:
    """No --store: `explain latest` and `explain PREFIX` read .gatekeeper/verdicts.db, as `verdicts show` does
    (they said "no such verdict file"); level 0 reads as no level reached (issue 15, items 7 and 12)."""
    reports = EXAMPLES / "failing" / "reports"
    names = (str(reports / name) for name in ("junit.xml", "coverage.xml", "bandit.json"))
    missing = _run("explain", "latest", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip().endswith("no store at .gatekeeper/verdicts.db to look it up in as an id")
    assert len(missing.stderr.splitlines()) == 1
    checked = _run("check", "-p", str(LEVEL_3), *names, "--project", "group/app", "--format", "json", cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    verdict_id = json.loads(checked.stdout)["id"]
    shown = _run("verdicts", "show", "latest", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    for source in ("latest", verdict_id[:8]):
        result = _run("explain", source, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        # 3: no branch given applies every gate, commits-traced too, and tmp_path is no clone (issue 19)
        assert result.stdout.startswith("FAIL  caict-cd-level-3: 3 blocking gates failed: tests-all-pass")
        assert "caict-devops-cd (levels 1-5): no level reached: level 1 is held back by tests-all-pass" in result.stdout
        assert "level 0" not in result.stdout
    markdown = _run("explain", "latest", "--format", "markdown", cwd=tmp_path)
    assert "no level reached: level 1 is held back by tests-all-pass" in markdown.stdout
    unknown = _run("explain", "ffffffff", cwd=tmp_path)
    assert unknown.returncode == 2 and "ffffffff" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such verdict file"),
        ("{not json", "not a verdict: invalid JSON at line 1"),
        ('{"schema": "gatekeeper.verdict/v1"}', "not a gatekeeper verdict: "),
        ("[1, 2]", "not a gatekeeper verdict: "),
    ],
)
def test_a_bad_verdict_file_is_one_line_naming_it(content: str | None, problem: str, tmp_path: Path) -> None:
    path = tmp_path / "verdict.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as raised:
        run(str(path), io.StringIO())
    assert raised.value.status is ExitStatus.UNDECIDED
    assert str(raised.value).startswith(f"{path}: {problem}")
    result = _run("explain", str(path), cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"gatekeeper: error: {path}: {problem}")
    assert result.stdout == ""


def test_explain_needs_a_verdict(tmp_path: Path) -> None:
    result = _run("explain", cwd=tmp_path)
    assert result.returncode == 2
    assert "name a verdict file" in result.stderr


# --- a table of gates: the numbers in the advice ---------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    gate: str  # one gate, as policy YAML (a mapping)
    metrics: Mapping[str, float]
    status: Status
    advice: tuple[str, ...]  # fragments each piece of advice must hold, in order
    branch: str | None = "main"
    baseline: Mapping[str, float] | None = None


COVERAGE = {"coverage.lines.covered": 1203, "coverage.lines.total": 1685, "coverage.lines.percent": 1203 / 1685 * 100}
TESTS = {
    "tests.total": 22,
    "tests.passed": 18,
    "tests.failed": 1,
    "tests.errors": 1,
    "tests.skipped": 2,
    "tests.pass_percent": 90.0,
}
FINDINGS = {
    "findings.total": 7,
    "findings.critical": 0,
    "findings.high": 2,
    "findings.medium": 5,
    "findings.low": 0,
    "findings.info": 0,
}

CASES = [
    Case(
        "coverage-below-min",
        "{id: g, metric: coverage.lines.percent, min: 80}",
        COVERAGE,
        Status.FAIL,
        ("needs 145 more covered lines (or 8.6 more points)",),
    ),
    Case(
        "coverage-above-min",
        "{id: g, metric: coverage.lines.percent, min: 70}",
        COVERAGE,
        Status.PASS,
        ("line coverage may fall 1.4 points (23 covered lines) to the minimum 70%",),
    ),
    Case(
        "coverage-absent",
        "{id: g, metric: coverage.lines.percent, min: 70}",
        TESTS,
        Status.FAIL,
        ("for coverage.lines.percent, add a coverage report (Cobertura, JaCoCo, LCOV, coverage.py",),
    ),
    Case(
        "branches-absent-with-lines",
        "{id: g, metric: coverage.branches.percent, min: 50, if_absent: warn}",
        COVERAGE,
        Status.WARN,
        ("the coverage reports have no branch data",),
    ),
    Case(
        "tests-all-pass",
        "{id: g, metric: tests.pass_percent, min: 100}",
        TESTS,
        Status.FAIL,
        ("fix the 2 tests that did not pass (1 failed, 1 errored): t.test_a, t.test_b",),
    ),
    Case(
        "tests-95-percent",
        "{id: g, metric: tests.pass_percent, min: 95}",
        TESTS,
        Status.FAIL,
        ("fix 1 of the 2 tests that did not pass (1 failed, 1 errored): t.test_a, t.test_b",),
    ),
    Case(
        "no-tests-ran",
        "{id: g, metric: tests.pass_percent, min: 100}",
        {"tests.total": 3, "tests.skipped": 3, "tests.passed": 0, "tests.failed": 0, "tests.errors": 0},
        Status.FAIL,
        ("no test ran: all 3 tests in the reports were skipped",),
    ),
    Case(
        "no-high",
        "{id: g, metric: findings.high, max: 0}",
        FINDINGS,
        Status.FAIL,
        ("fix or waive the 2 high findings", ": bandit B602 at src/a.py:3, semgrep md5 at src/b.py"),
    ),
    Case(
        "few-medium",
        "{id: g, metric: findings.medium, max: 2, severity: warn}",
        FINDINGS,
        Status.WARN,
        ("fix or waive 3 of the 5 medium findings",),
    ),
    Case(
        "group-all",
        "{id: g, all: [{metric: findings.critical, max: 0}, {metric: findings.high, max: 0}]}",
        FINDINGS,
        Status.FAIL,
        ("fix or waive the 2 high findings",),
    ),
    Case(
        "group-any",
        "{id: g, any: [{metric: findings.high, max: 1}, {metric: coverage.lines.percent, min: 90}]}",
        {**FINDINGS, **COVERAGE},
        Status.FAIL,
        ("any one of: fix or waive 1 of the 2 high findings", "; or needs 314 more covered lines"),
    ),
    Case(
        "between",
        "{id: g, metric: tests.total, min: 30, max: 500}",
        TESTS,
        Status.FAIL,
        ("needs 8 more test cases in the test reports (at least 30)",),
    ),
    Case(
        "feedback-time",
        "{id: g, metric: pipeline.duration_seconds, max: 1800}",
        {"pipeline.duration_seconds": 2400},
        Status.FAIL,
        ("pipeline feedback time must drop by 10 min (to at most 30 min)",),
    ),
    Case(
        "feedback-absent",
        "{id: g, metric: pipeline.duration_seconds, max: 1800, if_absent: skip}",
        {},
        Status.SKIP,
        ("--pipeline-started-at",),
    ),
    Case(
        "ratchet-fell-too-far",
        "{id: g, metric: coverage.lines.percent, max_decrease: 0.5}",
        COVERAGE,
        Status.FAIL,
        (
            "line coverage must recover 7.6 points (to at least 79%: the baseline 79.5% less the "
            "0.5 points allowed), about 129 more covered lines",
        ),
        baseline={"coverage.lines.percent": 79.5},
    ),
    Case(
        "ratchet-holds",
        "{id: g, metric: coverage.lines.percent, max_decrease: 0.5}",
        COVERAGE,
        Status.PASS,
        ("line coverage may still fall 0.5 points (to 70.9%: the baseline 71.4% less the 0.5 points allowed)",),
        baseline={"coverage.lines.percent": 71.4},
    ),
    Case(
        "ratchet-findings",
        "{id: g, metric: findings.high, max_increase: 0}",
        FINDINGS,
        Status.FAIL,
        ("fix or waive 1 of the 2 high findings", "(the baseline 1 plus the 0 allowed)"),
        baseline={"findings.high": 1},
    ),
    Case(
        "ratchet-no-baseline",
        "{id: g, metric: coverage.lines.percent, max_decrease: 0.5, if_absent: skip}",
        COVERAGE,
        Status.SKIP,
        ("no baseline coverage.lines.percent to compare with",),
    ),
    Case(
        "skipped-by-branch",
        "{id: g, metric: tests.total, min: 1, when: {branch: ['release/*', '!release/old-*']}}",
        TESTS,
        Status.SKIP,
        ("on branches release/* except release/old-*",),
        branch="main",
    ),
    Case(
        "flaky",
        "{id: g, metric: tests.flaky, max: 0}",
        {**TESTS, "tests.flaky": 1},
        Status.FAIL,
        ("make the 1 flaky test pass on the first run: t.test_c",),
    ),
]

FOUND = (
    Finding(
        tool="bandit",
        rule="B602",
        severity=Severity.HIGH,
        tool_severity="HIGH",
        path="src/a.py",
        line=3,
        message="shell",
        fingerprint="f1",
    ),
    Finding(
        tool="semgrep",
        rule="md5",
        severity=Severity.HIGH,
        tool_severity="ERROR",
        path="src/b.py",
        line=None,
        message="md5",
        fingerprint="f2",
    ),
    Finding(
        tool="bandit",
        rule="B301",
        severity=Severity.MEDIUM,
        tool_severity="MEDIUM",
        path="src/c.py",
        line=9,
        message="pickle",
        fingerprint="f3",
    ),
)


def _verdict(case: Case, workspace: Path) -> tuple[dict[str, Any], Path]:
    """The verdict the engine decides for one gate on the case's metrics (details: two failed tests)."""
    from gatekeeper.model import Evidence, ReportInput, TestCase, TestResults
    from gatekeeper.model import Outcome as TestOutcome

    policy_path = workspace / "policy.yaml"
    policy_path.write_text(f"policy: table\ngates:\n  - {case.gate}\n", encoding="utf-8")
    policy = load_policy(policy_path)
    baseline = None
    if case.baseline is not None:
        baseline = Baseline(verdict_id="b" * 8, source="store", branch="main", created_at=None, metrics=case.baseline)
    context = Context(branch=case.branch)
    results = evaluate(policy, dict(case.metrics), context, baseline)
    cases = (
        TestCase(suite="s", classname="t", name="test_a", outcome=TestOutcome.FAILED, message="assert"),
        TestCase(suite="s", classname="t", name="test_b", outcome=TestOutcome.ERROR, message="setup"),
        TestCase(suite="s", classname="t", name="test_c", outcome=TestOutcome.PASSED, flaky=True),
    )
    evidence = Evidence(tests=TestResults(passed=1, failed=1, errors=1, notable=cases), findings=FOUND)
    report = ReportInput(path="r.xml", format="junit", sha256="0" * 64, evidence=evidence)
    outcome = Outcome(
        status=Decision.FAIL,
        reason="a table case",
        metrics=dict(case.metrics),
        gates=results,
        waivers=apply_waivers(FOUND, (), date(2026, 6, 1)),
        maturity=Maturity(model=None, level=None, level_achieved=None),
        baseline=baseline,
    )
    verdict = build(outcome=outcome, policy=policy, context=context, inputs=[report], duration_ms=1)
    return json.loads(json.dumps(verdict.to_json())), policy_path


@pytest.mark.parametrize("with_policy", [True, False], ids=["policy", "verdict-alone"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_advice_names_the_numbers(case: Case, with_policy: bool, tmp_path: Path) -> None:
    verdict, policy_path = _verdict(case, tmp_path)
    if not with_policy:
        policy_path.unlink()
    explanation = explain(_typed(verdict), load_policy(policy_path) if with_policy else None)
    (gate,) = explanation.gates
    assert gate.status is case.status, gate.why
    assert len(gate.advice) == 1, gate.advice
    position = 0
    for fragment in case.advice:
        found = gate.advice[0].find(fragment, position)
        assert found >= 0, f"{gate.advice[0]!r} does not say {fragment!r}"
        position = found + len(fragment)


def test_an_expired_waiver_is_listed_with_what_it_would_have_waived(tmp_path: Path) -> None:
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(
        "policy: p\ngates:\n  - {id: g, metric: findings.high, max: 0}\n"
        "waivers:\n  - match: {tool: bandit, rule: B602}\n    reason: reviewed\n    expires: 2026-01-31\n"
    )
    policy = load_policy(policy_path)
    waivers = apply_waivers(FOUND, policy.waivers, date(2026, 6, 1))
    outcome = Outcome(
        status=Decision.FAIL,
        reason="r",
        metrics=dict(FINDINGS),
        gates=evaluate(policy, dict(FINDINGS), Context(), None),
        waivers=waivers,
        maturity=Maturity(model=None, level=None, level_achieved=None),
    )
    verdict = build(outcome=outcome, policy=policy, context=Context(), inputs=[], duration_ms=1)
    explanation = explain(_typed(json.loads(json.dumps(verdict.to_json()))), policy)
    (expired,) = explanation.expired_waivers
    assert expired.startswith(f"tool=bandit rule=B602 (expired 2026-01-31, {policy_path}:5)")
    assert "it would have waived 1 finding, now counted" in expired
    assert "no maturity model" in render_text(explanation)
    assert "### Expired waivers" in render_markdown(explanation)


def test_a_run_that_could_not_decide_says_so(tmp_path: Path) -> None:
    verdict = tmp_path / "verdict.json"
    result = _run(
        "check", "-p", str(LEVEL_3), str(tmp_path / "missing.xml"), "--no-store", "-o", f"json={verdict}", cwd=tmp_path
    )
    assert result.returncode == 2
    text = io.StringIO()
    assert run(str(verdict), text) is ExitStatus.PASS
    assert text.getvalue().startswith(f"ERROR  caict-cd-level-3: {tmp_path / 'missing.xml'}: no such file")
    assert "the gate could not decide: fix the input named above" in text.getvalue()
    assert "caict-devops-cd: no level assessed (the run could not decide)" in text.getvalue()


# --- v2: conditions as data; v1: the frozen reader -----------------------------------------------------

V1 = REPO / "tests" / "data" / "verdicts" / "v1"
V1_CASES = sorted(path.parent.name for path in V1.glob("*/verdict.json"))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_v2_verdict_explains_the_same_with_and_without_its_policy(case: Case, tmp_path: Path) -> None:
    """Every gate kind (comparison, range, group, ratchet, absent metric, skipped by branch): the whole
    explanation, text and markdown, is the same whether the policy file is at hand or gone."""
    verdict, policy_path = _verdict(case, tmp_path)
    assert verdict["schema"] == "gatekeeper.verdict/v2"
    with_policy = explain(_typed(verdict), load_policy(policy_path))
    policy_path.unlink()
    alone = explain(_typed(verdict), None)
    assert (with_policy.conditions_from, alone.conditions_from) == ("policy", "verdict")
    assert render_text(alone) == render_text(with_policy)
    assert render_markdown(alone) == render_markdown(with_policy)
    (gate,) = alone.gates
    assert gate.advice, "every table case has advice"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_v2_gate_is_explained_from_its_condition_never_its_message(case: Case, tmp_path: Path) -> None:
    """The message reworded (as a later engine may word it) changes nothing but the `why` it shows."""
    verdict, policy_path = _verdict(case, tmp_path)
    policy_path.unlink()
    before = explain(_typed(verdict), None)
    for gate in verdict["gates"]:
        gate["message"] = "reworded: " + gate["message"].replace(" ", "  ")
    after = explain(_typed(verdict), None)
    assert [(g.id, g.status, g.label, g.advice) for g in after.gates] == [
        (g.id, g.status, g.label, g.advice) for g in before.gates
    ]


@pytest.mark.parametrize("name", V1_CASES)
def test_a_recorded_v1_verdict_explains_the_same_with_and_without_its_policy(name: str) -> None:
    """v1 verdicts written by the release before v2: the policy at hand, or the frozen v1 reader of the
    gate messages, give the same explanation of every gate (only the note on where conditions came
    from differs)."""
    verdict = _load(V1 / name / "verdict.json")
    assert verdict["schema"] == "gatekeeper.verdict/v1"
    policy_path = LEVEL_3 if name.startswith("example-") else V1 / name / "policy.yaml"
    with_policy = explain(_typed(verdict), load_policy(policy_path))
    alone = explain(_typed(verdict), None)
    assert alone.conditions_from == "v1 messages"
    assert [(g.id, g.status, g.why, g.label, g.advice) for g in alone.gates] == [
        (g.id, g.status, g.why, g.label, _v1_said(g.advice)) for g in with_policy.gates
    ]
    text = render_text(alone)
    assert text.endswith("conditions read back from its gate messages)\n")
    said = _v1_said(render_text(with_policy))
    assert said == text[: text.rindex("(a gatekeeper.verdict/v1")].rstrip("\n") + "\n"


def _v1_said(advice: Any) -> Any:
    """What a v1 verdict alone can say: v1 does not record the policy's baseline branch (v2 does)."""
    if isinstance(advice, tuple):
        return tuple(_v1_said(item) for item in advice)
    return advice.replace("of this project on main", "of this project on the policy's baseline branch")


@pytest.mark.parametrize("name", [name for name in V1_CASES if not name.startswith("example-")])
def test_a_recorded_v1_verdict_explains_as_its_v2_successor(name: str, tmp_path: Path) -> None:
    """The same table case decided today (v2) gives the same advice as the v1 verdict the release
    before recorded: the v1 reader reads the old wording back to the same conditions."""
    case = next(case for case in CASES if case.name == name)
    v2, _ = _verdict(case, tmp_path)
    v1 = _load(V1 / name / "verdict.json")
    assert [(g.id, g.status, g.label, g.advice) for g in explain(_typed(v1), None).gates] == [
        (g.id, g.status, g.label, _v1_said(g.advice)) for g in explain(_typed(v2), None).gates
    ]


def test_explain_reads_a_v1_verdict_on_the_command_line(tmp_path: Path) -> None:
    result = _run("explain", str(V1 / "example-failing" / "verdict.json"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "to pass: fix or waive the 3 high findings" in result.stdout
    assert "conditions read back from its gate messages" in result.stdout
