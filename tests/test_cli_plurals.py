"""Counted words read right for one and for two (issue 15, item 13): "1 finding", never "1 findings" or
"1 attempt(s)". Each case runs the installed console script on a 1-item and a 2-item input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.client.loopback import LoopbackStore, serving

GATEKEEPER = Path(sys.executable).with_name("gatekeeper")
POLICY = """policy: plurals
gates:
  - id: tests-all-pass
    metric: tests.pass_percent
    min: 100
  - id: no-findings
    metric: findings.total
    max: 0
"""
#: One test that passed after one failed attempt; two tests, one failed and one flaky after two attempts.
ONE_TEST = '<testsuite name="s"><testcase classname="c" name="k"><flakyFailure message="once"/></testcase></testsuite>'
TWO_TESTS = (
    '<testsuite name="s"><testcase classname="c" name="a"><failure message="boom"/></testcase>'
    '<testcase classname="c" name="k"><flakyFailure message="once"/><flakyFailure message="twice"/></testcase>'
    "</testsuite>"
)


def gatekeeper(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, with no CI or gatekeeper variables of the machine's."""
    if not GATEKEEPER.exists():
        pytest.skip(f"console script not installed at {GATEKEEPER}")
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS", "GATEKEEPER_"))
    }
    return subprocess.run(
        [str(GATEKEEPER), *arguments], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


def sarif(path: Path, findings: int, suppressed: int) -> Path:
    """A SARIF file with `findings` active results and `suppressed` ones its tool suppressed in source."""

    def result(line: int, suppressions: list[dict[str, str]]) -> dict[str, object]:
        location = {"physicalLocation": {"artifactLocation": {"uri": "app.py"}, "region": {"startLine": line}}}
        return {
            "ruleId": "R1",
            "level": "error",
            "message": {"text": "unsafe call"},
            "locations": [location],
            "suppressions": suppressions,
        }

    results = [result(line, []) for line in range(1, findings + 1)]
    results += [result(100 + line, [{"kind": "inSource"}]) for line in range(suppressed)]
    document = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Scanner"}}, "results": results}]}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "one.xml").write_text(ONE_TEST, encoding="utf-8")
    (tmp_path / "two.xml").write_text(TWO_TESTS, encoding="utf-8")
    sarif(tmp_path / "one.sarif", findings=1, suppressed=1)
    sarif(tmp_path / "two.sarif", findings=2, suppressed=2)
    return tmp_path


def check(workspace: Path, *reports: str) -> str:
    result = gatekeeper("check", "-p", "policy.yaml", *reports, "--no-store", "--project", "g/app", cwd=workspace)
    assert result.returncode == 1, result.stderr  # the findings gate fails in both cases
    return result.stdout


def test_one_test_one_attempt_one_finding_read_in_the_singular(workspace: Path) -> None:
    out = check(workspace, "one.xml", "one.sarif")
    assert "FAIL  1 blocking gate failed: no-findings: findings 1 > 0" in out
    assert "test pass rate 100% ≥ 100% (1 of 1 test that ran passed)" in out
    assert "flaky   c.k: passed after 1 failed attempt: once" in out


def test_two_tests_two_attempts_two_gates_read_in_the_plural(workspace: Path) -> None:
    out = check(workspace, "two.xml", "two.sarif")
    assert "FAIL  2 blocking gates failed: tests-all-pass: test pass rate 50% < 100%" in out
    assert "(1 of 2 tests that ran passed); also no-findings" in out
    assert "findings 2 > 0" in out
    assert "flaky   c.k: passed after 2 failed attempts: once" in out


def test_a_reports_notes_count_one_result_and_two_results(workspace: Path) -> None:
    one = gatekeeper("metrics", "one.sarif", cwd=workspace)
    two = gatekeeper("metrics", "two.sarif", cwd=workspace)
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert "note: 1 result suppressed (SARIF suppressions): counted as waived" in one.stdout
    assert "note: 2 results suppressed (SARIF suppressions): counted as waived" in two.stdout
    assert "(s)" not in one.stdout + two.stdout


@pytest.mark.parametrize(
    ("script", "tried"),
    [([], "HTTP 400, 1 attempt)"), ([(503, {"Retry-After": "0"})], "HTTP 400, 2 attempts)")],
    ids=["refused-at-once", "refused-after-a-retry"],
)
def test_a_refused_upload_counts_its_attempts(workspace: Path, script: list[object], tried: str) -> None:
    """A real HTTP store on loopback answers 400 (after one 503 in the second case): rejected for good."""
    with serving(LoopbackStore(script=list(script), default=400)) as store:
        result = gatekeeper(
            "check", "-p", "policy.yaml", "one.xml", "--no-store", "--project", "g/app", "--upload", store.url,
            cwd=workspace,
        )  # fmt: skip
    warning = next(line for line in result.stderr.splitlines() if "verdict not uploaded" in line)
    assert warning.startswith("gatekeeper: warning: verdict not uploaded: rejected ")
    assert tried in warning and "(s)" not in result.stderr
