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
