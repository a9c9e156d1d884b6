"""Quarantine: a known-flaky test's failure does not block, yet is counted, listed and owned, until it expires."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from gatekeeper.context import Context
from gatekeeper.engine import decide
from gatekeeper.model import Outcome, case_id
from gatekeeper.outputs import renderer_for
from gatekeeper.parsers import merge, read_report
from gatekeeper.policy import PolicyProblems, load_policy, validate_policy
from gatekeeper.quarantine import apply_quarantine, matches
from gatekeeper.verdict import build, parse
from tests.conftest import REPO

TODAY = date(2026, 12, 7)
VERDICT_SCHEMA = json.loads((REPO / "schemas" / "verdict.schema.json").read_text())

#: Four tests: one passes, the upload test fails, a parametrised one fails, the database one errors.
REPORT = """<testsuite name="pytest" tests="4">
<testcase classname="tests.test_api" name="test_ok" time="0.1"/>
<testcase classname="tests.test_api" name="test_upload_big" time="2.0"><failure message="timed out"/></testcase>
<testcase classname="tests.test_api" name="test_retry[2-slow]" time="0.3"><failure message="flaky retry"/></testcase>
<testcase classname="tests.test_db" name="test_pool" time="0.2"><error message="pool exhausted"/></testcase>
</testsuite>"""

POLICY = """policy: quarantine-test
gates:
  - id: tests-all-pass
    metric: tests.pass_percent
    min: 100
quarantine:
  - test: "tests.test_api.test_upload*"
    reason: times out on the shared runner
    owner: team-api
    expires: {upload_expires}
  - test: "tests.test_api.test_retry[2-slow]"
    reason: the retry backoff races the clock
    owner: team-api
    expires: 2027-03-31
  - test: "tests.test_db.*"
    reason: the pool is shared with another job
    owner: team-db
    expires: {db_expires}
"""


def _files(tmp_path: Path, upload_expires: str = "2027-01-31", db_expires: str = "2027-01-31") -> tuple[Path, Path]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(upload_expires=upload_expires, db_expires=db_expires))
    report = tmp_path / "junit.xml"
    report.write_text(REPORT)
    return policy, report


def _verdict(tmp_path: Path, **expiries: str):  # type: ignore[no-untyped-def]
    policy_path, report_path = _files(tmp_path, **expiries)
    policy = load_policy(policy_path)
    report = read_report(report_path)
    outcome = decide(merge([report]), policy, Context(project="p"), TODAY)
    return outcome, build(outcome=outcome, policy=policy, context=Context(project="p"), inputs=[report], duration_ms=1)


def test_quarantined_failures_do_not_block_but_stay_counted_and_listed(tmp_path: Path) -> None:
    outcome, verdict = _verdict(tmp_path)
    metrics = outcome.metrics
    # 4 tests ran; 3 failures all quarantined: out of failed/errors and out of the rate's both sides
    assert metrics["tests.total"] == 4
    assert metrics["tests.quarantined"] == 3
    assert (metrics["tests.failed"], metrics["tests.errors"], metrics["tests.passed"]) == (0, 0, 1)
    assert metrics["tests.pass_percent"] == 100.0  # 1 of the 1 test that counts
    assert outcome.status.value == "pass"
    listed = {(case.name, case.quarantine) for case in verdict.details.tests}
    assert listed == {
        ("test_upload_big", "tests.test_api.test_upload*"),
        ("test_retry[2-slow]", "tests.test_api.test_retry[2-slow]"),  # brackets are literal, not a class
        ("test_pool", "tests.test_db.*"),
    }
    assert [(use.test, use.owner, use.tests) for use in verdict.quarantine.applied] == [
        ("tests.test_api.test_upload*", "team-api", 1),
        ("tests.test_api.test_retry[2-slow]", "team-api", 1),
        ("tests.test_db.*", "team-db", 1),
    ]
    document = verdict.to_json()
    jsonschema.validate(document, VERDICT_SCHEMA)
    assert parse(json.loads(json.dumps(document)), "verdict") == verdict


def test_an_expired_quarantine_stops_applying_and_says_so(tmp_path: Path) -> None:
    outcome, verdict = _verdict(tmp_path, db_expires="2026-12-06")  # yesterday: the pool error blocks again
    assert outcome.metrics["tests.quarantined"] == 2
    assert outcome.metrics["tests.errors"] == 1
    assert outcome.metrics["tests.pass_percent"] == 50.0  # 1 of 2 that count
    assert outcome.status.value == "fail"
    assert [(use.test, use.tests) for use in verdict.quarantine.expired] == [("tests.test_db.*", 1)]
    pool = next(case for case in verdict.details.tests if case.name == "test_pool")
    assert pool.quarantine is None and pool.outcome is Outcome.ERROR
    text = renderer_for("text")(verdict)
    assert "expired quarantine (2026-12-06): tests.test_db.* (owner team-db) no longer applies; it would have" in text
    assert "error   tests.test_db.test_pool: pool exhausted" in text
    markdown = renderer_for("markdown")(verdict)
    assert "⚠️ expired 2026-12-06: `tests.test_db.*` (owner team-db) no longer applies" in markdown


def test_an_entry_applies_through_its_expiry_day(tmp_path: Path) -> None:
    outcome, _ = _verdict(tmp_path, db_expires=TODAY.isoformat())
    assert outcome.metrics["tests.quarantined"] == 3


def test_outputs_name_the_quarantined_failures_and_their_owners(tmp_path: Path) -> None:
    _, verdict = _verdict(tmp_path)
    text = renderer_for("text")(verdict)
    assert "failed  tests.test_api.test_upload_big (quarantined): timed out" in text
    assert (
        "quarantined 1 failing test: tests.test_api.test_upload* (owner team-api, until 2027-01-31: "
        "times out on the shared runner)"
    ) in text
    markdown = renderer_for("markdown")(verdict)
    assert "**Quarantine**" in markdown
    assert "- `tests.test_db.*`: 1 failing test not blocking — the pool is shared with another job (owner team-db" in (
        markdown
    )
    assert "`tests.test_api.test_upload_big` failed (quarantined by `tests.test_api.test_upload*`)" in markdown


def test_a_policy_without_quarantine_gives_no_metric_and_no_section(tmp_path: Path) -> None:
    """Absent, not 0: verdicts of policies that quarantine nothing stay as they were."""
    policy = tmp_path / "plain.yaml"
    policy.write_text("policy: plain\ngates:\n  - id: t\n    metric: tests.pass_percent\n    min: 100\n")
    report = tmp_path / "junit.xml"
    report.write_text(REPORT)
    read = read_report(report)
    outcome = decide(merge([read]), load_policy(policy), Context(), TODAY)
    assert "tests.quarantined" not in outcome.metrics
    assert outcome.metrics["tests.pass_percent"] == 25.0
    document = build(outcome=outcome, policy=load_policy(policy), context=Context(), inputs=[read], duration_ms=1)
    assert "quarantine" not in document.to_json()


def test_glob_matches_the_whole_id_with_star_across_dots() -> None:
    from gatekeeper.model import TestCase
    from gatekeeper.policy import Quarantine

    case = TestCase(suite="", classname="tests.api.test_x", name="test_y[a]", outcome=Outcome.FAILED)
    assert case_id(case.classname, case.name) == "tests.api.test_x.test_y[a]"

    def entry(glob: str) -> Quarantine:
        return Quarantine(test=glob, reason="why", owner="me", expires=TODAY)

    assert matches(entry("tests.*"), case)
    assert matches(entry("*.test_y[a]"), case)
    assert matches(entry("tests.api.test_x.test_y[?]"), case)
    assert not matches(entry("tests.api.test_x.test_y"), case)  # the whole id, not a prefix
    assert not matches(entry("tests.api.test_x.test_y[b]"), case)
    bare = TestCase(suite="", classname="", name="TestGo/sub", outcome=Outcome.FAILED)
    assert matches(entry("TestGo/*"), bare)


def test_flaky_passes_are_not_quarantined(tmp_path: Path) -> None:
    """Only failures are: a test that passed on re-run already passed."""
    from gatekeeper.model import TestCase, TestResults
    from gatekeeper.policy import Quarantine

    flaky = TestCase(suite="", classname="t", name="a", outcome=Outcome.PASSED, flaky=True)
    tests = TestResults(passed=1, flaky=1, notable=(flaky,))
    outcome = apply_quarantine(tests, (Quarantine(test="t.*", reason="why", owner="me", expires=TODAY),), TODAY)
    assert outcome.quarantined == () and outcome.tests.quarantined == 0 and outcome.tests.passed == 1


def test_quarantined_failures_leave_the_failures_new_code_counts() -> None:
    """tests.new_failures reads the evidence's failures: a quarantined one must not block through it either."""
    from gatekeeper.model import TestCase, TestResults
    from gatekeeper.policy import Quarantine

    covered = TestCase(suite="", classname="t", name="flaky", outcome=Outcome.FAILED)
    real = TestCase(suite="", classname="t", name="broken", outcome=Outcome.FAILED)
    tests = TestResults(failed=2, notable=(covered, real))
    outcome = apply_quarantine(tests, (Quarantine(test="t.flaky", reason="why", owner="me", expires=TODAY),), TODAY)
    assert outcome.tests.notable == (real,) and outcome.quarantined[0][0] == covered
    assert (outcome.tests.failed, outcome.tests.quarantined, outcome.tests.total) == (1, 1, 2)


BAD_POLICY = """policy: bad-quarantine
gates:
  - id: tests-all-pass
    metric: tests.pass_percent
    min: 100
quarantine:
  - test: "*"
    reason: everything is flaky
    owner: nobody
    expires: 2027-01-01
  - test: "tests/test_api.py::test_upload"
    reason: flaky upload
    owner: team-api
    expires: 2027-13-01
  - test: tests.test_x.test_y
    reason: ok
    expires: 2027-01-01
  - test: tests.test_z
    reason: flaky since the runner upgrade
    owner: team-z
    expires: 2026-11-30
"""


def test_validate_names_each_bad_entry_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_POLICY)
    with pytest.raises(PolicyProblems) as raised:
        validate_policy(path, TODAY)
    lines = [f"{problem.line}: {problem.message}" for problem in raised.value.found]
    assert lines == [
        "7: quarantine.0.test: '*' quarantines every test: name the tests (classname.name globs)",
        "11: quarantine.1.test: 'tests/test_api.py::test_upload' is a pytest node id, which no JUnit report "
        "writes: match classname.name, here 'tests.test_api.test_upload'",
        "14: quarantine.1.expires: '2027-13-01' is not a date (YYYY-MM-DD)",
        "15: quarantine.2: 'owner' is required: who fixes the test and lifts the quarantine",
        "16: quarantine.2.reason: say why this test is quarantined (at least 3 characters)",
        "21: quarantine.3.expires: the quarantine of 'tests.test_z' expired on 2026-11-30 (7 days ago): its "
        "failures block again; fix the test, or renew the date",
    ]


def test_an_expired_entry_does_not_stop_check(tmp_path: Path) -> None:
    """Expiry is a mistake to `rules validate`, but `check` only stops applying the entry."""
    policy, _ = _files(tmp_path, db_expires="2026-01-01")
    assert [entry.expires.isoformat() for entry in load_policy(policy).quarantine][-1] == "2026-01-01"
    with pytest.raises(PolicyProblems, match="expired on 2026-01-01"):
        validate_policy(policy, TODAY)


def test_quarantine_is_inherited_and_in_the_effective_policy(tmp_path: Path) -> None:
    parent = tmp_path / "org.yaml"
    parent.write_text(
        "policy: org\ngates:\n  - id: t\n    metric: tests.pass_percent\n    min: 100\n"
        "quarantine:\n  - test: a.b\n    reason: flaky everywhere\n    owner: org\n    expires: 2027-01-01\n"
        "flaky:\n  window_days: 30\n"
    )
    child = tmp_path / "team.yaml"
    child.write_text(
        "policy: team\nextends: org.yaml\n"
        "quarantine:\n  - test: c.*\n    reason: flaky here\n    owner: team\n    expires: 2027-02-01\n"
        "flaky:\n  clear_after: 3\n"
    )
    policy = load_policy(child)
    assert [(entry.test, entry.source.rsplit(":", 1)[1]) for entry in policy.quarantine] == [("a.b", "7"), ("c.*", "4")]
    assert (policy.flaky_window_days, policy.flaky_clear_after) == (30, 3)
    document = policy.as_document()
    assert document["quarantine"][1] == {
        "test": "c.*",
        "reason": "flaky here",
        "owner": "team",
        "expires": "2027-02-01",
    }
    assert document["flaky"] == {"window_days": 30, "clear_after": 3}


GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS"))}
    environment.pop("GATEKEEPER_STORE", None)
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_end_to_end_passes_with_quarantined_failures_listed(tmp_path: Path) -> None:
    _files(tmp_path, upload_expires="2099-01-01", db_expires="2099-01-01")
    done = cli(
        "check", "--policy", "policy.yaml", "-o", "markdown=comment.md", "-o", "json=v.json", "junit.xml", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "quarantined 1 failing test: tests.test_db.* (owner team-db, until 2099-01-01" in done.stdout
    assert "failed  tests.test_api.test_upload_big (quarantined): timed out" in done.stdout
    assert "**Quarantine**" in (tmp_path / "comment.md").read_text()
    document = json.loads((tmp_path / "v.json").read_text())
    jsonschema.validate(document, VERDICT_SCHEMA)
    assert document["metrics"]["tests.quarantined"] == 3
    assert document["quarantine"]["applied"][2]["source"] == "policy.yaml:15"


def test_check_end_to_end_blocks_once_the_quarantine_expired(tmp_path: Path) -> None:
    _files(tmp_path, upload_expires="2020-01-01", db_expires="2099-01-01")
    done = cli("check", "--policy", "policy.yaml", "--no-store", "junit.xml", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "expired quarantine (2020-01-01): tests.test_api.test_upload* (owner team-api) no longer applies; "
        "it would have covered 1 failing test" in done.stdout
    )


def test_rules_validate_end_to_end_one_line_per_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_POLICY)
    done = cli("rules", "validate", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 6 and "Traceback" not in done.stderr
    assert lines[0].startswith("gatekeeper: error: bad.yaml:7:11: quarantine.0.test: '*' quarantines every test")
    assert "bad.yaml:14:14: quarantine.1.expires: '2027-13-01' is not a date (YYYY-MM-DD)" in lines[2]


def test_rules_show_writes_the_quarantine_back_as_a_policy(tmp_path: Path) -> None:
    """The effective policy `rules show` prints loads again, quarantine and flaky settings included."""
    _files(tmp_path)
    with (tmp_path / "policy.yaml").open("a") as policy:
        policy.write("flaky:\n  window_days: 7\n")
    shown = cli("rules", "show", "policy.yaml", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    (tmp_path / "shown.yaml").write_text(shown.stdout)
    again = load_policy(tmp_path / "shown.yaml")
    original = load_policy(tmp_path / "policy.yaml")
    assert [(e.test, e.owner, e.expires) for e in again.quarantine] == [
        (e.test, e.owner, e.expires) for e in original.quarantine
    ]
    assert (again.flaky_window_days, again.flaky_clear_after) == (7, 5)
    assert again.digest == original.digest


def test_a_new_quarantined_failure_does_not_block_the_no_new_failures_gate(tmp_path: Path) -> None:
    """The new-code gate counts failures the baseline did not know; a quarantined one is not counted."""
    from gatekeeper import baseline as baselines
    from gatekeeper.change import Change, ChangedFile, FileStatus
    from gatekeeper.model import line_mask

    policy_path, _ = _files(tmp_path)
    with policy_path.open("a") as policy:
        policy.write("  - test: tests.test_api.test_new_flake\n    reason: new and flaky\n    owner: me\n")
        policy.write("    expires: 2099-01-01\n")
    policy = load_policy(policy_path)
    main = tmp_path / "main.xml"
    main.write_text('<testsuite name="s" tests="1"><testcase classname="tests.test_api" name="test_ok"/></testsuite>')
    main_report = read_report(main)
    on_main = decide(merge([main_report]), policy, Context(branch="main"), TODAY)
    baseline_file = tmp_path / "baseline.json"
    document = build(
        outcome=on_main, policy=policy, context=Context(branch="main"), inputs=[main_report], duration_ms=1
    )
    baseline_file.write_text(json.dumps(document.to_json()))
    feature = tmp_path / "feature.xml"
    feature.write_text(
        '<testsuite name="s" tests="2"><testcase classname="tests.test_api" name="test_ok"/>'
        '<testcase classname="tests.test_api" name="test_new_flake"><failure message="timing"/></testcase></testsuite>'
    )
    app = ChangedFile(
        path="src/app.py", status=FileStatus.MODIFIED, added=line_mask([1]), lines_added=1, lines_removed=0
    )
    change = Change(source="--diff-base origin/main", base="b" * 40, head="h" * 40, files={app.path: app})
    outcome = decide(
        merge([read_report(feature)]),
        policy,
        Context(branch="feature"),
        TODAY,
        baseline=baselines.from_file(baseline_file),
        change=change,
    )
    assert outcome.metrics["tests.new_failures"] == 0
    assert outcome.metrics["tests.quarantined"] == 1 and outcome.status.value == "pass"
