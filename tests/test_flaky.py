"""Flaky tests from history: failed and passed on one commit within the window, cleared after passes in a
row; read from verdicts in the real embedded store, and end to end through the installed console script."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema

from gatekeeper.commands.check import CheckOptions, _flaky_histories
from gatekeeper.context import Context
from gatekeeper.engine import decide
from gatekeeper.flaky import FlakyHistory, TestRun, history, run_from_verdict, run_of
from gatekeeper.model import case_id
from gatekeeper.parsers import iter_reports, merge
from gatekeeper.policy import load_policy
from gatekeeper.store.sqlite import SqliteStore
from gatekeeper.verdict import LIST_LIMIT, build
from tests.conftest import REPO

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
VERDICT_SCHEMA = json.loads((REPO / "schemas" / "verdict.schema.json").read_text())


def run(verdict_id: str, commit: str | None, failed: set[str] = set(), flaky: set[str] = set()) -> TestRun:  # noqa: B006
    return TestRun(
        verdict_id=verdict_id, commit=commit, failed=frozenset(failed), flaky=frozenset(flaky), complete=True
    )


def test_failed_then_passed_on_one_commit_is_flaky() -> None:
    records = history([run("1", "c1", {"t.a"}), run("2", "c1"), run("3", "c2", {"t.a"})])
    assert records["t.a"] == FlakyHistory(
        failures=2, passes=1, flaky_commits=1, passes_since=0, window_days=14, clear_after=5
    )
    assert records["t.a"].flaky


def test_failing_on_every_run_is_not_flaky() -> None:
    records = history([run("1", "c1", {"t.a"}), run("2", "c1", {"t.a"}), run("3", "c2", {"t.a"})])
    assert records["t.a"].flaky_commits == 0 and not records["t.a"].flaky


def test_failed_and_passed_on_different_commits_is_not_flaky() -> None:
    """A fix (or a break) between commits is no flakiness."""
    records = history([run("1", "c1", {"t.a"}), run("2", "c2"), run("3", "c3", {"t.a"})])
    assert not records["t.a"].flaky


def test_a_re_run_pass_within_one_run_is_flaky_by_itself() -> None:
    records = history([run("1", "c1", flaky={"t.a"})])
    assert records["t.a"].flaky_commits == 1 and records["t.a"].flaky


def test_a_re_run_pass_in_a_run_without_a_commit_is_counted_as_a_run_not_a_commit() -> None:
    """It was counted in `flaky_commits` (under the key "run <id>") and said "on 1 commit"."""
    alone = history([run("1", None, flaky={"t.a"})])["t.a"]
    assert (alone.flaky_commits, alone.flaky_runs, alone.flaky) == (0, 1, True)
    assert alone.describe() == "failed and passed in 1 run without a commit"
    both = history([run("1", None, flaky={"t.a"}), run("2", None, flaky={"t.a"}), run("3", "c1", flaky={"t.a"})])
    assert (both["t.a"].flaky_commits, both["t.a"].flaky_runs) == (1, 2)
    assert both["t.a"].describe() == "failed and passed on 1 commit and in 2 runs without a commit"
    assert history([run("1", "c1", {"t.a"}), run("2", "c1")])["t.a"].describe() == "failed and passed on 1 commit"
    # Failed in one run and passed in another, neither naming a commit: nothing says it was the same commit.
    assert not history([run("1", None, {"t.a"}), run("2", None)])["t.a"].flaky
    # Cleared like commits are.
    cleared = history([run("1", None, flaky={"t.a"}), *(run(f"p{n}", None) for n in range(5))])["t.a"]
    assert (cleared.flaky_runs, cleared.flaky) == (0, False)


def test_passes_in_a_row_clear_it_and_a_later_failure_alone_is_a_real_one() -> None:
    runs = [run("1", "c1", {"t.a"}), run("2", "c1")]  # flaky on c1; the pass on c1 is the first in a row
    runs += [run(f"p{n}", f"d{n}") for n in range(4)]  # the fifth pass in a row clears it
    cleared = history(runs)["t.a"]
    assert (cleared.passes_since, cleared.flaky_commits, cleared.flaky) == (5, 0, False)
    after = history([*runs, run("9", "e1", {"t.a"})])["t.a"]
    assert (after.flaky_commits, after.flaky) == (0, False)
    four = history([*runs[:-1], run("9", "e1", {"t.a"})])["t.a"]  # four passes do not clear it
    assert (four.flaky_commits, four.flaky) == (1, True)


def test_an_incomplete_verdict_says_nothing_of_tests_it_does_not_name() -> None:
    partial = TestRun(verdict_id="2", commit="c1", failed=frozenset(), flaky=frozenset(), complete=False)
    records = history([run("1", "c1", {"t.a"}), partial])
    assert records["t.a"].passes == 0 and not records["t.a"].flaky


def test_the_run_of_the_listed_tests_is_the_whole_runs_outcome_of_them() -> None:
    """`run_of(tests=…)` passes cases over by name: one whose id is a listed one is kept however its id
    splits into classname and name (`a.b` + `c`, `a` + `b.c`, no classname), in any role it plays."""
    from gatekeeper.model import Outcome, TestCase

    def case(classname: str, name: str, outcome: Outcome = Outcome.FAILED, flaky: bool = False) -> TestCase:
        return TestCase(suite="s", classname=classname, name=name, outcome=outcome, flaky=flaky)

    notable = [
        case("a.b", "c"),
        case("a", "b.c", Outcome.PASSED, flaky=True),
        case("", "x.y"),
        case("k", "x.y", Outcome.ERROR),
        case("k", "p[1.5]"),
        case("k", "p[1.5]", Outcome.SKIPPED),
        case("other", "c"),
        case("", "c", flaky=True),
        case("z", "y", Outcome.PASSED, flaky=True),
    ]
    whole = run_of("v", "c1", notable, complete=True)
    for listed in (["a.b.c"], ["x.y", "k.x.y", "c"], ["k.p[1.5]", "z.y", "nothing.here"], [], ["other.c", "a.b.c"]):
        some = run_of("v", "c1", notable, complete=True, tests=listed)
        assert (some.failed, some.flaky) == (whole.failed & set(listed), whole.flaky & set(listed)), listed
    assert run_of("v", "c1", notable, complete=True, tests=["a.b.c"]).flaky == {"a.b.c"}


def _verdict(verdict_id: str, commit: str, job: str | None, failed: list[str], *, omitted: int = 0) -> dict[str, Any]:
    """A stored verdict as the store keeps it: what history reads is context, metrics and details."""
    tests = [
        {"classname": name.rsplit(".", 1)[0], "name": name.rsplit(".", 1)[1], "outcome": "failed", "flaky": False}
        for name in failed
    ]
    return {
        "schema": "gatekeeper.verdict/v2",
        "id": verdict_id,
        "status": "fail" if failed else "pass",
        "created_at": "2026-12-01T10:00:00.000000Z",
        "policy": {"name": "p"},
        "maturity": {},
        "context": {"project": "shop", "branch": "main", "commit": commit, "job": job},
        "metrics": {"tests.total": 10, "tests.failed": len(failed)},
        "details": {"tests": tests, "tests_omitted": omitted},
    }


def test_the_store_gives_one_jobs_runs_in_the_window_oldest_first(tmp_path: Path) -> None:
    times = iter(datetime(2026, 12, 1, 10, minute, tzinfo=timezone.utc) for minute in range(60))
    with SqliteStore(tmp_path / "verdicts.db", clock=lambda: datetime(2026, 10, 1, tzinfo=timezone.utc)) as store:
        old = _verdict("v0", "c0", "unit", ["t.a"])
        store.add({**old, "created_at": "2026-10-01T10:00:00.000000Z"})  # recorded before the window
    with SqliteStore(tmp_path / "verdicts.db", clock=lambda: next(times)) as store:
        store.add(_verdict("v1", "c1", "unit", ["t.a"]))
        store.add(_verdict("v2", "c1", "integration", []))  # another job runs other tests: says nothing
        store.add(_verdict("v3", "c1", "unit", []))
        store.add({**_verdict("v4", "c2", "unit", []), "metrics": {}})  # read no tests: left out
        runs = store.test_runs("shop", "unit", "2026-11-17")
    assert [r.verdict_id for r in runs] == ["v1", "v3"]
    assert runs[0] == TestRun(verdict_id="v1", commit="c1", failed=frozenset({"t.a"}), flaky=frozenset(), complete=True)
    assert history(runs)["t.a"].flaky


def test_verdicts_with_omitted_tests_infer_no_pass() -> None:
    read = run_from_verdict(_verdict("v", "c1", None, ["t.b"], omitted=3))
    assert read is not None and not read.complete


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS"))}
    environment.pop("GATEKEEPER_STORE", None)
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


JUNIT = """<testsuite name="pytest" tests="2">
<testcase classname="tests.test_shop" name="test_cart" time="0.1"/>
<testcase classname="tests.test_shop" name="test_checkout" time="0.2">{result}</testcase>
</testsuite>"""
POLICY = """policy: shop
gates:
  - id: tests-all-pass
    metric: tests.pass_percent
    min: 100
flaky:
  clear_after: 2
"""


def test_check_marks_a_failure_flaky_from_the_store_and_clears_it(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "pass.xml").write_text(JUNIT.format(result=""))
    (tmp_path / "fail.xml").write_text(JUNIT.format(result='<failure message="payment timed out"/>'))

    def check(report: str, commit: str) -> dict[str, Any]:
        out = tmp_path / "verdict.json"
        arguments = ["check", "--policy", "policy.yaml", "--project", "shop", "--commit", commit]
        done = cli(*arguments, "-o", f"json={out}", report, cwd=tmp_path)
        assert done.returncode in (0, 1), done.stderr
        document: dict[str, Any] = json.loads(out.read_text())
        jsonschema.validate(document, VERDICT_SCHEMA)
        return document

    first = check("fail.xml", "c1c1c1c")  # nothing known yet: a plain failure
    assert "history" not in first["details"]["tests"][0]
    check("pass.xml", "c1c1c1c")  # the retried job passes on the same commit
    third = check("fail.xml", "c2c2c2c")
    listed = third["details"]["tests"][0]
    assert listed["name"] == "test_checkout"
    assert listed["history"] == {
        "flaky": True,
        "failures": 2,
        "passes": 1,
        "flaky_commits": 1,
        "passes_since": 0,
        "window_days": 14,
        "clear_after": 2,
    }
    assert third["metrics"]["tests.flaky"] == 0  # this run's re-run count; history does not change it
    shown = cli("verdicts", "show", third["id"], "--store", ".gatekeeper/verdicts.db", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    check("pass.xml", "c3c3c3c")
    check("pass.xml", "c4c4c4c")  # two passes in a row: cleared
    fifth = check("fail.xml", "c5c5c5c")["details"]["tests"][0]["history"]
    assert (fifth["flaky"], fifth["flaky_commits"], fifth["failures"]) == (False, 0, 3)


def test_check_text_output_names_history_flakiness(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "pass.xml").write_text(JUNIT.format(result=""))
    (tmp_path / "fail.xml").write_text(JUNIT.format(result='<failure message="payment timed out"/>'))
    for report in ("pass.xml", "fail.xml"):
        done = cli("check", "--policy", "policy.yaml", "--project", "shop", "--commit", "c1c1c1c", report, cwd=tmp_path)
    assert done.returncode == 1
    assert (
        "failed  tests.test_shop.test_checkout (flaky in history: failed and passed on 1 commit): payment timed out"
        in done.stdout
    )


def test_a_missing_store_or_project_gives_no_history(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "fail.xml").write_text(JUNIT.format(result='<failure message="x"/>'))
    out = tmp_path / "v.json"
    done = cli("check", "--policy", "policy.yaml", "--no-store", "-o", f"json={out}", "fail.xml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "history" not in json.loads(out.read_text())["details"]["tests"][0]
    assert "Traceback" not in done.stderr


def test_check_says_a_run_without_a_commit_is_no_commit(tmp_path: Path) -> None:
    """Runs with no commit (no --commit, no git, no CI): a re-run pass is flaky "in 1 run without a commit"."""
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "rerun.xml").write_text(JUNIT.format(result='<flakyFailure message="once"/>'))
    (tmp_path / "fail.xml").write_text(JUNIT.format(result='<failure message="payment timed out"/>'))
    first = cli("check", "--policy", "policy.yaml", "--project", "shop", "rerun.xml", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    out = tmp_path / "verdict.json"
    done = cli("check", "--policy", "policy.yaml", "--project", "shop", "-o", f"json={out}", "fail.xml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "(flaky in history: failed and passed in 1 run without a commit): payment timed out" in done.stdout
    document = json.loads(out.read_text())
    jsonschema.validate(document, VERDICT_SCHEMA)
    assert document["context"].get("commit") is None
    recorded = document["details"]["tests"][0]["history"]
    assert (recorded["flaky"], recorded["flaky_commits"], recorded["flaky_runs"]) == (True, 0, 1)


def _odd_shapes() -> list[dict[str, Any]]:
    """Verdicts of every shape history must read as their whole documents say (ids v00, v01, …)."""
    base = _verdict("v", "c1", None, ["t.a"])
    odd_tests = [1, "x", None, {"classname": None, "name": "n", "outcome": "error"}, {"name": "f", "flaky": 1}]
    odd_tests += [
        {"classname": "k", "name": "p", "outcome": "passed"},
        {"classname": 3, "name": 4, "outcome": "failed"},
    ]
    odd_tests += [{"classname": "k", "name": "no outcome"}, {"classname": "", "name": "", "outcome": "failed"}]
    shapes: list[dict[str, Any]] = [
        {"details": {"tests": odd_tests, "tests_omitted": 0}},
        {"details": {"tests": odd_tests}},
        {"details": {"tests": None, "tests_omitted": None}},
        {"details": {"tests": {"classname": "a", "name": "b"}, "tests_omitted": False}},
        {"details": {"tests": [], "tests_omitted": True}},
        {"details": {"tests_omitted": []}},
        {"details": {"tests_omitted": {}}},
        {"details": {"tests_omitted": ""}},
        {"details": {"tests_omitted": "0"}},
        {"details": {"tests_omitted": 2.5}},
        {"details": []},
        {"details": "tests"},
        {"details": None},
        {"details": {"tests": [{"classname": "é\u2028", "name": '名前 "q"', "flaky": True}]}},
    ]
    shapes = [{**base, **shape} for shape in shapes]
    shapes.append({key: value for key, value in base.items() if key != "details"})
    for commit in ("", None, 7):
        shapes.append({**base, "context": {**base["context"], "commit": commit}})
    shapes.append({**base, "context": {"project": "shop"}})  # no commit, no job
    return [{**shape, "id": f"v{n:02}"} for n, shape in enumerate(shapes)]


def test_the_store_reads_of_a_verdict_what_run_from_verdict_reads_of_its_whole_body(tmp_path: Path) -> None:
    """test_runs hands gatekeeper.flaky only context.commit and details.tests/tests_omitted (a small record
    of each, not every body loaded): the runs are those of the whole stored documents, whatever their
    shape."""
    stored = _odd_shapes()
    times = iter(datetime(2026, 12, 1, 10, minute, tzinfo=timezone.utc) for minute in range(60))
    with SqliteStore(tmp_path / "verdicts.db", clock=lambda: next(times)) as store:
        for document in stored:
            store.add(document)
        runs = store.test_runs("shop", None, "2026-11-17")
    expected = [run_from_verdict(json.loads(json.dumps(document))) for document in stored]
    assert runs == expected
    assert len({(run.commit, run.failed, run.flaky, run.complete) for run in runs}) == 5  # the shapes differ


def test_the_window_is_when_the_store_recorded_a_verdict_not_the_time_it_claims(tmp_path: Path) -> None:
    """A verdict claiming 2099 stayed in every later window when `since` compared the claim; now it leaves
    the window when the day it was recorded does, and one claiming an old day is in while it was recorded
    in the window."""
    now = [datetime(2026, 12, 1, 10, tzinfo=timezone.utc)]
    with SqliteStore(tmp_path / "verdicts.db", clock=lambda: now[0]) as store:
        store.add({**_verdict("forged", "c1", "unit", ["t.a"]), "created_at": "2099-01-01T00:00:00.000000Z"})
        now[0] = datetime(2026, 12, 10, 10, tzinfo=timezone.utc)
        store.add({**_verdict("late", "c1", "unit", []), "created_at": "2026-10-01T00:00:00.000000Z"})
        assert [run.verdict_id for run in store.test_runs("shop", "unit", "2026-11-30")] == ["forged", "late"]
        assert [run.verdict_id for run in store.test_runs("shop", "unit", "2026-12-02")] == ["late"]
        assert store.test_runs("shop", "unit", "2026-12-10T10:00:00.000001Z") == []
        # the claim still filters the lists, where it is what a verdict says it belongs to
        assert [summary.id for summary in store.list(since="2026-12-02")] == ["forged"]


def test_only_a_new_verdict_that_read_tests_gets_a_record(tmp_path: Path) -> None:
    """No record for a verdict that read no tests or names no project (history never reads them), nor a
    second one when the same verdict is recorded again."""
    path = tmp_path / "verdicts.db"
    with SqliteStore(path) as store:
        assert store.add(_verdict("v1", "c1", "unit", ["t.a"])) is True
        assert store.add(_verdict("v1", "c1", "unit", ["t.a"])) is False  # a re-upload
        assert store.add({**_verdict("v2", "c1", "unit", []), "metrics": {"coverage.line_percent": 80.0}})
        assert store.add({**_verdict("v3", "c1", "unit", []), "context": {"project": None, "job": "unit"}})
        assert store.add(_verdict("v4", "c2", None, ["t.b"], omitted=2))
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            'SELECT verdict_id, project, job, "commit", complete, tests FROM test_runs'
        ).fetchall()
    finally:
        connection.close()
    assert rows == [
        ("v1", "shop", "unit", "c1", 1, '[{"classname":"t","name":"a","outcome":"failed","flaky":false}]'),
        ("v4", "shop", None, "c2", 0, '[{"classname":"t","name":"b","outcome":"failed","flaky":false}]'),
    ]


#: What `test_runs` read before schema 6 (issue 16): the bodies themselves, windowed by the claim.
_BODY_QUERY = (
    "SELECT id, json_extract(body, '$.context.commit', '$.details.tests_omitted', '$.details.tests') "
    "FROM verdicts WHERE project = ? AND created_at >= ? AND json_extract(body, '$.context.job') IS ? "
    "AND json_extract(body, '$.metrics.\"tests.total\"') IS NOT NULL ORDER BY received_at DESC, rowid DESC"
)


def test_a_store_of_schema_5_keeps_its_history(tmp_path: Path) -> None:
    """A file an earlier gatekeeper wrote, with verdicts of every shape in it: after the migration its
    records give the runs the bodies gave before it, for each job, and a new verdict joins them."""
    from gatekeeper.flaky import run_from_parts
    from gatekeeper.store.sqlite import MIGRATIONS

    path = tmp_path / "verdicts.db"
    documents = _odd_shapes()
    documents += [
        {**_verdict("u1", "c1", "unit", ["t.a", "t.b"]), "created_at": "2026-12-01T11:00:00.000000Z"},
        {**_verdict("u2", "c2", "unit", ["t.a"], omitted=1), "created_at": "2026-12-01T12:00:00.000000Z"},
        {**_verdict("u3", "c2", "unit", []), "metrics": {"tests.total": None}},  # read no tests
        {**_verdict("u4", "c2", "unit", []), "metrics": ["tests.total"]},
        {**_verdict("j5", "c2", None, ["t.a"]), "context": {"project": "shop", "job": 5}},  # no job asked about
        {**_verdict("p0", "c2", "unit", ["t.a"]), "context": {"job": "unit"}},  # no project
        _verdict("n1", "c4", "unit", ["t\x00x.a"]),  # NUL, which SQLite's json_extract would cut short
    ]
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN")
    for statement in (statement for migration in MIGRATIONS[:5] for statement in migration):
        connection.execute(statement)
    for n, document in enumerate(documents):
        context = document.get("context") or {}
        commit = context.get("commit")
        connection.execute(  # the columns as `add` wrote them (a numeric commit as its text)
            'INSERT INTO verdicts (id, created_at, status, project, "commit", body, received_at)'
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                document["id"],
                document["created_at"],
                document["status"],
                context.get("project"),
                str(commit) if isinstance(commit, int) else commit,
                json.dumps(document),
                f"2026-12-01T10:{n:02}:00.000000Z",
            ),
        )
    connection.execute("PRAGMA user_version = 5")
    connection.execute("COMMIT")
    before = {
        job: [
            run_from_parts(verdict_id, *json.loads(parts))
            for verdict_id, parts in reversed(connection.execute(_BODY_QUERY, ("shop", "2026-11-17", job)).fetchall())
        ]
        for job in (None, "unit")
    }
    connection.close()
    assert len(before[None]) == len(_odd_shapes()) and len(before["unit"]) == 3  # what the test is about
    assert before["unit"][-1].failed == {"t\x00x.a"}

    later = datetime(2026, 12, 2, tzinfo=timezone.utc)
    with SqliteStore(path, create=False) as store:  # a reader of an older store migrates it
        assert {job: store.test_runs("shop", job, "2026-11-17") for job in (None, "unit")} == before
    with SqliteStore(path, clock=lambda: later) as store:
        store.add(_verdict("u9", "c3", "unit", ["t.b"]))
        runs = store.test_runs("shop", "unit", "2026-11-17")
    assert runs[:-1] == before["unit"] and runs[-1].failed == {"t.b"}
    assert history(runs)["t.a"] == FlakyHistory(
        failures=2, passes=2, flaky_commits=0, passes_since=2, window_days=14, clear_after=5
    )


def test_check_reads_the_history_of_the_listed_tests_only_and_lists_the_same_records(tmp_path: Path) -> None:
    """A broken build fails more tests than a verdict lists (LIST_LIMIT): only the listed ones carry their
    record, so only theirs is computed.  The records and the verdict are those of every failing test's
    history; the run itself is read whole (a listed test re-run and passed in another report is flaky)."""
    failing = "".join(f'<testcase classname="t" name="c{n}"><failure message="m{n}"/></testcase>' for n in range(150))
    (tmp_path / "a.xml").write_text(f'<testsuite name="a">{failing}</testsuite>')
    rerun = '<testcase classname="t" name="c3"><flakyFailure message="once"/></testcase>'
    (tmp_path / "b.xml").write_text(f'<testsuite name="b">{rerun}</testsuite>')
    (tmp_path / "policy.yaml").write_text(POLICY)
    times = iter(datetime(2026, 12, 1, 10, minute, tzinfo=timezone.utc) for minute in range(60))
    with SqliteStore(tmp_path / "verdicts.db", clock=lambda: next(times)) as store:
        store.add(_verdict("p0", "c0", None, ["t.c5", "t.c120"]))
        store.add(_verdict("p1", "c1", None, []))  # every test passed on c1, which fails them now
        store.add(_verdict("p2", "c2", None, ["t.c7"], omitted=40))
    inputs = list(iter_reports([str(tmp_path / "a.xml"), str(tmp_path / "b.xml")]))
    policy = load_policy(str(tmp_path / "policy.yaml"))
    context = Context(project="shop", commit="c1")
    options = CheckOptions(policy=str(tmp_path / "policy.yaml"), store=str(tmp_path / "verdicts.db"))
    today = date(2026, 12, 7)

    records = _flaky_histories(options, policy, context, inputs, "now", today)

    notable = [case for report in inputs if report.evidence.tests for case in report.evidence.tests.notable]
    assert len(notable) == 151 and notable[-1].flaky
    with SqliteStore(tmp_path / "verdicts.db", create=False) as store:
        runs = store.test_runs("shop", None, "2026-11-23")
    everything = history(
        [*runs, run_of("now", "c1", notable, complete=True)],
        window_days=policy.flaky_window_days,
        clear_after=policy.flaky_clear_after,
        tests=[case_id(case.classname, case.name) for case in notable],
    )
    listed = [case_id(case.classname, case.name) for case in notable[:LIST_LIMIT]]
    assert records == {test: everything[test] for test in listed} and len(everything) == 150
    assert (records["t.c3"].passes, records["t.c3"].flaky) == (3, True)  # passed on re-run in b.xml: counted
    assert (records["t.c5"].failures, records["t.c7"].passes, records["t.c7"].flaky) == (2, 2, False)

    outcome = decide(merge(inputs), policy, context, today)

    def verdict(histories: dict[str, FlakyHistory] | None) -> dict[str, Any]:
        built = build(
            outcome=outcome,
            policy=policy,
            context=context,
            inputs=inputs,
            duration_ms=1,
            verdict_id="v",
            created_at="2026-12-07T10:00:00.000000Z",
            histories=histories,
        )
        return built.to_json()

    assert json.dumps(verdict(records)) == json.dumps(verdict(everything))
    assert json.dumps(verdict(records)) != json.dumps(verdict(None))
