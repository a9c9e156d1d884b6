"""Issue 13, item 6: a verdict always fits the store server's default body limit, whatever the reports.

10,000 JUnit files made a 2.1 MB verdict (every report listed in `inputs`) that the server refused with
413.  Here `gatekeeper check --upload` runs on 10,000 real JUnit files, and on reports built to be as
large as they can get (very long names, paths and messages in characters that cost 4 or 6 bytes in
JSON, thousands of failing tests and findings, hundreds of notes): each verdict is under
DEFAULT_MAX_BODY, a real `gatekeeper serve` with its default limit stores it, and no count is lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from gatekeeper.context import Context
from gatekeeper.engine import decide
from gatekeeper.model import Evidence, Finding, Outcome, ReportInput, Severity, TestCase, TestResults
from gatekeeper.parsers import merge
from gatekeeper.server import DEFAULT_MAX_BODY
from gatekeeper.verdict import LIST_LIMIT, MAX_BYTES, build
from tests.client.realserver import ServeProcess, upload_server
from tests.client.test_spool import run
from tests.outputs import cases

POLICY_YAML = """policy: size
gates:
  - id: tests-all-pass
    metric: tests.pass_percent
    min: 100
  - id: no-findings
    metric: findings.total
    max: 0
    severity: warn
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, str]]:
    """One real server with its default body limit, and an upload token."""
    with upload_server(tmp_path_factory.mktemp("server")) as served:
        yield served


def check_and_upload(cwd: Path, served: tuple[ServeProcess, str], *reports: str) -> tuple[int, dict[str, Any]]:
    """`check --upload` of the reports; the exit code and the verdict it wrote, after asserting it stored."""
    server, token = served
    (cwd / "policy.yaml").write_text(POLICY_YAML)
    result = run(
        "check",
        "-p",
        "policy.yaml",
        *reports,
        "--no-store",
        "--output",
        "json=verdict.json",
        "--project",
        "group/app",
        "--upload",
        server.url,
        cwd=cwd,
        env={"GATEKEEPER_TOKEN": token},
    )
    assert result.returncode in (0, 1) and "not uploaded" not in result.stderr, result.stderr
    verdict = json.loads((cwd / "verdict.json").read_text(encoding="utf-8"))
    assert verdict["id"] in server.stored_ids()
    compact = json.dumps(verdict, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(compact) <= MAX_BYTES < DEFAULT_MAX_BODY
    return result.returncode, verdict


@pytest.mark.slow
def test_10000_junit_files_give_a_verdict_the_server_takes(tmp_path: Path, served: tuple[ServeProcess, str]) -> None:
    folder = tmp_path / "junit"
    folder.mkdir()
    for number in range(10_000):
        (folder / f"TEST-{number:05d}.xml").write_text(
            f'<testsuite name="suite{number}"><testcase classname="pkg.mod{number}" name="test_a" time="0.01"/>'
            f'<testcase classname="pkg.mod{number}" name="test_b" time="0.02"/></testsuite>'
        )
    code, verdict = check_and_upload(tmp_path, served, "junit/*.xml")
    assert code == 0
    assert verdict["metrics"]["tests.total"] == 20_000  # the metrics are never cut
    assert len(verdict["inputs"]) == LIST_LIMIT
    omitted = verdict["inputs_omitted"]
    assert omitted["count"] == 10_000 - LIST_LIMIT and omitted["formats"] == {"junit": 10_000 - LIST_LIMIT}
    listed = sum(report["counts"]["tests.total"] for report in verdict["inputs"])
    assert listed + omitted["counts"]["tests.total"] == 20_000  # counts kept


def test_pathological_reports_give_a_verdict_the_server_takes(tmp_path: Path, served: tuple[ServeProcess, str]) -> None:
    wide = "\U0001f600" * 400  # 4 bytes each in UTF-8; longer than any name is kept
    cases = "".join(
        f'<testcase classname="{wide}{n}" name="{wide}{n}"><failure message="m">{wide * 3}</failure></testcase>'
        for n in range(1_000)
    )
    (tmp_path / "failing.xml").write_text(f'<testsuite name="{wide}">{cases}</testsuite>', encoding="utf-8")
    control = "\u0001" * 400  # 6 bytes each as a JSON escape
    results = [
        {
            "ruleId": f"{control}{n}",
            "level": "error",
            "message": {"text": f"\ud800{control * 2}{n}"},  # and a lone surrogate
            "partialFingerprints": {"primaryLocationLineHash": f"{control}{n}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f"src/{control}{n}.py"}}}],
        }
        for n in range(1_000)
    ]
    sarif = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": control}}, "results": results}]}
    (tmp_path / "scan.sarif").write_text(json.dumps(sarif), encoding="utf-8")
    deep = tmp_path.joinpath(*["d" * 200] * 15)  # a path of 3,000 characters
    deep.mkdir(parents=True)
    empty_suites = "".join(f'<testsuite name="{"n" * 1_100}{n}" tests="1"/>' for n in range(30))  # a note each
    for number in range(120):
        (deep / f"{'r' * 100}{number}.xml").write_text(f"<testsuites>{empty_suites}</testsuites>", encoding="utf-8")

    code, verdict = check_and_upload(tmp_path, served, "failing.xml", "scan.sarif", f"{deep}/*.xml")
    assert code == 1  # the decision is whole: 1,000 failed tests
    metrics, details = verdict["metrics"], verdict["details"]
    assert metrics["tests.failed"] == 1_000 and metrics["tests.total"] == 1_000 + 120 * 30
    assert metrics["findings.total"] == 1_000
    assert 0 < len(details["tests"]) < LIST_LIMIT  # halved until it fitted
    assert len(details["tests"]) + details["tests_omitted"] == 1_000
    assert len(details["findings"]) + details["findings_omitted"] == 1_000
    assert len(verdict["inputs"]) + verdict["inputs_omitted"]["count"] == 122
    assert all(
        len(report["path"]) <= 300 and report["path"].endswith((".xml", ".sarif")) for report in verdict["inputs"]
    )
    assert any("\ufffd" in finding["message"] for finding in details["findings"])  # the surrogate, replaced


# -- the bound as a property, in process: any number of reports, tests, findings and notes, of any length --

_COSTLY = 'a\x01"\\\U0001f600\ud800é'  # 1 to 6 bytes each in JSON, and a lone surrogate


def _strings(most: int) -> st.SearchStrategy[str]:
    """Text up to `most` characters, repeated from a few costly ones (hypothesis builds it quickly)."""
    return st.builds(
        lambda unit, size: (unit * size)[:size], st.text(_COSTLY, min_size=1, max_size=4), st.integers(0, most)
    )


_CASES = st.builds(
    TestCase,
    suite=_strings(2_000),
    classname=_strings(2_000),
    name=_strings(2_000),
    outcome=st.sampled_from([Outcome.FAILED, Outcome.ERROR]),
    message=_strings(20_000),
)
_FINDINGS = st.builds(
    Finding,
    tool=_strings(1_000),
    rule=_strings(1_000),
    severity=st.sampled_from(list(Severity)),
    tool_severity=st.just("HIGH"),
    path=_strings(4_000),
    line=st.none() | st.integers(1, 10**6),
    message=_strings(20_000),
    fingerprint=_strings(1_000),
)


@st.composite
def _reports(draw: st.DrawFn) -> list[ReportInput]:
    count = draw(st.integers(1, 400))
    cases = draw(st.lists(_CASES, max_size=300))
    findings = draw(st.lists(_FINDINGS, max_size=300))
    notes = tuple(draw(st.lists(_strings(5_000), max_size=40)))
    path = draw(_strings(4_000))
    return [
        ReportInput(
            path=f"{path}{number}",
            format="junit" if number else "sarif",
            sha256="0" * 64,
            evidence=Evidence(findings=tuple(findings), notes=notes)
            if number == 0
            else Evidence(tests=TestResults(failed=len(cases), passed=number, notable=tuple(cases)), notes=notes),
        )
        for number in range(count)
    ]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(reports=_reports())
def test_any_verdict_fits_and_keeps_its_counts(reports: list[ReportInput]) -> None:
    evidence = merge(reports)
    outcome = decide(evidence, cases.POLICY, Context(project="group/app"), cases.TODAY)
    verdict = build(
        outcome=outcome, policy=cases.POLICY, context=Context(project="group/app"), inputs=reports, duration_ms=1
    ).to_json()
    body = json.dumps(verdict, ensure_ascii=False, separators=(",", ":")).encode("utf-8")  # strict: no surrogate
    target(float(len(body)))  # steer towards the largest verdicts
    assert len(body) <= MAX_BYTES
    assert verdict["metrics"] == dict(outcome.metrics)  # never cut
    details = verdict["details"]
    notable = sum(len(r.evidence.tests.notable) for r in reports if r.evidence.tests)
    assert len(details["tests"]) + details["tests_omitted"] == notable
    assert len(details["findings"]) + details["findings_omitted"] == len(outcome.waivers.kept)
    assert len(verdict["inputs"]) + verdict.get("inputs_omitted", {}).get("count", 0) == len(reports)
    cases.validate(verdict)
