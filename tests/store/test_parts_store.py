"""A pipeline's parts in the embedded store: stored once however often they are put, every attempt of
a retried part listed in the order this store received them, bounded sizes and names; and a store file
from before parts (schema 3) is migrated with its verdicts kept."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gatekeeper.errors import StoreError
from gatekeeper.status import ExitStatus
from gatekeeper.store.parts import MAX_PART_ATTEMPTS, MAX_PART_BYTES, MAX_PART_KEY_BYTES, PartStore, StoredPart
from gatekeeper.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore
from tests.store import make_verdict

PROJECT = "group/sub/app"  # project paths hold slashes
PIPELINE = "4711"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / ".gatekeeper" / "verdicts.db"


def clock(*seconds: int) -> Callable[[], datetime]:
    """A store clock reading these seconds after 2026-12-07T10:00:00Z, one per write."""
    start = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    readings: Iterator[int] = iter(seconds)
    return lambda: start + timedelta(seconds=next(readings))


def rows(db: Path) -> list[tuple[str, str, str, int]]:
    """The parts table read directly, not through the store under test."""
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT project, pipeline, name, size FROM parts ORDER BY id").fetchall()


def test_a_part_put_twice_is_stored_once(db: Path) -> None:
    body = b"\x00\x01gatekeeper part \xff" * 10
    store: PartStore
    with SqliteStore(db, clock=clock(0, 5)) as store:
        assert store.put_part(PROJECT, PIPELINE, "test 1/3", body) is True
        assert store.put_part(PROJECT, PIPELINE, "test 1/3", body) is False
        [stored] = store.list_parts(PROJECT, PIPELINE)
    assert stored == StoredPart(
        project=PROJECT,
        pipeline=PIPELINE,
        name="test 1/3",
        sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
        received_at="2026-12-07T10:00:00.000000Z",  # the first arrival's time, kept
        body=body,
    )
    assert rows(db) == [(PROJECT, PIPELINE, "test 1/3", 190)]  # 19 bytes x 10


def test_a_retried_part_lists_every_attempt_oldest_first_by_the_stores_clock(db: Path) -> None:
    # The store's clock runs backwards here, so the order received_at gives differs from insertion's:
    # the second write is the older one.
    with SqliteStore(db, clock=clock(30, 10, 20)) as store:
        store.put_part(PROJECT, PIPELINE, "test 2/3", b"first attempt")
        store.put_part(PROJECT, PIPELINE, "test 2/3", b"second attempt")
        store.put_part(PROJECT, PIPELINE, "test 1/3", b"other part")
        listed = store.list_parts(PROJECT, PIPELINE)
    assert [(p.name, p.body, p.received_at) for p in listed] == [
        ("test 2/3", b"second attempt", "2026-12-07T10:00:10.000000Z"),
        ("test 1/3", b"other part", "2026-12-07T10:00:20.000000Z"),
        ("test 2/3", b"first attempt", "2026-12-07T10:00:30.000000Z"),
    ]


def test_attempts_received_at_the_same_instant_keep_the_order_they_were_stored_in(db: Path) -> None:
    with SqliteStore(db, clock=lambda: datetime(2026, 12, 7, tzinfo=timezone.utc)) as store:
        for body in (b"c", b"a", b"b"):
            store.put_part(PROJECT, PIPELINE, "lint", body)
        assert [p.body for p in store.list_parts(PROJECT, PIPELINE)] == [b"c", b"a", b"b"]


def test_pipelines_and_projects_are_kept_apart(db: Path) -> None:
    with SqliteStore(db) as store:
        store.put_part(PROJECT, PIPELINE, "test", b"same bytes")
        assert store.put_part(PROJECT, "4712", "test", b"same bytes") is True
        assert store.put_part("group/sub/other", PIPELINE, "test", b"same bytes") is True
        assert [p.pipeline for p in store.list_parts(PROJECT, "4712")] == ["4712"]
        assert store.list_parts(PROJECT, "4713") == []
        assert store.list_parts("group/sub", PIPELINE) == []  # a project is not a prefix match
    assert len(rows(db)) == 3


def test_a_pipeline_holds_a_bounded_number_of_attempts(db: Path) -> None:
    with SqliteStore(db) as store:
        for attempt in range(MAX_PART_ATTEMPTS):
            assert store.put_part(PROJECT, PIPELINE, f"test {attempt % 7}", b"attempt %d" % attempt) is True
        assert store.put_part(PROJECT, PIPELINE, "test 3", b"attempt 3") is False  # stored: still idempotent
        with pytest.raises(StoreError) as error:
            store.put_part(PROJECT, PIPELINE, "test 3", b"one more")
        assert store.put_part(PROJECT, "4712", "test 3", b"one more") is True  # another pipeline
        assert len(store.list_parts(PROJECT, PIPELINE)) == MAX_PART_ATTEMPTS
    assert str(error.value) == (
        f"verdict store {db}: cannot store part 'test 3': pipeline '4711' already holds {MAX_PART_ATTEMPTS} part "
        "attempts, the most a store keeps for one pipeline: is a job recording parts in a loop?"
    )


def test_a_part_at_the_size_limit_is_stored_and_one_byte_over_is_refused(db: Path) -> None:
    with SqliteStore(db) as store:
        assert store.put_part(PROJECT, PIPELINE, "big", b"x" * MAX_PART_BYTES) is True
        with pytest.raises(StoreError) as error:
            store.put_part(PROJECT, PIPELINE, "too big", b"x" * (MAX_PART_BYTES + 1))
        with pytest.raises(StoreError, match="it is empty"):
            store.put_part(PROJECT, PIPELINE, "empty", b"")
    assert str(error.value) == (
        f"verdict store {db}: cannot store part 'too big': "
        f"{MAX_PART_BYTES + 1} bytes, over the limit of {MAX_PART_BYTES}"
    )
    assert error.value.status is ExitStatus.UNDECIDED
    assert [row[2] for row in rows(db)] == ["big"]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("project", "", "project is empty"),
        ("project", "g/" + "p" * 254, f"project is longer than {MAX_PART_KEY_BYTES} bytes (UTF-8)"),
        ("pipeline", "€" * 86, f"pipeline is longer than {MAX_PART_KEY_BYTES} bytes (UTF-8)"),  # 258 bytes
        ("pipeline", "47\x0011", "pipeline has a control or non-printable character"),
        ("name", "test\n1/3", "part name has a control or non-printable character"),
        ("name", "\x1b[31mred", "part name has a control or non-printable character"),
        ("name", "test\u202e3/1", "part name has a control or non-printable character"),  # a bidi override
        ("name", " test", "part name has leading or trailing whitespace"),
        ("name", "lone \ud800 surrogate", "part name has a control or non-printable character"),
    ],
)
def test_hostile_names_are_refused_naming_the_field(db: Path, field: str, value: str, problem: str) -> None:
    key = {"project": PROJECT, "pipeline": PIPELINE, "name": "test"} | {field: value}
    with SqliteStore(db) as store, pytest.raises(StoreError) as error:
        store.put_part(key["project"], key["pipeline"], key["name"], b"body")
    assert str(error.value) == f"verdict store {db}: cannot store a part: {problem}"
    assert rows(db) == []


def test_names_that_look_like_sql_or_paths_are_only_text(db: Path) -> None:
    name = "'; DROP TABLE parts; -- ../../etc/passwd %s ünïcödé 测试"
    with SqliteStore(db) as store:
        assert store.put_part(PROJECT, "p'1", name, b"body") is True
        assert store.put_part(PROJECT, "€" * 85, "p" * 255, b"body") is True  # 255 bytes each: the limit
        [stored] = store.list_parts(PROJECT, "p'1")
    assert stored.name == name
    assert rows(db)[0] == (PROJECT, "p'1", name, 4)


def test_a_store_from_before_parts_is_migrated_and_keeps_its_verdicts(db: Path) -> None:
    db.parent.mkdir(parents=True)
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("BEGIN")
    for migration in MIGRATIONS[:3]:
        for statement in migration:
            connection.execute(statement)
    connection.execute(
        'INSERT INTO verdicts (id, created_at, status, project, branch, "commit", pipeline, policy_name,'
        " level_achieved, body, received_at) VALUES ('v1', '2026-11-20T10:00:00.000000Z', 'pass', 'group/app',"
        " 'main', 'c1', '4711', 'p', 3, ?, '2026-11-20T10:00:00.000000Z')",
        (json.dumps(make_verdict("v1", commit="c1")),),
    )
    connection.execute("PRAGMA user_version = 3")
    connection.execute("COMMIT")
    connection.close()
    with SqliteStore(db) as store:
        assert store.get("v1")["id"] == "v1"
        assert store.put_part(PROJECT, PIPELINE, "test", b"body") is True
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        indexes = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "parts_pipeline_received" in indexes
