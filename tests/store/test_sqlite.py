"""The embedded verdict store, on real SQLite files: round trips, idempotency, lookups, migrations,
and refusing files it must not touch."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.store import StoreError, VerdictStore, VerdictSummary, default_store_path
from gatekeeper.store.sqlite import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, SqliteStore
from tests.conftest import REPO
from tests.store import make_verdict


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ws" / ".gatekeeper" / "verdicts.db"


def raw(path: Path, sql: str) -> list[Any]:
    """Read the file behind the store's back, to check what is really on disk."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def ticking(start: datetime = datetime(2026, 11, 25, 14, 5, tzinfo=timezone.utc)) -> Callable[[], datetime]:
    """A store clock one second on at each reading, so `received_at` is known and strictly increasing."""
    readings = iter(range(1_000_000))
    return lambda: start + timedelta(seconds=next(readings))


def one_line(error: pytest.ExceptionInfo[StoreError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# -- round trip ------------------------------------------------------------------------------------


def test_add_then_get_returns_the_verdict_verbatim(db: Path) -> None:
    verdict = make_verdict("3f2a9c1e-0000-4000-8000-000000000001")
    verdict["extra"] = {"zeta": 1, "alpha": ["ü", None, 1.5], "notes": "naïve → ok"}
    with SqliteStore(db) as store:
        assert store.add(verdict) is True
        stored = store.get(verdict["id"])
    assert stored == verdict
    assert list(stored) == list(verdict)  # key order kept, so `show --format json` is verbatim
    assert list(stored["extra"]) == ["zeta", "alpha", "notes"]


def test_new_store_creates_directories_uses_wal_and_current_schema(db: Path) -> None:
    with SqliteStore(db) as store:
        store.add(make_verdict("a" * 32))
    assert raw(db, "PRAGMA journal_mode") == [("wal",)]
    assert raw(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert raw(db, "PRAGMA application_id") == [(APPLICATION_ID,)]
    assert raw(db, "SELECT name, value FROM verdict_metrics ORDER BY name") == [
        ("tests.pass_percent", 100.0),
        ("tests.passed", 120.0),
        ("tests.total", 120.0),
    ]


def test_reopening_keeps_verdicts(db: Path) -> None:
    with SqliteStore(db) as writer:
        writer.add(make_verdict("a" * 32))
    with SqliteStore(db, create=False) as reader:
        store: VerdictStore = reader  # the embedded store implements the store seam
        assert store.count() == 1
        assert store.get("a" * 32)["id"] == "a" * 32


def test_recording_a_verdict_imports_only_what_it_needs(db: Path) -> None:
    """`check` records a verdict in every job (issue 16): releases, parts, deployments and incidents, flaky
    history and the retry's jitter are imported by the methods that use them, not by opening the store."""
    probe = (
        "import sys\n"
        "from gatekeeper.store.sqlite import SqliteStore\n"
        "from tests.store import make_verdict\n"
        f"with SqliteStore({str(db)!r}) as store:\n"
        "    store.add(make_verdict('e' * 32))\n"
        f"with SqliteStore({str(db)!r}) as store:\n"  # a store at the current schema: opened, not migrated
        "    store.add(make_verdict('f' * 32))\n"
        "print(' '.join(sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    imported = set(run.stdout.split())
    assert "gatekeeper.store.sqlite" in imported
    assert imported.isdisjoint(
        {"gatekeeper.release", "gatekeeper.store.parts", "gatekeeper.flaky", "random", "gatekeeper.delivery"}
    )
    assert raw(db, "SELECT count(*) FROM verdicts") == [(2,)]


def test_indexed_columns_come_from_the_verdict(db: Path) -> None:
    verdict = make_verdict("b" * 32, status="warn", level_achieved=None, created_at="2026-11-25T15:03:00+01:00")
    verdict["context"]["pipeline"] = 99  # a numeric pipeline id is kept as text in the index
    with SqliteStore(db, clock=ticking()) as store:
        store.add(verdict)
        [summary] = store.list()
    assert summary == VerdictSummary(
        id="b" * 32,
        created_at="2026-11-25T14:03:00.000000Z",
        status="warn",
        project="group/app",
        branch="main",
        commit="0123456789abcdef0123456789abcdef01234567",
        pipeline="99",
        policy_name="caict-cd-level-3",
        level_achieved=None,
        received_at="2026-11-25T14:05:00.000000Z",  # the store's clock, not the verdict's
    )


# -- idempotency -----------------------------------------------------------------------------------


def test_same_id_twice_is_stored_once(db: Path) -> None:
    verdict = make_verdict("c" * 32)
    with SqliteStore(db) as store:
        assert store.add(verdict) is True
        assert store.add(verdict) is False
        assert store.add(json.loads(json.dumps(verdict, sort_keys=True))) is False  # key order is not content
        assert store.count() == 1
    assert raw(db, "SELECT count(*) FROM verdict_metrics") == [(3,)]


def test_same_id_with_a_different_body_is_refused_and_the_first_kept(db: Path) -> None:
    first = make_verdict("d" * 32, status="pass")
    second = make_verdict("d" * 32, status="fail")
    with SqliteStore(db) as store:
        store.add(first)
        with pytest.raises(StoreError) as error:
            store.add(second)
        assert store.get("d" * 32) == first
        assert store.count() == 1
    assert "different verdict with id" in one_line(error)
    assert str(db) in str(error.value)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("id", "", "'id'"),
        ("id", None, "'id'"),
        ("status", "green", "'status'"),
        ("schema", "other/v1", "'schema'"),
        ("created_at", "yesterday", "'created_at'"),
        ("created_at", "2026-11-25T14:03:00", "no time zone"),
        ("metrics", {"tests.total": float("nan")}, "not JSON-ready"),
        ("maturity", {"level_achieved": "3"}, "level_achieved"),
        ("context", "main", "'context'"),
    ],
)
def test_a_verdict_the_store_cannot_index_is_refused(db: Path, field: str, value: Any, fragment: str) -> None:
    verdict = make_verdict("e" * 32)
    verdict[field] = value
    with SqliteStore(db) as store:
        with pytest.raises(StoreError) as error:
            store.add(verdict)
        assert store.count() == 0
    assert fragment in one_line(error)


# -- lookups ---------------------------------------------------------------------------------------


def test_get_by_unique_prefix_like_git(db: Path) -> None:
    with SqliteStore(db) as store:
        store.add(make_verdict("3f2a9c1e-aaaa"))
        store.add(make_verdict("3f2a9c2e-bbbb"))
        assert store.get("3f2a9c1")["id"] == "3f2a9c1e-aaaa"
        assert store.get("3f2a9c2e-bbbb")["id"] == "3f2a9c2e-bbbb"

        with pytest.raises(StoreError) as ambiguous:
            store.get("3f2a9c")
        assert "ambiguous" in one_line(ambiguous)
        assert "3f2a9c1e-aaaa" in str(ambiguous.value)

        with pytest.raises(StoreError) as short:
            store.get("3f2a9")
        assert "at least 6" in one_line(short)

        with pytest.raises(StoreError) as unknown:
            store.get("ffffffff")
        assert "no verdict" in one_line(unknown)


def test_prefix_with_sql_wildcards_is_taken_literally(db: Path) -> None:
    with SqliteStore(db) as store:
        store.add(make_verdict("abc_%_1234"))
        store.add(make_verdict("abcX%Y1234"))
        assert store.get("abc_%_")["id"] == "abc_%_1234"
        with pytest.raises(StoreError):
            store.get("abc%%%")


def test_latest_is_the_last_recorded_whatever_time_a_verdict_claims(db: Path) -> None:
    """Issue 13: a verdict dated 0999 sorted after every real one (strftime leaves the year unpadded),
    and one dated 9999 stayed "latest" for ever; the store orders by when it recorded each verdict."""
    with SqliteStore(db, clock=ticking()) as store:
        assert store.latest() is None
        store.add(make_verdict("forged-9999", created_at="9999-12-31T23:59:59Z"))
        store.add(make_verdict("real-fail", status="fail", created_at="2026-11-25T14:03:00Z"))
        store.add(make_verdict("feature-1", created_at="2026-11-24T00:00:00Z", branch="feature"))
        store.add(make_verdict("forged-0999", created_at="0999-01-01T00:00:00Z", branch="feature"))
        store.add(make_verdict("other-prj", created_at="2026-11-20T00:00:00Z", project="group/other"))

        assert store.latest()["id"] == "other-prj"  # type: ignore[index]
        assert store.latest(project="group/app")["id"] == "forged-0999"  # type: ignore[index]
        assert store.latest(project="group/app", branch="main")["id"] == "real-fail"  # type: ignore[index]
        assert store.latest(project="group/app", branch="feature")["id"] == "forged-0999"  # type: ignore[index]
        assert store.latest(project="group/app", branch="nope") is None
        listed = store.list(project="group/app")
        assert [s.id for s in listed] == ["forged-0999", "feature-1", "real-fail", "forged-9999"]
        assert [s.received_at for s in listed] == [f"2026-11-25T14:05:0{n}.000000Z" for n in (3, 2, 1, 0)]
        # The claims are kept as claims, each in the one sortable form: `since` filters on them.
        assert [s.created_at[:5] for s in listed] == ["0999-", "2026-", "2026-", "9999-"]
        assert {s.id for s in store.list(since="2026-11-25")} == {"real-fail", "forged-9999"}


def test_list_filters_orders_newest_first_and_pages(db: Path) -> None:
    with SqliteStore(db) as store:
        for day in range(1, 10):
            store.add(
                make_verdict(
                    f"v{day:02d}-xxxxxx",
                    created_at=f"2026-11-{day:02d}T12:00:00Z",
                    status="fail" if day % 3 == 0 else "pass",
                    branch="main" if day % 2 else "dev",
                )
            )
        assert [s.id[:3] for s in store.list()] == [f"v{d:02d}" for d in range(9, 0, -1)]
        assert [s.id[:3] for s in store.list(limit=3, offset=2)] == ["v07", "v06", "v05"]
        assert [s.id[:3] for s in store.list(status="fail")] == ["v09", "v06", "v03"]
        assert [s.id[:3] for s in store.list(branch="dev")] == ["v08", "v06", "v04", "v02"]
        assert [s.id[:3] for s in store.list(since="2026-11-07T12:00:00Z")] == ["v09", "v08", "v07"]
        assert [s.id[:3] for s in store.list(since="2026-11-08")] == ["v09", "v08"]  # a date: UTC midnight
        assert len(store.list(limit=None)) == 9
        assert store.list(project="nobody") == []
        assert store.count() == 9
        assert store.count(status="fail", branch="main") == 2  # days 3 and 9
        with pytest.raises(StoreError):
            store.list(since="last tuesday")


# -- other writers -------------------------------------------------------------------------------


def test_a_writer_waits_for_another_writer_and_readers_are_not_blocked(db: Path) -> None:
    with SqliteStore(db) as store:
        store.add(make_verdict("a" * 32))
    blocker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # another job holds the write lock...
    blocker.execute("INSERT INTO verdict_metrics VALUES (?, 'x', 1)", ("a" * 32,))
    release = threading.Timer(0.3, lambda: blocker.execute("COMMIT"))  # ...and finishes a little later
    try:
        with SqliteStore(db) as store:
            assert store.count() == 1  # WAL: reading goes on while another process writes
            release.start()
            assert store.add(make_verdict("b" * 32)) is True
            assert store.count() == 2
    finally:
        release.join()
        blocker.close()


def test_a_store_locked_past_the_timeout_gives_a_one_line_error(db: Path) -> None:
    with SqliteStore(db) as store:
        store.add(make_verdict("a" * 32))
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with SqliteStore(db, timeout=0.2) as store:
            with pytest.raises(StoreError) as error:
                store.add(make_verdict("b" * 32))
            assert store.count() == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert "locked by another process" in one_line(error)
    with SqliteStore(db) as store:  # nothing half-written: the same verdict goes in afterwards
        assert store.add(make_verdict("b" * 32)) is True


# -- migrations and files the store must not touch -------------------------------------------------


def test_a_store_of_schema_2_gets_padded_times_and_received_at(db: Path) -> None:
    """A file written before issue 13: an unpadded year is padded, `received_at` is the claim but
    never later than the migration, and lists then follow it (a row dated 9999 is not latest for ever)."""
    db.parent.mkdir(parents=True)
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("BEGIN")
    for statement in (statement for migration in MIGRATIONS[:2] for statement in migration):
        connection.execute(statement)
    for verdict_id, created_at in (
        ("old-0999", "999-01-01T00:00:00.000000Z"),  # as strftime('%Y') wrote year 999 on glibc
        ("old-9999", "9999-12-31T23:59:59.000000Z"),
        ("old-real", "2026-11-20T10:00:00.000000Z"),
    ):
        connection.execute(
            'INSERT INTO verdicts (id, created_at, status, project, branch, "commit", pipeline, policy_name,'
            " level_achieved, body) VALUES (?, ?, 'pass', 'group/app', 'main', 'c1', '4711', 'p', 3, ?)",
            (verdict_id, created_at, json.dumps(make_verdict(verdict_id, commit="c1"))),
        )
    connection.execute(
        "INSERT INTO releases (name, level, created_at, updated_at, body) VALUES"
        " ('r', 3, '999-01-01T00:00:00.000000Z', '999-01-02T00:00:00.000000Z', '{}')"
    )
    connection.execute("PRAGMA user_version = 2")
    connection.execute("COMMIT")
    connection.close()
    before = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

    with SqliteStore(db, clock=lambda: datetime(2099, 1, 1, tzinfo=timezone.utc)) as store:
        assert store.latest()["id"] == "old-9999"  # type: ignore[index]  # recorded "now", the latest old row
        store.add(make_verdict("new", status="fail", commit="c1"))
        assert store.latest_for("group/app", commit="c1")["id"] == "new"  # type: ignore[index]
        assert [s.id for s in store.list()] == ["new", "old-9999", "old-real", "old-0999"]

    rows = dict(raw(db, "SELECT id, created_at || ' ' || received_at FROM verdicts"))
    assert rows["old-0999"] == "0999-01-01T00:00:00.000000Z 0999-01-01T00:00:00.000000Z"
    assert rows["old-real"] == "2026-11-20T10:00:00.000000Z 2026-11-20T10:00:00.000000Z"
    created, received = rows["old-9999"].split()
    assert created == "9999-12-31T23:59:59.000000Z"
    assert len(received) == 27 and received.endswith("Z") and before <= received[:19] < "9999"
    assert raw(db, "SELECT created_at, updated_at FROM releases") == [
        ("0999-01-01T00:00:00.000000Z", "0999-01-02T00:00:00.000000Z")
    ]
    assert raw(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    indexes = {row[0] for row in raw(db, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"verdicts_project_branch_received", "verdicts_project_commit_received", "verdicts_received"} <= indexes
    assert not any(name.endswith("_created") and name.startswith("verdicts_project") for name in indexes)


def test_an_empty_file_is_migrated(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.touch()
    with SqliteStore(db) as store:
        store.add(make_verdict("f" * 32))
    assert raw(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_a_database_at_user_version_0_with_no_tables_is_migrated(db: Path) -> None:
    db.parent.mkdir(parents=True)
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE scratch (x)")  # writes a real header, then leaves no tables
    connection.execute("DROP TABLE scratch")
    connection.commit()
    connection.close()
    assert raw(db, "PRAGMA user_version") == [(0,)]
    assert raw(db, "PRAGMA journal_mode") == [("delete",)]
    with SqliteStore(db) as store:
        assert store.add(make_verdict("f" * 32)) is True
    assert raw(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert raw(db, "PRAGMA journal_mode") == [("wal",)]


def test_a_store_from_a_newer_gatekeeper_is_refused_untouched(db: Path) -> None:
    with SqliteStore(db) as store:
        store.add(make_verdict("f" * 32))
    connection = sqlite3.connect(db)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    before = db.read_bytes()
    with pytest.raises(StoreError) as error:
        SqliteStore(db)
    message = one_line(error)
    assert "newer gatekeeper" in message
    assert f"schema {SCHEMA_VERSION + 1}" in message
    assert "upgrade" in message
    assert str(db) in message
    assert db.read_bytes() == before
    assert raw(db, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]


def test_a_file_that_is_not_a_database_is_refused_untouched(db: Path) -> None:
    db.parent.mkdir(parents=True)
    content = b"<testsuite name='not a store'/>\n" * 100
    db.write_bytes(content)
    with pytest.raises(StoreError) as error:
        SqliteStore(db)
    assert "not an SQLite database" in one_line(error)
    assert str(db) in str(error.value)
    assert db.read_bytes() == content


def test_someone_elses_database_is_refused(db: Path) -> None:
    db.parent.mkdir(parents=True)
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE verdicts (x)")
    connection.commit()
    connection.close()
    with pytest.raises(StoreError) as error:
        SqliteStore(db)
    assert "not a gatekeeper verdict store" in one_line(error)

    connection = sqlite3.connect(db)
    connection.execute("PRAGMA user_version = 1")  # versioned, but with another application's id
    connection.close()
    with pytest.raises(StoreError) as error:
        SqliteStore(db)
    assert "not a gatekeeper verdict store" in one_line(error)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as error:
        SqliteStore(tmp_path)
    assert "is a directory" in one_line(error)
    assert str(tmp_path) in str(error.value)


def test_a_parent_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError) as error:
        SqliteStore(tmp_path / "file" / "verdicts.db")
    assert "cannot create its directory" in one_line(error)


def test_opening_for_reading_never_creates_a_file(db: Path) -> None:
    with pytest.raises(StoreError) as error:
        SqliteStore(db, create=False)
    assert "does not exist" in one_line(error)
    assert not db.exists()
    assert not db.parent.exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions that bind")
def test_a_read_only_store_says_so(db: Path) -> None:
    with SqliteStore(db) as store:
        store.add(make_verdict("f" * 32))
    db.chmod(0o444)
    db.parent.chmod(0o555)
    try:
        with pytest.raises(StoreError) as error, SqliteStore(db) as store:
            store.add(make_verdict("g" * 32))
        assert str(db) in one_line(error)
    finally:
        db.parent.chmod(0o755)
        db.chmod(0o644)


def test_default_store_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GATEKEEPER_STORE", raising=False)
    assert default_store_path() == Path(".gatekeeper") / "verdicts.db"
    monkeypatch.setenv("GATEKEEPER_STORE", str(tmp_path / "v.db"))
    assert default_store_path() == tmp_path / "v.db"
    monkeypatch.setenv("GATEKEEPER_STORE", "")
    assert default_store_path() == Path(".gatekeeper") / "verdicts.db"


def test_the_workspace_folder_keeps_itself_out_of_git(tmp_path: Path) -> None:
    store_file = tmp_path / ".gatekeeper" / "verdicts.db"
    with SqliteStore(store_file) as store:
        store.add(make_verdict("55555555-eeee"))
    ignore = tmp_path / ".gatekeeper" / ".gitignore"
    assert ignore.read_text().splitlines()[-1] == "*"
    ignore.write_text("mine\n")  # a team's own ignore file is never overwritten
    with SqliteStore(store_file) as store:
        store.add(make_verdict("66666666-ffff"))
    assert ignore.read_text() == "mine\n"
