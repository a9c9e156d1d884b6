"""The GitLab code-quality output: valid against GitLab's documented format, one issue per problem, stable
fingerprints. The byte-for-byte golden files are checked by test_golden.py (`*.codequality.json`)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import REPO
from tests.outputs.cases import CASES, renderer

SCHEMA = json.loads((REPO / "tests" / "data" / "gitlab-codequality.schema.json").read_text(encoding="utf-8"))
GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
render = renderer("gitlab-codequality")


def issues(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    report: list[dict[str, Any]] = json.loads(render(verdict))
    Draft202012Validator(SCHEMA).validate(report)
    fingerprints = [issue["fingerprint"] for issue in report]
    assert len(fingerprints) == len(set(fingerprints)), "GitLab shows only the first issue of a fingerprint"
    return report


def test_the_schema_is_a_valid_schema_that_rejects_what_gitlab_would() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    good = {
        "description": "d",
        "check_name": "c",
        "fingerprint": "f",
        "severity": "minor",
        "location": {"path": "a.py", "lines": {"begin": 3}},
    }
    validator = Draft202012Validator(SCHEMA)
    assert validator.is_valid([good])
    assert not validator.is_valid(good)  # an object, not an array
    assert not validator.is_valid([{**good, "severity": "high"}])
    assert not validator.is_valid([{**good, "location": {"path": "a.py"}}])
    assert not validator.is_valid([{key: value for key, value in good.items() if key != "fingerprint"}])


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_case_is_a_valid_report_with_one_issue_per_problem(case: str) -> None:
    verdict = CASES[case]()
    report = issues(verdict)
    gate_issues = [issue for issue in report if issue["check_name"].startswith("gatekeeper/gate/")]
    problems = [gate for gate in verdict["gates"] if gate["status"] in ("fail", "warn")]
    assert [issue["check_name"] for issue in gate_issues] == [f"gatekeeper/gate/{gate['id']}" for gate in problems]
    finding_issues = [issue for issue in report if not issue["check_name"].startswith("gatekeeper/")]
    assert len(finding_issues) == len(verdict["details"]["findings"])


def test_a_passing_run_reports_no_issue() -> None:
    assert issues(CASES["passing"]()) == []


def test_failed_gates_block_and_warned_gates_are_minor() -> None:
    by_name = {issue["check_name"]: issue for issue in issues(CASES["failing"]())}
    assert by_name["gatekeeper/gate/tests-all-pass"]["severity"] == "blocker"
    assert by_name["gatekeeper/gate/few-medium-findings"]["severity"] == "minor"
    assert by_name["gatekeeper/gate/tests-all-pass"]["location"] == {
        "path": "policies/level-3.yaml",
        "lines": {"begin": 1},
    }
    assert "3.2.2 All automated tests pass before delivery" in by_name["gatekeeper/gate/tests-all-pass"]["description"]


def test_unwaived_findings_point_at_their_line_and_waived_ones_are_left_out() -> None:
    report = issues(CASES["failing"]())
    shell = next(issue for issue in report if issue["check_name"] == "bandit/B602")
    assert shell["severity"] == "critical"  # a high finding
    assert shell["location"] == {"path": "src/payments/export.py", "lines": {"begin": 88}}
    # B101 in tests/** is waived in the case's policy; B314's waiver expired, so it is reported.
    names = {issue["check_name"] for issue in report}
    assert "bandit/B101" not in names
    assert "bandit/B314" in names


def test_an_undecided_run_is_one_blocker() -> None:
    report = issues(CASES["error"]())
    assert [(issue["check_name"], issue["severity"]) for issue in report] == [("gatekeeper/undecided", "blocker")]
    assert "not well-formed XML" in report[0]["description"]


def test_fingerprints_stay_when_the_figures_change() -> None:
    """The merge request compares fingerprints with the target branch: a worse figure is the same issue."""
    before = CASES["failing"]()
    after = copy.deepcopy(before)
    for gate in after["gates"]:
        gate["actual"] = 1.0
        gate["message"] = "different figures"
    for finding in after["details"]["findings"]:
        finding["line"] = (finding["line"] or 0) + 10  # code moved above it
    assert [issue["fingerprint"] for issue in issues(after)] == [issue["fingerprint"] for issue in issues(before)]


def test_duplicate_findings_windows_paths_and_omitted_findings() -> None:
    verdict = CASES["failing"]()
    finding = {
        "tool": "semgrep",
        "rule": "md5",
        "severity": "info",
        "path": ".\\src\\app\\hash.py",
        "line": None,
        "message": "MD5",
        "fingerprint": "abc",
    }
    verdict["details"]["findings"] = [finding, dict(finding)]
    verdict["details"]["findings_omitted"] = 250
    report = issues(verdict)
    md5 = [issue for issue in report if issue["check_name"] == "semgrep/md5"]
    assert len(md5) == 1
    assert md5[0]["location"] == {"path": "src/app/hash.py", "lines": {"begin": 1}}
    assert md5[0]["severity"] == "info"
    omitted = next(issue for issue in report if issue["check_name"] == "gatekeeper/findings-omitted")
    assert omitted["description"].startswith("250 more unwaived findings are not listed")
    verdict["details"]["findings_omitted"] = 1
    omitted = next(issue for issue in issues(verdict) if issue["check_name"] == "gatekeeper/findings-omitted")
    assert omitted["description"].startswith("1 more unwaived finding is not listed")  # issue 15, item 13


def test_check_writes_the_report_for_the_failing_example(tmp_path: Path) -> None:
    """Through the real command line, on the bundled failing example's reports."""
    reports = REPO / "examples" / "failing" / "reports"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS"))}
    result = subprocess.run(
        [
            GATEKEEPER,
            "check",
            "--policy",
            str(REPO / "rules" / "starter.yaml"),
            "--no-store",
            str(reports / "junit.xml"),
            str(reports / "coverage.xml"),
            str(reports / "bandit.json"),
            str(reports / "semgrep.json"),
            "--format",
            "json",
            "--output",
            f"gitlab-codequality={tmp_path / 'gl-code-quality.json'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env=environment,
    )
    assert result.returncode == 1, result.stderr
    verdict = json.loads(result.stdout)
    report = json.loads((tmp_path / "gl-code-quality.json").read_text(encoding="utf-8"))
    assert report == issues(verdict)
    failed = {issue["check_name"] for issue in report if issue["severity"] == "blocker"}
    assert failed == {"gatekeeper/gate/tests-all-pass", "gatekeeper/gate/no-critical-or-high-findings"}
    findings = [issue for issue in report if issue["check_name"].startswith(("bandit/", "semgrep/"))]
    assert len(findings) == len(verdict["details"]["findings"]) == 18
    assert {issue["location"]["path"] for issue in findings} == {"src/ledger/legacy.py", "src/ledger/statements.py"}
