"""The server's database: SQLAlchemy Core tables and the queries the API needs, one code path for
SQLite (the default, a file) and PostgreSQL (`postgresql+psycopg://…`).

Semantics mirror the embedded store (`gatekeeper.store.sqlite`): times are fixed-width UTC text
(`TIME_FORMAT`: text order is time order, on both databases), the body is the verdict JSON, numeric
metrics get rows of their own for history, and an id stored twice with the same body is stored once.

`received_at` is this server's clock when the verdict was stored: "latest", releases, lists, cursors,
history and the pages order by it.  `created_at` is the client's claim, checked to be RFC 3339 and
within a window of the server's clock (`claimed_time`), kept for display and the `since`/`until`
filters, never for deciding which verdict is newest.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    event,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from gatekeeper.errors import StoreError
from gatekeeper.flaky import TestRun, run_from_record
from gatekeeper.store import VerdictSummary, codec, indexed_text_problem, make_workspace_directory

metadata = MetaData()

verdicts = Table(
    "verdicts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", String(32), nullable=False),
    Column("status", String(8), nullable=False),
    Column("project", Text),
    Column("branch", Text),
    Column("commit", Text),
    Column("pipeline", Text),
    Column("policy_name", Text),
    Column("level_achieved", Integer),
    Column("body", Text, nullable=False),
    Column("received_at", String(32), nullable=False),
    # Newest first by receipt, per pair (overview, latest), per release member, and over all verdicts;
    # created_at keeps one index, for the since/until filters.  (Migration 0004.)
    Index("verdicts_project_branch_received", "project", "branch", "received_at", "id"),
    Index("verdicts_project_commit_received", "project", "commit", "received_at", "id"),
    Index("verdicts_project_pipeline_received", "project", "pipeline", "received_at", "id"),
    Index("verdicts_received_id", "received_at", "id"),
    Index("verdicts_created_id", "created_at", "id"),
)

verdict_metrics = Table(
    "verdict_metrics",
    metadata,
    Column("verdict_id", String(64), ForeignKey("verdicts.id", ondelete="CASCADE"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Float, nullable=False),
    Index("verdict_metrics_name", "name", "verdict_id"),
)

#: Flaky history's record of each verdict that read tests (`codec.test_run_record`, migration 0009):
#: what `test_runs` reads instead of up to 500 whole bodies, windowed and ordered by received_at.
test_run_records = Table(
    "test_runs",
    metadata,
    Column("verdict_id", String(64), ForeignKey("verdicts.id", ondelete="CASCADE"), primary_key=True),
    Column("project", Text),
    Column("job", Text),
    Column("received_at", String(32), nullable=False),
    Column("commit", Text),
    Column("complete", Boolean, nullable=False),
    Column("tests", Text, nullable=False),  # the listed tests' classname, name, outcome and flaky (JSON)
    Index("test_runs_job_received", "project", "job", "received_at", "verdict_id"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("projects", Text, nullable=False),  # JSON list of glob patterns; [] means any project
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32)),
    Column("revoked_at", String(32)),
)

SUMMARY_COLUMNS = (
    verdicts.c.id,
    verdicts.c.created_at,
    verdicts.c.status,
    verdicts.c.project,
    verdicts.c.branch,
    verdicts.c.commit,
    verdicts.c.pipeline,
    verdicts.c.policy_name,
    verdicts.c.level_achieved,
    verdicts.c.received_at,
)

#: The one order of verdicts, newest first: by when this server stored them, then id (a total order,
#: for keyset pages).  Never by `created_at`, which the client chose.
NEWEST_FIRST = (verdicts.c.received_at.desc(), verdicts.c.id.desc())

Outcome = Literal["created", "same", "conflict"]


class VerdictRejected(ValueError):
    """A verdict the schema let through but the store cannot index (bad timestamp, NUL in a column…)."""


#: How far ahead of the server's clock a verdict's `created_at` may be.  A CI runner's clock drifts by
#: seconds to minutes, and one set to local time but labelled UTC is off by at most 14 hours: a day
#: covers every honest verdict, and refuses `9999-12-31` (which sorted after every real verdict).
MAX_CLAIM_AHEAD = timedelta(days=1)
#: How far behind.  A verdict is uploaded when it is made, or later from the client's spool after an
#: outage; a year (and a leap day) covers any outage and a team re-uploading last year's history to a
#: new server, and refuses `0999-01-01` (which, unpadded, also sorted after every real verdict).
MAX_CLAIM_AGE = timedelta(days=366)

#: RFC 3339 section 5.6 `date-time`: a four-digit year, seconds, an optional fraction, `Z` or an offset.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,  # digits 0-9 only: to Python, `\d` is any script's digit, and int() reads them too
)


def claimed_time(value: Any, now: datetime) -> str:
    """A verdict's `created_at` as stored text, if it is an RFC 3339 date-time within
    [now - MAX_CLAIM_AGE, now + MAX_CLAIM_AHEAD]; ValueError saying why otherwise."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.fraction] and Z or ±HH:MM)")
    year, month, day, hour, minute, second, fraction, zulu, sign, zone_hours, zone_minutes = match.groups()
    try:
        offset = timedelta(0) if zulu else timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
        zone = timezone(-offset if sign == "-" else offset)
        microsecond = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond, tzinfo=zone
        )
        utc = moment.astimezone(timezone.utc)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{value!r} is not a valid date-time ({error})") from None
    if utc > now + MAX_CLAIM_AHEAD:
        raise ValueError(
            f"{value!r} is more than {MAX_CLAIM_AHEAD.days} day ahead of the server's clock "
            f"({codec.utc_text(now)}); check the CI runner's clock"
        )
    if utc < now - MAX_CLAIM_AGE:
        raise ValueError(
            f"{value!r} is more than {MAX_CLAIM_AGE.days} days before the server's clock ({codec.utc_text(now)})"
        )
    return codec.utc_text(utc)


# -- engine and migrations -------------------------------------------------------------------------

#: Connections kept per server process; the threadpool running database calls is bounded to this too.
POOL_SIZE = 32
POOL: dict[str, Any] = {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_timeout": 30}
#: PostgreSQL connections older than this are replaced at checkout (instead of a ping on every checkout).
POOL_RECYCLE_SECONDS = 1800


def make_engine(url: str) -> Engine:
    """An engine for `url`; for SQLite, creates the file's folder and turns on WAL and a busy timeout
    on every connection, so concurrent writers wait instead of failing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            try:
                make_workspace_directory(Path(database).expanduser().parent)
            except OSError as error:
                raise StoreError(url, f"cannot create its folder: {error.strerror}") from None
        # SQLite keeps SQLAlchemy's default pool (5 + 10 overflow): one writer at a time, and 32 connections
        # waiting on its lock made the p99 worse (bench/LOAD.md), not better.
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA busy_timeout = 30000")
            cursor.execute("PRAGMA synchronous = NORMAL")  # safe in WAL; only a power cut may drop commits
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        return engine
    # A pool as large as the threads that use it (`app.create_app` bounds the threadpool to POOL_SIZE),
    # so no connection is opened per request under load; pool_recycle instead of a ping per checkout.
    engine = create_engine(url, pool_recycle=POOL_RECYCLE_SECONDS, **POOL)
    # An executemany INSERT as one multi-row INSERT … VALUES (…), (…): one statement for PostgreSQL to
    # plan and run instead of one per row.  (A verdict and its metric rows have their own: `_PG_STORE`.)
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def redacted(url: str) -> str:
    """The URL for logs and messages: never the password."""
    return make_url(url).render_as_string(hide_password=True)


# -- verdict rows ----------------------------------------------------------------------------------


def verdict_row(verdict: Mapping[str, Any], received: datetime) -> dict[str, Any]:
    """The indexed columns and the body of a schema-valid verdict stored at `received` (server time)."""
    try:
        created_at = claimed_time(verdict.get("created_at"), received)
    except ValueError as error:
        raise VerdictRejected(f"$.created_at: {error}") from None
    context = verdict.get("context") or {}
    policy = verdict.get("policy") or {}
    maturity = verdict.get("maturity") or {}
    row = {
        "id": verdict["id"],
        "created_at": created_at,
        "status": verdict["status"],
        "project": context.get("project"),
        "branch": context.get("branch"),
        "commit": context.get("commit"),
        "pipeline": context.get("pipeline"),
        "policy_name": policy.get("name"),
        "level_achieved": maturity.get("level_achieved"),
        "received_at": codec.utc_text(received),
    }
    # The job is indexed too, in flaky history's record (`test_run_records`).
    # A NUL or over MAX_INDEXED_BYTES is refused on both databases so they agree (an over-long one failed as if
    # the database were down: 503, retried for ever); the client refuses to send it by the same rule.
    for name, value in (*row.items(), ("job", context.get("job"))):
        problem = indexed_text_problem(value) if isinstance(value, str) else None
        if problem is not None:
            raise VerdictRejected(f"{name}: {problem}")
    try:
        row["body"] = json.dumps(dict(verdict), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise VerdictRejected(f"$: not storable JSON ({error})") from None
    return row


def metric_rows(verdict_id: str, metrics: Any) -> list[dict[str, Any]]:
    """Numeric metrics as rows; a value a double cannot hold is refused rather than rounded to inf."""
    rows = []
    try:
        for _, name, value in codec.metric_rows(verdict_id, metrics):
            if value != value or value in (float("inf"), float("-inf")):
                raise OverflowError
            problem = indexed_text_problem(name)
            if problem is not None:
                raise VerdictRejected(f"$.metrics: a name {problem}")
            rows.append({"verdict_id": verdict_id, "name": name, "value": value})
    except OverflowError:
        raise VerdictRejected("$.metrics: a value is out of the range of a double") from None
    return rows


def _insert(engine: Engine | Connection, table: Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING in the engine's dialect (both spell it the same way)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


_METRICS_INSERT = verdict_metrics.insert()
_TEST_RUN_INSERT = test_run_records.insert()
#: A new verdict and its metric rows on PostgreSQL as one statement, run on its own (autocommit: one
#: statement is one transaction, all or nothing): one round trip where BEGIN, two INSERTs and COMMIT
#: took four.  Its text is fixed and its parameters few (the metrics as two arrays), so psycopg converts
#: it once and PostgreSQL prepares it once per connection; a multi-row INSERT … VALUES had 3 parameters a
#: row, and over psycopg's 50 its statement was parsed again on every upload (`_query2pg_nocache`).
#: It counts the verdicts it inserted: 0 when the id was stored already (ON CONFLICT DO NOTHING, and
#: then no metric row and no flaky history record either).
_PG_STORE = text(
    "WITH stored AS ("
    'INSERT INTO verdicts (id, created_at, status, project, branch, "commit", pipeline, policy_name, '
    "level_achieved, received_at, body) "
    "VALUES (:id, :created_at, :status, :project, :branch, :commit, :pipeline, :policy_name, "
    ":level_achieved, :received_at, :body) "
    "ON CONFLICT DO NOTHING RETURNING id"
    "), metric_rows AS ("
    "INSERT INTO verdict_metrics (verdict_id, name, value) "
    "SELECT stored.id, metric.name, metric.value FROM stored, "
    "unnest(CAST(:names AS text[]), CAST(:metric_values AS double precision[])) AS metric (name, value)"
    "), run_rows AS ("
    'INSERT INTO test_runs (verdict_id, project, job, received_at, "commit", complete, tests) '
    "SELECT stored.id, :project, CAST(:run_job AS text), :received_at, CAST(:run_commit AS text), "
    "CAST(:run_complete AS boolean), CAST(:run_tests AS text) FROM stored WHERE CAST(:has_run AS boolean)"
    ") SELECT count(*) FROM stored"
)
_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_SQLITE_WRITERS_LOCK = threading.Lock()


def _one_writer(engine: Engine) -> AbstractContextManager[Any]:
    """For SQLite, a lock per database taken around a write: SQLite lets one writer in at a time and
    makes the others poll with growing sleeps (its busy handler), which under 32 concurrent uploads
    left some waiting for seconds; queueing on a lock in this process hands the turn over at once.
    PostgreSQL needs nothing of the kind."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _SQLITE_WRITERS_LOCK:
        return _SQLITE_WRITERS.setdefault(str(engine.url), threading.Lock())


def add_verdict(
    engine: Engine, verdict: Mapping[str, Any], received: datetime | None = None
) -> tuple[Outcome, dict[str, Any]]:
    """Store a verdict once, received now (or at `received`).  Race-free: the INSERT either wins or does
    nothing (the database decides, not a read-then-write), and only then are bodies compared; a verdict
    stored again keeps the `received_at` of its first arrival."""
    row = verdict_row(verdict, received or datetime.now(timezone.utc))
    metrics = metric_rows(row["id"], verdict.get("metrics"))
    record = codec.test_run_record(verdict)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            found = _store_postgresql(autocommit, row, metrics, record)
        return _outcome(row, found), row
    with _one_writer(engine), engine.begin() as connection:
        found = _store(connection, row, metrics, record)
    return _outcome(row, found), row


def _store_postgresql(
    connection: Connection, row: dict[str, Any], metrics: list[dict[str, Any]], record: codec.TestRunRecord | None
) -> str | None:
    """`_store` on PostgreSQL, in one statement (`_PG_STORE`)."""
    names, values = [metric["name"] for metric in metrics], [metric["value"] for metric in metrics]
    run: dict[str, Any] = {
        "has_run": False,
        "run_job": None,
        "run_commit": None,
        "run_complete": False,
        "run_tests": "",
    }
    if record is not None:
        run = {
            "has_run": True,
            "run_job": record.job,
            "run_commit": record.commit,
            "run_complete": record.complete,
            "run_tests": record.tests,
        }
    if connection.execute(_PG_STORE, {**row, "names": names, "metric_values": values, **run}).scalar_one():
        return None
    return str(connection.execute(select(verdicts.c.body).where(verdicts.c.id == row["id"])).scalar_one())


def _store(
    connection: Connection, row: dict[str, Any], metrics: list[dict[str, Any]], record: codec.TestRunRecord | None
) -> str | None:
    """Insert the verdict, its metric rows and its flaky history record in the caller's transaction
    (SQLite); None when it was new, else the body stored under its id."""
    # RETURNING, not rowcount: drivers disagree on rowcount after ON CONFLICT DO NOTHING.
    inserted = connection.execute(_insert(connection, verdicts).returning(verdicts.c.id), row).first()
    if inserted is None:
        return str(connection.execute(select(verdicts.c.body).where(verdicts.c.id == row["id"])).scalar_one())
    if metrics:
        # An executemany of one cached statement, not one compiled per verdict: sqlite3 loops over the
        # rows in C.  (PostgreSQL has a statement of its own: `_PG_STORE`.)
        connection.execute(_METRICS_INSERT, metrics)
    if record is not None:
        connection.execute(
            _TEST_RUN_INSERT,
            {
                "verdict_id": row["id"],
                "project": row["project"],
                "job": record.job,
                "received_at": row["received_at"],
                "commit": record.commit,
                "complete": record.complete,
                "tests": record.tests,
            },
        )
    return None


def _outcome(row: dict[str, Any], found: str | None) -> Outcome:
    if found is None:
        return "created"
    return (
        "same"
        if codec.canonical_json(json.loads(found)) == codec.canonical_json(json.loads(row["body"]))
        else "conflict"
    )


def get_body(engine: Engine, verdict_id: str) -> str | None:
    with engine.connect() as connection:
        found = connection.execute(select(verdicts.c.body).where(verdicts.c.id == verdict_id)).scalar()
    return None if found is None else str(found)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stored:
    """A verdict as uploaded, and its two times as stored (UTC, `TIME_FORMAT`): the client's claim and
    this server's receipt, for a page to show side by side."""

    body: str
    created_at: str
    received_at: str


def get_stored(engine: Engine, verdict_id: str) -> Stored | None:
    query = select(verdicts.c.body, verdicts.c.created_at, verdicts.c.received_at).where(verdicts.c.id == verdict_id)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else Stored(body=row.body, created_at=row.created_at, received_at=row.received_at)


# -- queries ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    """Exact-match filters on the indexed columns; None means "any".  `since` inclusive, `until` exclusive,
    on the verdicts' `created_at` (the period a verdict says it belongs to, within the window
    `claimed_time` allows); `id_prefix`: ids that start with it (what `verdicts show PREFIX` resolves)."""

    project: str | None = None
    branch: str | None = None
    commit: str | None = None
    pipeline: str | None = None
    status: str | None = None
    since: str | None = None
    until: str | None = None
    id_prefix: str | None = None
    commit_prefix: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.id_prefix:
            clauses.extend(_prefix_clauses(self.id_prefix))
        for column, value in (
            (verdicts.c.project, self.project),
            (verdicts.c.branch, self.branch),
            (verdicts.c.commit, self.commit),
            (verdicts.c.pipeline, self.pipeline),
            (verdicts.c.status, self.status),
        ):
            if value is not None:
                clauses.append(column == value)
        if self.commit_prefix:
            clauses.extend(commit_prefix_clauses(self.commit_prefix))
        if self.since is not None:
            clauses.append(verdicts.c.created_at >= self.since)
        if self.until is not None:
            clauses.append(verdicts.c.created_at < self.until)
        return clauses


class bytewise(FunctionElement[str]):
    """A text column compared byte by byte, whatever the database's collation.

    Under a linguistic collation (PostgreSQL databases made with en_US.UTF-8, say) `-` sorts as if
    absent, so a range on ids would miss some ids a prefix names; SQLite compares bytewise (BINARY)
    already.  PostgreSQL answers it from the `verdicts_id_bytewise` index (migration 0003).
    """

    type = String()
    name = "bytewise"
    inherit_cache = True


@compiles(bytewise)
def _bytewise(element: bytewise, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(bytewise, "postgresql")
def _bytewise_postgresql(element: bytewise, compiler: Any, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)} COLLATE "C")'


def _prefix_clauses(prefix: str) -> list[ColumnElement[bool]]:
    """Ids starting with `prefix`, as a bytewise range that an index answers; LIKE would need its
    wildcards escaped, is case-insensitive on SQLite, and uses no index under most collations."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return [bytewise(verdicts.c.id) >= prefix, bytewise(verdicts.c.id) < upper]


def commit_prefix_clauses(prefix: str) -> list[ColumnElement[bool]]:
    """Commits starting with `prefix` (hex): after the project's equality, a range on the
    `verdicts_project_commit_received` index, then the exact test (the list API's filter, a release member's lookup)."""
    from gatekeeper.store.delivery import commit_upper_bound

    commit = verdicts.c.commit
    return [commit >= prefix, commit < commit_upper_bound(prefix), func.substr(commit, 1, len(prefix)) == prefix]


def encode_cursor(received_at: str, verdict_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([received_at, verdict_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (received_at, id) a page ended at; ValueError for anything we did not hand out."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValueError("cursor is not one this server handed out") from None
    # Printable: a time and an id never hold NUL or a lone surrogate, which the databases refuse (500/503).
    if not (isinstance(decoded, list) and len(decoded) == 2 and all(_printable(v) for v in decoded)):
        raise ValueError("cursor is not one this server handed out")
    return decoded[0], decoded[1]


def _printable(value: Any) -> bool:
    return isinstance(value, str) and value.isprintable()


def summary(row: Any) -> VerdictSummary:
    return VerdictSummary(
        id=row.id,
        created_at=row.created_at,
        status=row.status,
        project=row.project,
        branch=row.branch,
        commit=row.commit,
        pipeline=row.pipeline,
        policy_name=row.policy_name,
        level_achieved=row.level_achieved,
        received_at=row.received_at,
    )


def list_verdicts(
    engine: Engine, filters: Filters, limit: int, after: tuple[str, str] | None
) -> tuple[list[VerdictSummary], tuple[str, str] | None]:
    """One page, newest (received) first, by keyset (received_at, id): stable while verdicts arrive,
    since each arrives after the pages already handed out; the second value is where the next page
    starts, None on the last page."""
    clauses = filters.clauses()
    if after is not None:
        received_at, verdict_id = after
        clauses.append(
            or_(
                verdicts.c.received_at < received_at,
                and_(verdicts.c.received_at == received_at, verdicts.c.id < verdict_id),
            )
        )
    query = select(*SUMMARY_COLUMNS).where(*clauses).order_by(*NEWEST_FIRST).limit(limit + 1)
    with engine.connect() as connection:
        rows = [summary(row) for row in connection.execute(query)]
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], (str(last.received_at), last.id)


def _latest_ids(filters: Filters) -> Any:
    """The id of the newest verdict of each (project, branch), as a subquery."""
    rank = (
        func.row_number()
        .over(partition_by=(verdicts.c.project, verdicts.c.branch), order_by=NEWEST_FIRST)
        .label("rank")
    )
    ranked = select(verdicts.c.id, rank).where(*filters.clauses()).subquery()
    return select(ranked.c.id).where(ranked.c.rank == 1)


def latest(engine: Engine, filters: Filters) -> list[VerdictSummary]:
    """The newest verdict summary per (project, branch), ordered by project and branch."""
    query = (
        select(*SUMMARY_COLUMNS)
        .where(verdicts.c.id.in_(_latest_ids(filters)))
        .order_by(verdicts.c.project, verdicts.c.branch)
    )
    with engine.connect() as connection:
        return [summary(row) for row in connection.execute(query)]


def latest_metric_values(engine: Engine) -> Iterator[tuple[str | None, str | None, str, str, float]]:
    """(project, branch, received_at, metric, value) of each (project, branch)'s newest verdict: what
    the Prometheus gauge shows after a restart."""
    query = (
        select(
            verdicts.c.project,
            verdicts.c.branch,
            verdicts.c.received_at,
            verdict_metrics.c.name,
            verdict_metrics.c.value,
        )
        .join(verdict_metrics, verdict_metrics.c.verdict_id == verdicts.c.id)
        .where(verdicts.c.id.in_(_latest_ids(Filters())))
    )
    with engine.connect() as connection:
        for row in connection.execute(query):
            yield row.project, row.branch, row.received_at, row.name, float(row.value)


def metric_history(engine: Engine, filters: Filters, metric: str, limit: int) -> list[dict[str, Any]]:
    """The newest (received) `limit` values of one metric (matching the filters), oldest first for charts."""
    query = (
        select(verdicts.c.id, verdicts.c.created_at, verdicts.c.received_at, verdict_metrics.c.value)
        .join(verdict_metrics, verdict_metrics.c.verdict_id == verdicts.c.id)
        .where(verdict_metrics.c.name == metric, *filters.clauses())
        .order_by(*NEWEST_FIRST)
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = list(connection.execute(query))
    return [
        {"verdict_id": row.id, "created_at": row.created_at, "received_at": row.received_at, "value": float(row.value)}
        for row in reversed(rows)
    ]


#: Verdicts `test_runs` reads at most (the newest of the window), as the embedded store's `test_runs`.
TEST_RUN_LIMIT = 500


def test_runs(engine: Engine, project: str, job: str | None, since: str, limit: int = TEST_RUN_LIMIT) -> list[TestRun]:
    """What the verdicts of one job of a project that read tests say of them, oldest first: the newest
    `limit` this server received since `since` -- the embedded store's `test_runs`, for `check --upload`
    to read flaky history from the shared record (`gatekeeper.flaky`).  `job` None: verdicts with none.
    By received_at, never the verdicts' created_at (the client's claim); from each verdict's small record
    (`test_run_records`), never its body."""
    records = test_run_records.c
    query = (
        select(records.verdict_id, records.commit, records.complete, records.tests)
        .where(
            records.project == project,
            records.job.is_(None) if job is None else records.job == job,  # (IS NOT DISTINCT FROM uses no index)
            records.received_at >= since,
        )
        .order_by(records.received_at.desc(), records.verdict_id.desc())
        .limit(max(limit, 0))
    )
    with engine.connect() as connection:
        rows = list(connection.execute(query))
    return [run_from_record(row.verdict_id, row.commit, bool(row.complete), row.tests) for row in reversed(rows)]


def open_database(url: str) -> Engine:
    """An engine on `url`, migrated to the newest schema; StoreError (one line, no password) if the
    database cannot be reached or the URL is wrong."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    from gatekeeper.server import migrations

    try:
        shown = redacted(url)
    except ArgumentError:
        raise StoreError(
            "(database URL)", "is not a database URL, e.g. sqlite:///server.db or postgresql+psycopg://user@host/db"
        ) from None
    try:
        engine = make_engine(url)
        migrations.upgrade(engine)
    except NoSuchModuleError as error:
        raise StoreError(shown, f"unsupported database ({error})") from None
    except SQLAlchemyError as error:
        message = str(getattr(error, "orig", None) or error).strip().splitlines()
        raise StoreError(shown, message[0] if message else type(error).__name__) from None
    return engine
