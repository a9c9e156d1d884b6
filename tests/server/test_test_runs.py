"""Flaky history from the store server (issue 18): `GET /api/v1/test-runs` gives what the embedded
store's `test_runs` gives, on SQLite and PostgreSQL, and `check --upload` reads a test's history from
it with no embedded store at all."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.server.conftest import Server, on_day, unique_project
from tests.verdicts import GATEKEEPER


def _tests_verdict(
    make_verdict: Any, project: str, commit: str, job: str | None, failed: list[str], **extra: Any
) -> dict[str, Any]:
    """A real verdict whose details name `failed` (ids `classname.name`) as its only failing tests."""
    verdict: dict[str, Any] = make_verdict("failing", created_at=extra.pop("created_at", on_day(55)))
    verdict["context"].update(project=project, commit=commit, job=job, branch="main")
    template = verdict["details"]["tests"][0]
    verdict["details"]["tests"] = [
        {**template, "classname": test.rsplit(".", 1)[0], "name": test.rsplit(".", 1)[1]} for test in failed
    ]
    verdict["details"]["tests_omitted"] = extra.pop("omitted", 0)
    verdict.update(extra)
    return verdict


def test_test_runs_are_one_jobs_verdicts_that_read_tests_oldest_first(server: Server, make_verdict: Any) -> None:
    project = unique_project()
    first = _tests_verdict(make_verdict, project, "c1", "unit", ["t.a", "t.b"], created_at=on_day(50))
    other_job = _tests_verdict(make_verdict, project, "c1", "integration", ["t.z"], created_at=on_day(51))
    second = _tests_verdict(make_verdict, project, "c1", "unit", [], created_at=on_day(52))
    no_tests = _tests_verdict(make_verdict, project, "c2", "unit", [], created_at=on_day(53))
    no_tests["metrics"] = {key: value for key, value in no_tests["metrics"].items() if not key.startswith("tests.")}
    old = _tests_verdict(make_verdict, project, "c0", "unit", ["t.a"], created_at=on_day(5))
    partial = _tests_verdict(make_verdict, project, "c3", "unit", ["t.b"], created_at=on_day(54), omitted=3)
    no_job = _tests_verdict(make_verdict, project, "c3", None, ["t.c"], created_at=on_day(54))
    for verdict in (first, other_job, second, no_tests, old, partial, no_job):
        assert server.put(verdict).status_code == 201

    # since day 40, by receipt: all came today, `old` too, whatever day it claims
    answer = server.get("/api/v1/test-runs", project=project, job="unit", since=on_day(40, ""))
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"] == [
        {"verdict_id": first["id"], "commit": "c1", "failed": ["t.a", "t.b"], "flaky": [], "complete": True},
        {"verdict_id": second["id"], "commit": "c1", "failed": [], "flaky": [], "complete": True},
        {"verdict_id": old["id"], "commit": "c0", "failed": ["t.a"], "flaky": [], "complete": True},
        {"verdict_id": partial["id"], "commit": "c3", "failed": ["t.b"], "flaky": [], "complete": False},
    ]
    # no job given: the verdicts of no job; the limit keeps the newest
    jobless = server.get("/api/v1/test-runs", project=project, since=on_day(40, "")).json()["items"]
    assert [item["verdict_id"] for item in jobless] == [no_job["id"]]
    # in the order the server received them: `old` claims an earlier day, but came after `second`
    everything = server.get("/api/v1/test-runs", project=project, job="unit", since=on_day(1, "")).json()["items"]
    assert [item["verdict_id"] for item in everything] == [first["id"], second["id"], old["id"], partial["id"]]
    newest = server.get("/api/v1/test-runs", project=project, job="unit", since=on_day(1, ""), limit=2).json()
    assert [item["verdict_id"] for item in newest["items"]] == [old["id"], partial["id"]]


def test_test_runs_need_a_token_that_may_read_the_project(server: Server) -> None:
    params = {"project": "bank/ledger", "since": on_day(1, "")}
    assert server.get("/api/v1/test-runs", token="nobody", **params).status_code == 401
    assert server.get("/api/v1/test-runs", token="revoked", **params).status_code == 401
    assert server.get("/api/v1/test-runs", token="bank", **params).status_code == 200  # its own project
    refused = server.get("/api/v1/test-runs", token="other", **params)
    assert refused.status_code == 403 and "bank/ledger" in refused.json()["detail"]
    assert server.get("/api/v1/test-runs", token="read", **params).status_code == 200


def test_test_runs_refuse_bad_parameters_with_422(server: Server) -> None:
    for params in (
        {"project": "p", "since": "yesterday"},
        {"project": "p", "since": on_day(1, ""), "limit": 501},
        {"project": "p", "since": on_day(1, ""), "limit": 0},
        {"project": "p\x00", "since": on_day(1, "")},
        {"project": "p", "since": on_day(1, ""), "job": "j\x00"},
        {"since": on_day(1, "")},
        {"project": "p"},
    ):
        assert server.get("/api/v1/test-runs", **params).status_code == 422, params


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


def test_check_upload_reads_flaky_history_from_the_server(server: Server, tmp_path: Path) -> None:
    """No embedded store anywhere (--no-store): the history can only have come from the server."""
    project = unique_project()
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "pass.xml").write_text(JUNIT.format(result=""))
    (tmp_path / "fail.xml").write_text(JUNIT.format(result='<failure message="payment timed out"/>'))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GATEKEEPER_", "CI_", "GITLAB", "GITHUB_"))}
    environment["GATEKEEPER_TOKEN"] = server.tokens["bank"]  # an upload token of bank/*: a CI job's own

    def check(report: str, commit: str) -> dict[str, Any]:
        out = tmp_path / "verdict.json"
        done = subprocess.run(
            [
                GATEKEEPER,
                "check",
                "--no-store",
                "--upload",
                server.url,
                "--require-upload",
                "--policy",
                "policy.yaml",
                "--project",
                project,
                "--commit",
                commit,
                "-o",
                f"json={out}",
                report,
            ],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode in (0, 1), done.stderr
        assert "warning" not in done.stderr, done.stderr
        document: dict[str, Any] = json.loads(out.read_text())
        return document

    first = check("fail.xml", "c1c1c1c")
    history = first["details"]["tests"][0]["history"]  # nothing on the server yet: this run alone
    assert (history["failures"], history["passes"], history["flaky"]) == (1, 0, False)
    check("pass.xml", "c1c1c1c")  # the retried job passes on the same commit
    third = check("fail.xml", "c2c2c2c")["details"]["tests"][0]
    assert third["name"] == "test_checkout"
    assert third["history"] == {
        "flaky": True,
        "failures": 2,
        "passes": 1,
        "flaky_commits": 1,
        "passes_since": 0,
        "window_days": 14,
        "clear_after": 2,
    }
    check("pass.xml", "c3c3c3c")
    check("pass.xml", "c4c4c4c")  # two passes in a row: cleared
    fifth = check("fail.xml", "c5c5c5c")["details"]["tests"][0]["history"]
    assert (fifth["flaky"], fifth["flaky_commits"], fifth["failures"]) == (False, 0, 3)
    assert server.get("/api/v1/verdicts", project=project).json()["items"][0]["commit"] == "c5c5c5c"


def test_check_upload_says_why_there_is_no_history_and_still_decides(server: Server, tmp_path: Path) -> None:
    """A token that may not read the project: one warning line, the verdict decided as without history."""
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "fail.xml").write_text(JUNIT.format(result='<failure message="x"/>'))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GATEKEEPER_", "CI_", "GITLAB", "GITHUB_"))}
    environment["GATEKEEPER_TOKEN"] = server.tokens["other"]
    done = subprocess.run(
        [
            GATEKEEPER,
            "check",
            "--no-store",
            "--upload",
            server.url,
            "--policy",
            "policy.yaml",
            "--project",
            unique_project(),
            "--format",
            "json",
            "fail.xml",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "gatekeeper: warning: no flaky history: " in done.stderr and "403" in done.stderr
    assert "Traceback" not in done.stderr
    assert "history" not in json.loads(done.stdout)["details"]["tests"][0]


def test_the_tests_pages_read_is_the_newest_received_of_the_window_on_both_databases(
    server: Server, make_verdict: Any
) -> None:
    """`queries.recent_verdicts` (the tests page's one read) on the server's own database, then ranked."""
    from sqlalchemy import create_engine

    from gatekeeper.server.web.flakiness import board
    from gatekeeper.server.web.queries import recent_verdicts

    project = unique_project()
    made = [
        _tests_verdict(make_verdict, project, "c1", "unit", ["t.a"]),
        _tests_verdict(make_verdict, project, "c1", "unit", []),
        _tests_verdict(make_verdict, project, "c2", "unit", ["t.a"], created_at=on_day(2)),  # claims an old day
    ]
    made[1]["context"]["branch"] = "dev"
    for verdict in made:
        assert server.put(verdict).status_code == 201
    engine = create_engine(server.db_url)
    try:
        everything = recent_verdicts(engine, project, None, "2000-01-01T00:00:00.000000Z")
        newest = recent_verdicts(engine, project, None, "2000-01-01T00:00:00.000000Z", limit=2)
        on_main = recent_verdicts(engine, project, "main", "2000-01-01T00:00:00.000000Z")
        later = recent_verdicts(engine, project, None, "9999-01-01T00:00:00.000000Z")
    finally:
        engine.dispose()
    # by receipt, oldest first, whatever a verdict claims
    assert [v.id for v in everything] == [verdict["id"] for verdict in made]
    assert [v.id for v in newest] == [made[1]["id"], made[2]["id"]]
    assert [v.id for v in on_main] == [made[0]["id"], made[2]["id"]] and later == []
    # the database gives the page only what it ranks by: a test list, not the whole verdict
    assert everything[0].document["context"] == {"job": "unit", "commit": "c1"}
    assert [case["name"] for case in everything[0].document["details"]["tests"]] == ["a"]
    assert "gates" not in everything[0].document and "findings" not in everything[0].document["details"]
    ranked = board(everything).flakiest[0]
    assert (ranked.test, ranked.runs, ranked.failures, ranked.flips) == ("t.a", 3, 2, 2)
