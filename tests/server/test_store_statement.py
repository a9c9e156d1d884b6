"""The upload's store statement (issue 16): on PostgreSQL a verdict and its metric rows go in as one fixed
statement (`db._PG_STORE`); it must store exactly what the generic path stores, on both databases."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import create_engine, text

from gatekeeper.server import db
from tests.server.conftest import Server, unique_project


def test_the_postgresql_statement_names_every_column_a_verdict_row_has() -> None:
    """A column added to `verdict_row` but not to the statement would be dropped on PostgreSQL only."""
    verdict = {"id": "x", "created_at": "2026-12-07T10:00:00Z", "status": "pass", "context": {}, "metrics": {}}
    row = db.verdict_row(verdict, datetime(2026, 12, 7, 10, tzinfo=timezone.utc))
    columns = re.search(r"INSERT INTO verdicts \(([^)]*)\)", db._PG_STORE.text)
    assert columns is not None
    assert {name.strip().strip('"') for name in columns.group(1).split(",")} == set(row)
    record = {"has_run", "run_job", "run_commit", "run_complete", "run_tests"}  # flaky history's (`_store_postgresql`)
    assert set(re.findall(r":(\w+)", db._PG_STORE.text)) == {*row, "names", "metric_values", *record}
    runs = re.search(r"INSERT INTO test_runs \(([^)]*)\)", db._PG_STORE.text)
    assert runs is not None
    assert [name.strip().strip('"') for name in runs.group(1).split(",")] == list(db.test_run_records.c.keys())


def test_a_verdict_is_stored_with_exactly_its_numeric_metrics(server: Server, make_verdict: Any) -> None:
    verdict = make_verdict(project=unique_project())
    verdict["metrics"] = {"tests.total": 3, "coverage.percent": 87.5, "findings.new_high.count": 1e300}
    assert server.put(verdict).status_code == 201
    assert server.put(verdict).status_code == 200  # again: stored once, no second set of metric rows
    changed = {**verdict, "metrics": {"tests.total": 4}}
    assert server.put(changed).status_code == 409
    engine = create_engine(server.db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT name, value FROM verdict_metrics WHERE verdict_id = :id ORDER BY name"),
                {"id": verdict["id"]},
            ).all()
            stored = connection.execute(text("SELECT project FROM verdicts WHERE id = :id"), {"id": verdict["id"]})
            project = stored.scalar_one()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("coverage.percent", 87.5),
        ("findings.new_high.count", 1e300),
        ("tests.total", 3.0),
    ]
    assert project == verdict["context"]["project"]


def test_a_verdict_without_numeric_metrics_is_stored_with_none(server: Server, make_verdict: Any) -> None:
    verdict = make_verdict(project=unique_project())
    verdict["metrics"] = {}
    before = server.rows("verdict_metrics")
    assert server.put(verdict).status_code == 201
    assert server.get(f"/api/v1/verdicts/{verdict['id']}").json()["metrics"] == {}
    assert server.rows("verdict_metrics") == before
