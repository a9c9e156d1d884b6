"""The server's queries on both databases, below the API: what the planner does with them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from gatekeeper.server import db


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_id_prefix_is_answered_from_the_primary_key_index(database: str) -> None:
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
                assert "verdicts_pkey" in plan and "Index Cond" in plan, plan
    finally:
        engine.dispose()
