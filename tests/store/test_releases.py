"""Releases in the embedded store: defined by name, listed, and each member's latest verdict found;
and a store file from before releases (schema 1) is migrated with its verdicts kept."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from gatekeeper.release import Member, Release
from gatekeeper.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore
from tests.store import make_verdict


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / ".gatekeeper" / "verdicts.db"


def release(name: str, *members: Member, level: int | None = 3) -> Release:
    return Release(name=name, level=level, members=members or (Member(project="group/app", commit="c1"),))


def test_put_get_and_redefine(db: Path) -> None:
    first = release("2026.12", Member(project="a", commit="c1"), Member(project="b", pipeline="4711"))
    with SqliteStore(db) as store:
        assert store.get_release("2026.12") is None
        assert store.put_release(first) is True
        assert store.put_release(first) is False  # idempotent
        assert store.get_release("2026.12") == first
        second = release("2026.12", Member(project="a", commit="c2"), level=None)
        assert store.put_release(second) is False
        assert store.get_release("2026.12") == second
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM releases").fetchone() == (1,)


def test_list_newest_defined_first_and_paginated(db: Path) -> None:
    with SqliteStore(db) as store:
        for name in ("r1", "r2", "r3"):
            store.put_release(release(name))
        store.put_release(release("r1", level=2))  # a redefinition keeps its place
        assert [r.name for r in store.list_releases()] == ["r3", "r2", "r1"]
        assert [r.name for r in store.list_releases(limit=2)] == ["r3", "r2"]
        assert [r.name for r in store.list_releases(limit=2, offset=2)] == ["r1"]
        assert store.list_releases(limit=2, offset=2)[0].level == 2


def test_latest_for_a_commit_or_a_pipeline(db: Path) -> None:
    with SqliteStore(db) as store:
        old = make_verdict("v-old", created_at="2026-11-20T10:00:00Z", commit="c1", status="fail")
        new = make_verdict("v-new", created_at="2026-11-21T10:00:00Z", commit="c1")
        other = make_verdict("v-other", created_at="2026-11-22T10:00:00Z", commit="c1", project="group/other")
        for verdict in (old, new, other):  # the last recorded is the latest, whatever its created_at
            store.add(verdict)
        assert store.latest_for("group/app", commit="c1") == new
        assert store.latest_for("group/app", commit="c2") is None
        assert store.latest_for("group/other", commit="c1") == other
        # make_verdict records pipeline 4711 for all: the newest of the project's is the one.
        assert store.latest_for("group/app", pipeline="4711") == new
        assert store.latest_for("group/app", pipeline="4712") is None
        with pytest.raises(ValueError, match="exactly one"):
            store.latest_for("group/app")


def test_a_verdict_claiming_a_later_time_does_not_unblock_a_release(db: Path) -> None:
    """Issue 13: a `pass` dated 9999 outranked every real verdict recorded after it; now the last
    recorded verdict of the commit decides, whatever time either claims."""
    from gatekeeper.release import assess

    with SqliteStore(db) as store:
        store.add(make_verdict("v-forged", created_at="9999-12-31T23:59:59Z", commit="c3"))
        store.add(make_verdict("v-real", status="fail", created_at="2026-11-25T10:00:00Z", commit="c3"))
        readiness = assess(
            release("r", Member(project="group/app", commit="c3")),
            lambda member: store.latest_for(member.project, commit=member.commit),
        )
    assert not readiness.ready
    assert readiness.members[0].verdict_id == "v-real"


def test_a_store_from_before_releases_is_migrated_and_keeps_its_verdicts(db: Path) -> None:
    db.parent.mkdir(parents=True)
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("BEGIN")
    for statement in MIGRATIONS[0]:
        connection.execute(statement)
    connection.execute(
        'INSERT INTO verdicts (id, created_at, status, project, branch, "commit", pipeline, policy_name,'
        " level_achieved, body) VALUES ('v1', '2026-11-20T10:00:00.000000Z', 'pass', 'group/app', 'main',"
        " 'c1', '4711', 'p', 3, ?)",
        (json.dumps(make_verdict("v1", commit="c1")),),
    )
    connection.execute("PRAGMA user_version = 1")
    connection.execute("COMMIT")
    connection.close()
    with SqliteStore(db) as store:
        assert store.latest_for("group/app", commit="c1") is not None
        store.put_release(release("r"))
        assert store.get_release("r") == release("r")
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        indexes = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"verdicts_project_commit_received", "verdicts_project_pipeline_received"} <= indexes


def test_a_member_naming_a_commit_by_its_first_hex_digits_finds_the_full_id(db: Path) -> None:
    """Checks store the full id and tables print 12 digits: a member may name 7 or more of them (README's
    `9e8d7c6b5a4f`); two commits starting with the same digits are named, never one picked (second review B2)."""
    from gatekeeper.release import assess

    full = "9e8d7c6b5a4f" + "0" * 28
    twin, elsewhere = "abcdef1" + "1" * 33, "abcdef1" + "2" * 33
    with SqliteStore(db) as store:
        store.add(make_verdict("v-full", commit=full))
        store.add(make_verdict("v-other-project", commit="9e8d7c6b5a4f" + "f" * 28, project="group/other"))
        store.add(make_verdict("v-twin", commit=twin))
        store.add(make_verdict("v-elsewhere", commit=elsewhere))
        store.add(make_verdict("v-lower", commit="abcdef0" + "f" * 33))  # just below the range
        store.add(make_verdict("v-upper", commit="abcdef2" + "0" * 33))  # just above it
        for given in (full, full[:12], full[:7], full[:12].upper()):
            assert store.latest_for("group/app", commit=given)["id"] == "v-full"  # type: ignore[index]
        assert store.latest_for("group/app", commit=full[:6]) is None  # too short to name a commit
        assert store.latest_for("group/app", commit="9e8d7c6b5a4e") is None
        assert store.latest_for("group/app", commit=twin[:8])["id"] == "v-twin"  # type: ignore[index]
        readiness = assess(
            release("r", Member(project="group/app", commit=full[:12]), Member(project="group/app", commit="abcdef1")),
            lambda member: store.latest_for(member.project, commit=member.commit),
        )
    found, unclear = readiness.members
    assert found.verdict_id == "v-full"  # decided by it (these minimal verdicts read back as errors)
    assert (unclear.state.value, unclear.verdict_id) == ("missing", None)
    assert unclear.blockers == (
        f"commit abcdef1 is ambiguous: group/app has commits {twin}, {elsewhere} starting with it; give more of it",
    )
    assert not readiness.ready
