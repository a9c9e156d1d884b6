"""The server's queries on both databases, below the API: what the planner does with them."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select, text

from gatekeeper.server import db
from gatekeeper.store.codec import utc_text
from tests.verdicts import GATEKEEPER


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_id_prefix_is_answered_from_an_index(database: str) -> None:
    engine = db.open_database(database)
    try:
        query = select(db.verdicts.c.id).where(*db.Filters(id_prefix="3f2a9c").clauses())
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                plan = " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
                assert "SEARCH verdicts USING" in plan and "(id>? AND id<?)" in plan, plan
            else:
                connection.execute(text("SET enable_seqscan = off"))  # an empty table: ask what it could use
                plan = " ".join(str(row[0]) for row in connection.execute(text(f"EXPLAIN {compiled}")))
                assert "verdicts_id_bytewise" in plan and "Index Cond" in plan, plan
    finally:
        engine.dispose()


def test_id_prefix_finds_every_id_under_a_collation_that_ignores_punctuation(tmp_path: Path) -> None:
    """Many PostgreSQL databases sort linguistically (en_US): `-` is passed over, so `3f2a-9c` does not lie
    between `3f2a-` and `3f2a.` and a plain range on ids would miss it.  ICU's `ka-shifted` sorts like that."""
    from tests.client.realserver import postgres_database
    from tests.verdicts import check_example

    icu = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US-u-ka-shifted' LOCALE 'C.UTF-8'"
    with postgres_database(icu) as url:
        engine = db.open_database(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT '3f2a-9c' < '3f2a.'")).scalar() is False  # the trap is set
            verdict = check_example(tmp_path, "passing")
            for verdict_id in ("3f2a-9c", "3f2a-0a", "3f2b-00"):
                db.add_verdict(engine, {**verdict, "id": verdict_id})
            found, _ = db.list_verdicts(engine, db.Filters(id_prefix="3f2a-"), limit=10, after=None)
            assert sorted(summary.id for summary in found) == ["3f2a-0a", "3f2a-9c"]
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database no test has migrated yet: SQLite in a file, PostgreSQL one of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        from tests.client.realserver import postgres_database

        with postgres_database() as url:
            yield url


def test_migration_0004_pads_times_adds_received_at_and_orders_by_it(fresh_database: str, tmp_path: Path) -> None:
    """A database as revision 0003 left it, with the rows issue 13 found: a year written unpadded
    ('999-…', which sorted after '2026-…') and one dated 9999.  After the upgrade every time is in the
    one sortable form, received_at is filled (never later than the upgrade), the indexes order by it,
    and the next real verdict is the latest — in the queries, the release lookup and on the pages."""
    from datetime import datetime, timezone

    from sqlalchemy import inspect

    from gatekeeper.release import Member
    from gatekeeper.server import auth, migrations, releases
    from tests.server.conftest import start_server
    from tests.verdicts import check_example

    database = fresh_database
    engine = db.make_engine(database)
    try:
        migrations.upgrade(engine, "0003_bytewise_id")
        body = check_example(tmp_path, "passing", "--project", "bank/ledger", "--branch", "main", "--commit", "c1c1c1c")
        legacy = {
            "legacy-0999": "999-01-01T00:00:00.000000Z",  # as strftime('%Y') wrote year 999 on glibc
            "legacy-9999": "9999-12-31T23:59:59.000000Z",
            "legacy-real": "2026-11-20T10:00:00.000000Z",
        }
        with engine.begin() as connection:
            for verdict_id, created_at in legacy.items():
                connection.execute(
                    text(
                        'INSERT INTO verdicts (id, created_at, status, project, branch, "commit", pipeline,'
                        " policy_name, level_achieved, body) VALUES (:id, :created_at, 'pass', 'bank/ledger',"
                        " 'main', 'c1c1c1c', '1', 'p', 3, :body)"
                    ),
                    {"id": verdict_id, "created_at": created_at, "body": json.dumps({**body, "id": verdict_id})},
                )
                connection.execute(
                    text("INSERT INTO verdict_metrics (verdict_id, name, value) VALUES (:id, 'tests.total', 1)"),
                    {"id": verdict_id},
                )
            connection.execute(
                text(
                    "INSERT INTO tokens (id, secret_sha256, scope, projects, created_at, expires_at, revoked_at)"
                    " VALUES ('t1', 'x', 'read', '[]', '999-01-01T00:00:00.000000Z', '2999-01-01T00:00:00.000000Z',"
                    " '999-01-02T00:00:00.000000Z')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO releases (name, level, created_at, updated_at, body) VALUES"
                    " ('r', 3, '999-01-01T00:00:00.000000Z', '999-01-02T00:00:00.000000Z', '{}')"
                )
            )
        before = utc_text(datetime.now(timezone.utc))

        migrations.upgrade(engine, "0004_received_at")  # this revision's doing, whatever comes after it

        after = utc_text(datetime.now(timezone.utc))
        assert migrations.current(engine) == "0004_received_at"
        with engine.connect() as connection:
            rows = {
                row.id: (row.created_at, row.received_at) for row in connection.execute(text("SELECT * FROM verdicts"))
            }
            token = connection.execute(text("SELECT created_at, expires_at, revoked_at FROM tokens")).one()
            release = connection.execute(text("SELECT created_at, updated_at FROM releases")).one()
        assert rows["legacy-0999"] == ("0999-01-01T00:00:00.000000Z",) * 2
        assert rows["legacy-real"] == ("2026-11-20T10:00:00.000000Z",) * 2
        assert rows["legacy-9999"][0] == "9999-12-31T23:59:59.000000Z"
        assert before <= rows["legacy-9999"][1] <= after  # received before the upgrade, at the latest
        assert tuple(token) == (
            "0999-01-01T00:00:00.000000Z",
            "2999-01-01T00:00:00.000000Z",
            "0999-01-02T00:00:00.000000Z",
        )
        assert tuple(release) == ("0999-01-01T00:00:00.000000Z", "0999-01-02T00:00:00.000000Z")
        indexes = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("verdicts")}
        assert indexes["verdicts_project_branch_received"] == ["project", "branch", "received_at", "id"]
        assert indexes["verdicts_project_commit_received"] == ["project", "commit", "received_at", "id"]
        assert indexes["verdicts_received_id"] == ["received_at", "id"]
        assert not {"verdicts_project_branch_created", "verdicts_project_commit_created"} & set(indexes)

        listed, _ = db.list_verdicts(engine, db.Filters(project="bank/ledger"), limit=10, after=None)
        assert [summary.id for summary in listed] == ["legacy-9999", "legacy-real", "legacy-0999"]
        migrations.upgrade(engine)  # the revisions after this one, as the server starting would
        rerun = {**body, "id": "real-rerun", "status": "fail"}
        assert db.add_verdict(engine, rerun)[0] == "created"
        assert [summary.id for summary in db.latest(engine, db.Filters(project="bank/ledger"))] == ["real-rerun"]
        assert releases.latest_verdict_for(engine, Member(project="bank/ledger", commit="c1c1c1c")) == rerun
        with engine.connect() as connection:
            received = connection.execute(text("SELECT received_at FROM verdicts WHERE id = 'real-rerun'")).scalar()
        assert {row[:3] for row in db.latest_metric_values(engine)} == {("bank/ledger", "main", received)}
        read_token = auth.create(engine, auth.Scope.READ)[1]
    finally:
        engine.dispose()

    # The pages and the report read the migrated rows: every one renders.
    server = start_server(database, tmp_path)
    try:
        cookies = {"gatekeeper_session": read_token}
        for path in ("/", "/project?name=bank/ledger", "/verdicts/legacy-0999"):
            page = requests.get(f"{server.url}{path}", cookies=cookies, timeout=30, allow_redirects=False)
            assert page.status_code == 200, path
        environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")}
        report = subprocess.run(
            [GATEKEEPER, "report", "--project", "bank/ledger", "--server", server.url, "--format", "markdown"],
            capture_output=True, text=True, cwd=tmp_path, env=environment | {"GATEKEEPER_TOKEN": read_token},
            timeout=120, check=False,
        )  # fmt: skip
    finally:
        server.stop()
    assert report.returncode == 0, report.stderr
    assert "Latest verdict: **FAIL**" in report.stdout and "legacy-0999" not in report.stdout  # 0999: out of 30 days


def test_a_members_latest_verdict_and_a_branchs_newest_are_index_ranges(database: str) -> None:
    """The orders by received_at need no sort: a member's latest verdict and a branch's newest page
    walk the indexes migration 0004 made, on both databases."""
    from gatekeeper.release import Member
    from gatekeeper.server.releases import latest_query

    engine = db.open_database(database)
    try:
        queries = {
            "verdicts_project_commit_received": latest_query(Member(project="bank/ledger", commit="c1c1c1c")),
            "verdicts_project_pipeline_received": latest_query(Member(project="bank/ledger", pipeline="7")),
            "verdicts_project_branch_received": select(*db.SUMMARY_COLUMNS)
            .where(*db.Filters(project="bank/ledger", branch="main").clauses())
            .order_by(*db.NEWEST_FIRST)
            .limit(20),
        }
        with engine.connect() as connection:
            for index, query in queries.items():
                compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
                if engine.dialect.name == "sqlite":
                    rows = connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
                    plan = " ".join(str(row[-1]) for row in rows)
                    assert f"USING INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
                else:
                    connection.execute(text("SET enable_seqscan = off"))  # an empty table: ask what it could use
                    plan = " ".join(str(row[0]) for row in connection.execute(text(f"EXPLAIN {compiled}")))
                    assert index in plan and "Sort" not in plan, plan
    finally:
        engine.dispose()


def test_claimed_time_is_rfc_3339_within_the_window_of_the_servers_clock() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    assert db.claimed_time("2026-12-08T12:00:00Z", now) == "2026-12-08T12:00:00.000000Z"  # exactly a day ahead
    assert db.claimed_time("2025-12-06T12:00:00Z", now) == "2025-12-06T12:00:00.000000Z"  # exactly 366 days back
    assert db.claimed_time("2026-12-07t17:30:00.1234567+05:30", now) == "2026-12-07T12:00:00.123456Z"
    assert db.claimed_time("2026-12-07T11:00:00-01:00", now) == "2026-12-07T12:00:00.000000Z"
    refused = {
        "2026-12-08T12:00:00.000001Z": "more than 1 day ahead of the server's clock (2026-12-07T12:00:00.000000Z)",
        "2025-12-06T11:59:59Z": "more than 366 days before the server's clock",
        "0999-01-01T00:00:00Z": "more than 366 days before",
        "9999-12-31T23:59:59Z": "ahead of the server's clock",
        "9999-12-31T23:59:59-00:01": "not a valid date-time",  # past year 9999 in UTC
        "2026-12-07T12:00:00.Z": "not an RFC 3339 date-time",
        "2026-12-07T12:00:00": "not an RFC 3339 date-time",
        "2026-13-01T00:00:00Z": "not a valid date-time (month must be in 1..12)",
        "2026-12-07T12:00:00Z\n": "not an RFC 3339 date-time",
        "٢٠٢٦-12-07T12:00:00Z": "not an RFC 3339 date-time",  # Arabic-Indic digits are \d to Python
    }
    for value, why in refused.items():
        with pytest.raises(ValueError, match=re.escape(why)):
            db.claimed_time(value, now)
    with pytest.raises(ValueError, match="not an RFC 3339"):
        db.claimed_time(1733572800, now)


def _tests_verdict(body: dict[str, Any], verdict_id: str, job: Any, tests: list[str], **details: Any) -> dict[str, Any]:
    """A copy of a real verdict whose details list `tests` (ids `classname.name`; a `~` prefix: failed,
    then passed on re-run) of CI job `job`."""
    template = body["details"]["tests"][0]
    listed = [
        {**template, "classname": test.lstrip("~").split(".")[0], "name": test.split(".")[1], "flaky": test[0] == "~"}
        for test in tests
    ]
    return {
        **body,
        "id": verdict_id,
        "context": {**body["context"], "job": job},
        "details": {**body["details"], "tests": listed, "tests_omitted": 0, **details},
    }


def test_migration_0009_gives_earlier_verdicts_their_flaky_history_records(fresh_database: str, tmp_path: Path) -> None:
    """A database as revision 0008 left it: each verdict that read tests gets its record, so the history
    `check --upload` reads is what the bodies said, a body holding NUL too; one whose job holds NUL or is
    over the indexed length (uploads now refused) gets none, and does not stop the upgrade."""
    from gatekeeper.flaky import TestRun, run_from_verdict
    from gatekeeper.server import migrations
    from tests.verdicts import check_example

    body = check_example(tmp_path, "failing", "--project", "bank/ledger", "--commit", "c1c1c1c")
    assert body["metrics"]["tests.total"] and body["details"]["tests"]
    no_tests = _tests_verdict(body, "m4", "unit", [])
    no_tests["metrics"] = {name: value for name, value in body["metrics"].items() if not name.startswith("tests.")}
    documents = [
        _tests_verdict(body, "m1", "unit", ["t.a", "~t.b"]),
        {
            **_tests_verdict(body, "m2", "unit", ["t.a"], tests_omitted=3),
            "context": {**body["context"], "job": "unit", "commit": "c2"},
        },
        _tests_verdict(body, "m3", None, ["t.c"]),
        no_tests,
        _tests_verdict(body, "m5", "unit\x00x", ["t.a"]),
        _tests_verdict(body, "m6", "j" * 1200, ["t.a"]),
        _tests_verdict(body, "m7", "other", ["t.a"]),
        _tests_verdict(body, "m8", "unit", ["t.d\x00"]),  # NUL in a body: PostgreSQL's json cannot read it
    ]
    engine = db.make_engine(fresh_database)
    try:
        migrations.upgrade(engine, "0008_deployments_by_status")
        with engine.begin() as connection:
            for n, document in enumerate(documents):
                context = document["context"]
                connection.execute(
                    db.verdicts.insert(),
                    {
                        "id": document["id"],
                        "created_at": document["created_at"],
                        "status": document["status"],
                        "project": context["project"],
                        "commit": context["commit"],
                        "body": json.dumps(document),
                        "received_at": f"2026-12-01T10:{n:02}:00.000000Z",
                    },
                )

        migrations.upgrade(engine)

        assert migrations.current(engine) == "0009_test_runs"
        runs = {job: db.test_runs(engine, "bank/ledger", job, "2026-11-30") for job in ("unit", None, "other")}
        with engine.connect() as connection:
            recorded = connection.execute(select(db.test_run_records.c.verdict_id)).scalars().all()
    finally:
        engine.dispose()
    said = {document["id"]: run_from_verdict(document) for document in documents}
    assert runs == {"unit": [said["m1"], said["m2"], said["m8"]], None: [said["m3"]], "other": [said["m7"]]}
    assert runs["unit"][2].failed == {"t.d\x00"}
    assert runs["unit"][0] == TestRun(
        verdict_id="m1", commit="c1c1c1c", failed=frozenset({"t.a"}), flaky=frozenset({"t.b"}), complete=True
    )
    assert (runs["unit"][1].commit, runs["unit"][1].complete) == ("c2", False)
    assert sorted(recorded) == ["m1", "m2", "m3", "m7", "m8"]


def test_test_runs_are_windowed_by_receipt_and_recorded_once(database: str, tmp_path: Path) -> None:
    """A verdict claiming a later time than it was received leaves the window when its receipt does (the
    claim kept it in for a day more); a re-upload writes no second record, a verdict that read no tests
    none; the query is one range of its index, with no sort."""
    from datetime import datetime, timedelta, timezone

    from tests.server.conftest import unique_project
    from tests.verdicts import check_example

    project = unique_project()
    body = check_example(tmp_path, "failing", "--project", project, "--commit", "c1c1c1c")
    received = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=3)
    forged = _tests_verdict(body, f"{project}-forged", "unit", ["t.a"])
    forged["created_at"] = utc_text(received + timedelta(hours=23))  # the most ahead the server allows
    honest = _tests_verdict(body, f"{project}-honest", "unit", [])
    honest["created_at"] = utc_text(received + timedelta(days=1))
    no_tests = _tests_verdict(body, f"{project}-no-tests", "unit", [])
    no_tests["metrics"] = {name: value for name, value in body["metrics"].items() if not name.startswith("tests.")}
    no_tests["created_at"] = honest["created_at"]
    engine = db.open_database(database)
    try:
        assert db.add_verdict(engine, forged, received)[0] == "created"
        assert db.add_verdict(engine, honest, received + timedelta(days=1))[0] == "created"
        assert db.add_verdict(engine, honest, received + timedelta(days=2))[0] == "same"  # a re-upload
        assert db.add_verdict(engine, no_tests, received + timedelta(days=2))[0] == "created"
        for job, problem in (("j\x00", "job: must not contain NUL"), ("j" * 1001, "job: longer than 1000 bytes")):
            with pytest.raises(db.VerdictRejected, match=problem):
                db.add_verdict(engine, _tests_verdict(body, f"{project}-bad", job, []))

        def window(since: datetime) -> list[str]:
            return [run.verdict_id for run in db.test_runs(engine, project, "unit", utc_text(since))]

        assert window(received) == [forged["id"], honest["id"]]
        assert window(received + timedelta(hours=12)) == [honest["id"]]  # the claim, 23 h on, is past this
        records = db.test_run_records.c
        with engine.connect() as connection:
            recorded = connection.execute(select(records.verdict_id).where(records.project == project)).scalars()
            assert sorted(recorded) == [forged["id"], honest["id"]]
            query = (
                select(records.verdict_id, records.commit, records.complete, records.tests)
                .where(records.project == project, records.job == "unit", records.received_at >= "2026")
                .order_by(records.received_at.desc(), records.verdict_id.desc())
                .limit(500)
            )
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            if engine.dialect.name == "sqlite":
                plan = " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
                assert "USING INDEX test_runs_job_received" in plan and "TEMP B-TREE" not in plan, plan
            else:
                connection.execute(text("SET enable_seqscan = off"))
                plan = " ".join(str(row[0]) for row in connection.execute(text(f"EXPLAIN {compiled}")))
                assert "test_runs_job_received" in plan and "Sort" not in plan, plan
    finally:
        engine.dispose()
