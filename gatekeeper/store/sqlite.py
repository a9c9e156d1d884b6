"""The embedded verdict store: one SQLite file in the workspace, so verdicts are kept with no server.

Many CI jobs on one machine may write the same file at once, so: WAL (readers never block the one
writer), every write is a `BEGIN IMMEDIATE` transaction (it takes the write lock up front, so it waits
in SQLite's busy handler instead of failing half-way), and whatever still comes back "locked" or
"busy" is retried with backoff up to a bounded total.  `add` is idempotent on the verdict id, so a
retried or repeated upload never stores a verdict twice.

WAL needs shared memory between the processes: keep the file on a local disk, not NFS/SMB.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from gatekeeper.errors import path_status
from gatekeeper.store import VERDICT_STATUSES, StoreError, VerdictSummary, make_workspace_directory
from gatekeeper.store.codec import canonical_json, metric_rows, test_run_record, utc_text
from gatekeeper.store.sqlite_delivery import SqliteDelivery

if TYPE_CHECKING:  # imported where used: `check` records a verdict and needs none of them (issue 16)
    from gatekeeper.flaky import TestRun
    from gatekeeper.release import Release
    from gatekeeper.store.parts import StoredPart

_T = TypeVar("_T")

#: Marks the file as ours (`PRAGMA application_id`), so we never migrate someone else's database.
APPLICATION_ID = 0x474B5644  # "GKVD"

#: Schema migrations, applied in order; migration N (1-based) brings the file to user_version N.
#: Never edit a released migration: append a new one.  Statements run one by one inside a single
#: transaction (not `executescript`, which would commit half-way).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE verdicts (
            id TEXT PRIMARY KEY NOT NULL,
            created_at TEXT NOT NULL,  -- UTC, fixed width (see codec.utc_text): text order is time order
            status TEXT NOT NULL CHECK (status IN ('pass', 'warn', 'fail', 'error')),
            project TEXT,
            branch TEXT,
            "commit" TEXT,
            pipeline TEXT,
            policy_name TEXT,
            level_achieved INTEGER,
            body TEXT NOT NULL  -- the verdict JSON exactly as given
        )
        """,
        "CREATE INDEX verdicts_project_branch_created ON verdicts (project, branch, created_at)",
        "CREATE INDEX verdicts_created ON verdicts (created_at)",
        """
        CREATE TABLE verdict_metrics (
            verdict_id TEXT NOT NULL REFERENCES verdicts (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (verdict_id, name)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX verdict_metrics_name ON verdict_metrics (name, verdict_id)",
        f"PRAGMA application_id = {APPLICATION_ID}",
    ),
    (
        # Named releases (gatekeeper.release), and the lookups their readiness needs: a member's latest
        # verdict by (project, commit) or (project, pipeline).
        """
        CREATE TABLE releases (
            name TEXT PRIMARY KEY NOT NULL,
            level INTEGER,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            body TEXT NOT NULL  -- the release document (Release.to_document) as JSON
        )
        """,
        "CREATE INDEX releases_created ON releases (created_at, name)",
        'CREATE INDEX verdicts_project_commit_created ON verdicts (project, "commit", created_at)',
        "CREATE INDEX verdicts_project_pipeline_created ON verdicts (project, pipeline, created_at)",
    ),
    (
        # The store's own time (issue 13): `received_at`, when this store recorded the verdict, is what
        # "latest" and every list order by; `created_at` is the verdict's claim (kept for `since`).
        # Years before 1000 were written without zero padding ('999-…' sorted after '2026-…'): padded
        # here, where the text is shorter than the canonical 27 characters.
        "UPDATE verdicts SET created_at = substr('000' || created_at, -27) WHERE length(created_at) < 27",
        "UPDATE releases SET created_at = substr('000' || created_at, -27) WHERE length(created_at) < 27",
        "UPDATE releases SET updated_at = substr('000' || updated_at, -27) WHERE length(updated_at) < 27",
        "ALTER TABLE verdicts ADD COLUMN received_at TEXT NOT NULL DEFAULT ''",
        # Earlier rows: their claim, the best there is, but never later than now (they were all
        # recorded before now), so a row dated 9999 does not stay "latest" for ever.
        """
        UPDATE verdicts SET received_at = min(created_at, strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
        """,
        "DROP INDEX verdicts_project_branch_created",
        "DROP INDEX verdicts_project_commit_created",
        "DROP INDEX verdicts_project_pipeline_created",
        "CREATE INDEX verdicts_project_branch_received ON verdicts (project, branch, received_at)",
        'CREATE INDEX verdicts_project_commit_received ON verdicts (project, "commit", received_at)',
        "CREATE INDEX verdicts_project_pipeline_received ON verdicts (project, pipeline, received_at)",
        "CREATE INDEX verdicts_received ON verdicts (received_at)",
    ),
    (
        # A pipeline's parts (issue 18, gatekeeper.store.parts): each job's evidence as an opaque
        # encoded body, one row per distinct attempt (same name and bytes again is the same row);
        # listed oldest first by this store's received_at, then id.
        """
        CREATE TABLE parts (
            id INTEGER PRIMARY KEY,
            project TEXT NOT NULL,
            pipeline TEXT NOT NULL,
            name TEXT NOT NULL,
            sha256 TEXT NOT NULL,  -- of body, lower-case hex
            size INTEGER NOT NULL,
            received_at TEXT NOT NULL,  -- this store's clock, codec.utc_text
            body BLOB NOT NULL,
            UNIQUE (project, pipeline, name, sha256)
        )
        """,
        "CREATE INDEX parts_pipeline_received ON parts (project, pipeline, received_at, id)",
    ),
    (
        # Deployments and incidents (issue 19, gatekeeper.delivery): one row per event identity (the id
        # is a digest of what makes the event itself, so a repeated event is the same row); times are
        # this store's clock (codec.utc_text), `claimed_at` the client's word for display only.
        """
        CREATE TABLE deployments (
            id TEXT PRIMARY KEY NOT NULL,
            project TEXT NOT NULL,
            environment TEXT NOT NULL,
            "commit" TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('success', 'failure')),
            verdict_id TEXT,
            pipeline TEXT,
            url TEXT,
            deployed_at TEXT NOT NULL,
            claimed_at TEXT,
            body TEXT NOT NULL  -- the deployment as recorded (JSON)
        )
        """,
        "CREATE INDEX deployments_environment_deployed ON deployments (project, environment, deployed_at, id)",
        'CREATE INDEX deployments_environment_commit ON deployments (project, environment, "commit", status)',
        """
        CREATE TABLE deployment_commits (
            deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
            sha TEXT NOT NULL,
            committed_at TEXT NOT NULL,
            keys TEXT NOT NULL,  -- issue keys, space-separated ('' for none)
            PRIMARY KEY (deployment_id, sha)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX deployment_commits_sha ON deployment_commits (sha, deployment_id)",
        """
        CREATE TABLE incidents (
            id TEXT PRIMARY KEY NOT NULL,
            project TEXT NOT NULL,
            environment TEXT NOT NULL,
            incident TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            resolved_at TEXT,
            caused_by TEXT,
            caused_by_deployment TEXT,
            resolved_by_deployment TEXT
        )
        """,
        "CREATE INDEX incidents_environment_opened ON incidents (project, environment, opened_at, id)",
    ),
    (
        # Flaky history's own record of each verdict that read tests (issue 16, codec.test_run_record):
        # history read `json_extract` over up to 500 whole bodies (~160 KB each on a broken build) per
        # check.  Windowed and ordered by this store's received_at, never by the verdict's claim.
        """
        CREATE TABLE test_runs (
            verdict_id TEXT PRIMARY KEY NOT NULL REFERENCES verdicts (id) ON DELETE CASCADE,
            project TEXT,
            job TEXT,
            received_at TEXT NOT NULL,
            "commit" TEXT,  -- NULL unless a non-empty string
            complete INTEGER NOT NULL,  -- 1 when details.tests_omitted is 0 or absent
            tests TEXT NOT NULL  -- the listed tests' classname, name, outcome and flaky (JSON array)
        )
        """,
        "CREATE INDEX test_runs_job_received ON test_runs (project, job, received_at)",
        # Earlier verdicts, as test_run_record reads them (its truthiness of tests_omitted spelt out), in the
        # order they were recorded.  Each listed test loses what history does not read (json_remove keeps
        # the rest as it was: json_extract would cut a string at a NUL); the commit is the column's text.
        """
        INSERT INTO test_runs (verdict_id, project, job, received_at, "commit", complete, tests)
        SELECT id, project, json_extract(body, '$.context.job'), received_at,
            CASE WHEN json_type(body, '$.context.commit') = 'text' AND "commit" <> '' THEN "commit" END,
            CASE json_type(body, '$.details.tests_omitted')
                WHEN 'true' THEN 0
                WHEN 'integer' THEN json_extract(body, '$.details.tests_omitted') = 0
                WHEN 'real' THEN json_extract(body, '$.details.tests_omitted') = 0
                WHEN 'text' THEN json_extract(body, '$.details.tests_omitted') = ''
                WHEN 'array' THEN json_array_length(body, '$.details.tests_omitted') = 0
                WHEN 'object' THEN NOT EXISTS (SELECT 1 FROM json_each(body, '$.details.tests_omitted'))
                ELSE 1 END,
            CASE json_type(body, '$.details.tests') WHEN 'array' THEN (
                SELECT json_group_array(json_remove(test.value, '$.suite', '$.duration_seconds', '$.message',
                    '$.attempts', '$.quarantine', '$.history'))
                FROM json_each(body, '$.details.tests') AS test WHERE test.type = 'object'
            ) ELSE '[]' END
        FROM verdicts
        WHERE project IS NOT NULL AND json_extract(body, '$.metrics."tests.total"') IS NOT NULL
            AND coalesce(json_type(body, '$.context.job'), 'null') IN ('text', 'null')
        ORDER BY rowid
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)

#: The shortest id prefix `get` resolves, like git's abbreviated hashes.
MIN_PREFIX = 6
#: Verdicts `test_runs` reads at most (the newest of the window): bounds a busy project's history query.
TEST_RUN_LIMIT = 500

_SUMMARY_COLUMNS = (
    'id, created_at, status, project, branch, "commit", pipeline, policy_name, level_achieved, received_at'
)
#: Newest first, by what this store controls: the time it recorded each verdict, then insertion order.
_NEWEST_FIRST = "ORDER BY received_at DESC, rowid DESC"
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


class SqliteStore(SqliteDelivery):
    """A verdict store in one SQLite file; use as a context manager so the connection is closed.

    `create=False` is for readers: it opens only an existing store (no empty file left behind), and
    read-only, so a store on a read-only mount can be read (one at an older schema is migrated first,
    which needs write access).  A reader may leave SQLite's empty -wal and -shm files, which the next
    writer removes.
    `timeout` bounds, in seconds, how long one operation waits for other writers.
    `clock` gives the time a verdict is recorded at (`received_at`); tests pass their own.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        timeout: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.clock = clock
        self._connection = self._open(create)
        try:
            with self._errors():
                version = self._retry(self._inspect_snapshot)  # refuse foreign or newer files before changing them
                if create or version < SCHEMA_VERSION:
                    if not create:  # a reader of an older store: migrate it as a writer would
                        self._connection.close()
                        self._connection = self._connect("rw")
                    self._retry(self._configure)
                    if version < SCHEMA_VERSION:  # (nothing lowers a version: at SCHEMA_VERSION it stays there)
                        self._retry(self._migrate)
        except BaseException:
            self._connection.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    def _open(self, create: bool) -> sqlite3.Connection:
        status = path_status(self.path, StoreError)  # a link loop or a name too long: "cannot be read"
        if status is not None and stat.S_ISDIR(status.st_mode):
            raise StoreError(self.path, "is a directory, not a store file")
        if status is None:
            if not create:
                raise StoreError(self.path, "does not exist (no verdicts recorded yet)")
            try:
                make_workspace_directory(self.path.parent)
            except OSError as error:
                raise StoreError(self.path, f"cannot create its directory: {error.strerror}") from None
        if create:
            return self._connect("rwc")
        reader = self._connect("ro")
        try:
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as error:
            reader.close()
            wal = self.path.with_name(self.path.name + "-wal")
            if _is_busy(error) or (wal.exists() and wal.stat().st_size > 0):
                raise _store_error(self.path, error, self.timeout) from None
            # A WAL store where its shared-memory file (-shm) cannot be made: a read-only mount or
            # directory.  With no -wal to apply, the file alone is the store, and no process has it
            # open for writing (a writer would have made the -shm file): read it as immutable.
            return self._connect("ro&immutable=1")
        except sqlite3.DatabaseError as error:  # not an SQLite file, or a truncated one: a reader's exit 2 too
            reader.close()
            raise _store_error(self.path, error, self.timeout) from None
        return reader

    def _connect(self, mode: str) -> sqlite3.Connection:
        # A URI, so that a reader never creates the file; as_uri() escapes '?' and '#'.
        uri = f"{self.path.absolute().as_uri()}?mode={mode}"
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves; timeout is SQLite's busy_timeout.
            return sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as error:
            raise _store_error(self.path, error, self.timeout) from None

    def _configure(self) -> None:
        connection = self._connection
        # Persistent in the file; a no-op once set.  Switching needs an exclusive lock, so it may be busy.
        connection.execute("PRAGMA journal_mode = WAL").fetchone()
        # In WAL, NORMAL is safe against corruption; only a power cut may drop the last commits.
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")

    def _migrate(self) -> None:
        """Bring the file to SCHEMA_VERSION; safe when several processes open a new file at once."""
        if self._inspect_snapshot() == SCHEMA_VERSION:
            return
        with self._write():
            # Re-read under the write lock: another process may have migrated since we looked.
            version = self._inspect()
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    self._connection.execute(statement)
            self._connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    def _inspect_snapshot(self) -> int:
        """`_inspect` in one read transaction: its several reads must see one state of the file,
        not a half-read one while another process migrates it."""
        with self._transaction("BEGIN DEFERRED"):
            return self._inspect()

    def _inspect(self) -> int:
        """The file's schema version, refusing (before changing anything) a file that is not ours
        or that a newer gatekeeper wrote."""
        version = self._pragma_int("user_version")
        if version == 0:
            if self._connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError(self.path, "is an SQLite database but not a gatekeeper verdict store")
        elif self._pragma_int("application_id") != APPLICATION_ID:
            raise StoreError(self.path, "is an SQLite database but not a gatekeeper verdict store")
        if version > SCHEMA_VERSION:
            raise StoreError(
                self.path,
                f"was written by a newer gatekeeper (schema {version}; this one knows "
                f"{SCHEMA_VERSION}); upgrade gatekeeper",
            )
        return version

    def _pragma_int(self, name: str) -> int:
        value = self._connection.execute(f"PRAGMA {name}").fetchone()[0]
        return int(value)

    # -- writing ---------------------------------------------------------------------------------

    def add(self, verdict: Mapping[str, Any]) -> bool:
        """Record a verdict.  False when this id is already stored with the same body (a re-upload);
        StoreError when it is stored with a different body, since ids must identify one verdict."""
        row = _row(self.path, verdict) | {"received_at": utc_text(self.clock())}
        metrics = metric_rows(row["id"], verdict.get("metrics"))
        record = test_run_record(verdict)

        def add_once() -> bool:
            with self._write():
                found = self._connection.execute("SELECT body FROM verdicts WHERE id = ?", (row["id"],)).fetchone()
                if found is None:
                    self._connection.execute(
                        'INSERT INTO verdicts (id, created_at, status, project, branch, "commit", pipeline,'
                        " policy_name, level_achieved, body, received_at) VALUES (:id, :created_at, :status,"
                        " :project, :branch, :commit, :pipeline, :policy_name, :level_achieved, :body,"
                        " :received_at)",
                        row,
                    )
                    self._connection.executemany(
                        "INSERT INTO verdict_metrics (verdict_id, name, value) VALUES (?, ?, ?)", metrics
                    )
                    if record is not None:
                        self._connection.execute(
                            'INSERT INTO test_runs (verdict_id, project, job, received_at, "commit", complete,'
                            " tests) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (
                                row["id"],
                                row["project"],
                                record.job,
                                row["received_at"],
                                record.commit,
                                record.complete,
                                record.tests,
                            ),
                        )
                    return True
            # The id is stored already: the same verdict (a re-upload) whatever its key order, or another.
            if canonical_json(json.loads(found[0])) != canonical_json(json.loads(row["body"])):
                raise StoreError(
                    self.path,
                    f"a different verdict with id {row['id']!r} is already stored; ids must be unique",
                )
            return False

        with self._errors():
            return self._retry(add_once)

    # -- reading ---------------------------------------------------------------------------------

    def get(self, id_or_prefix: str) -> dict[str, Any]:
        """The verdict with this id, or with the one id starting with this prefix (≥ MIN_PREFIX chars)."""

        def lookup() -> str:
            exact = self._connection.execute("SELECT body FROM verdicts WHERE id = ?", (id_or_prefix,)).fetchone()
            if exact is not None:
                return str(exact[0])
            if len(id_or_prefix) < MIN_PREFIX:
                raise StoreError(
                    self.path,
                    f"no verdict with id {id_or_prefix!r} (give the full id or at least {MIN_PREFIX} characters of it)",
                )
            # Ids sharing a prefix are contiguous in id order: the first few at or after it tell all,
            # with no LIKE/GLOB wildcards to escape.
            candidates = [
                (identifier, body)
                for identifier, body in self._connection.execute(
                    "SELECT id, body FROM verdicts WHERE id >= ? ORDER BY id LIMIT 3", (id_or_prefix,)
                )
                if identifier.startswith(id_or_prefix)
            ]
            if not candidates:
                raise StoreError(self.path, f"no verdict with id {id_or_prefix!r} or starting with it")
            if len(candidates) > 1:
                shown = ", ".join(identifier for identifier, _ in candidates[:2])
                more = " and more" if len(candidates) > 2 else ""
                raise StoreError(self.path, f"id prefix {id_or_prefix!r} is ambiguous: {shown}{more}; give more of it")
            return str(candidates[0][1])

        with self._errors():
            return _load(self.path, self._retry(lookup))

    def latest(self, project: str | None = None, branch: str | None = None) -> dict[str, Any] | None:
        """The newest verdict (the last this store recorded), optionally of one project and branch."""
        where, parameters = _where(self.path, project=project, branch=branch)
        sql = f"SELECT body FROM verdicts{where} {_NEWEST_FIRST} LIMIT 1"
        with self._errors():
            found = self._retry(lambda: self._connection.execute(sql, parameters).fetchone())
        return None if found is None else _load(self.path, found[0])

    def list(
        self,
        project: str | None = None,
        branch: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
        limit: int | None = 50,
        offset: int = 0,
    ) -> builtins.list[VerdictSummary]:
        """Summaries, newest (last recorded) first; `since` is inclusive, on the verdicts' created_at;
        `limit=None` means all."""
        where, parameters = _where(self.path, project=project, branch=branch, status=status, since=since)
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM verdicts{where} {_NEWEST_FIRST} LIMIT ? OFFSET ?"
        parameters += (-1 if limit is None else max(limit, 0), max(offset, 0))
        with self._errors():
            rows = self._retry(lambda: self._connection.execute(sql, parameters).fetchall())
        return [
            VerdictSummary(
                id=row[0],
                created_at=row[1],
                status=row[2],
                project=row[3],
                branch=row[4],
                commit=row[5],
                pipeline=row[6],
                policy_name=row[7],
                level_achieved=row[8],
                received_at=row[9],
            )
            for row in rows
        ]

    def count(
        self,
        project: str | None = None,
        branch: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
    ) -> int:
        """How many verdicts `list` would give with no limit."""
        where, parameters = _where(self.path, project=project, branch=branch, status=status, since=since)
        sql = f"SELECT count(*) FROM verdicts{where}"
        with self._errors():
            return int(self._retry(lambda: self._connection.execute(sql, parameters).fetchone()[0]))

    def latest_for(
        self, project: str, *, commit: str | None = None, pipeline: str | None = None
    ) -> dict[str, Any] | None:
        """The newest verdict of `project` at this commit, or of this pipeline run: a release member's.
        Newest by when this store recorded it, so a verdict claiming a later date cannot shadow one
        recorded after it."""
        if (commit is None) == (pipeline is None):
            raise ValueError("give exactly one of commit and pipeline")
        where, parameters = _where(self.path, project=project, commit=commit, pipeline=pipeline)
        sql = f"SELECT body FROM verdicts{where} {_NEWEST_FIRST} LIMIT 1"
        with self._errors():
            found = self._retry(lambda: self._connection.execute(sql, parameters).fetchone())
        from gatekeeper.release import commit_prefix

        if found is None and commit is not None and (prefix := commit_prefix(commit)) is not None:
            found = self._latest_abbreviated(project, prefix)
        return None if found is None else _load(self.path, found[0])

    def _latest_abbreviated(self, project: str, prefix: str) -> tuple[Any, ...] | None:
        """The newest verdict at the one commit of `project` that `prefix` abbreviates: a range on the
        (project, commit) index, then the exact test; AmbiguousCommit when two commits start with it."""
        from gatekeeper.release import AmbiguousCommit
        from gatekeeper.store.delivery import commit_upper_bound

        starts = 'project = ? AND "commit" >= ? AND "commit" < ? AND substr("commit", 1, ?) = ?'
        parameters = (project, prefix, commit_upper_bound(prefix), len(prefix), prefix)
        newest = f'SELECT body, "commit" FROM verdicts WHERE {starts} {_NEWEST_FIRST} LIMIT 1'
        other = f'SELECT "commit" FROM verdicts WHERE {starts} AND "commit" != ? LIMIT 1'
        with self._errors():
            found = self._retry(lambda: self._connection.execute(newest, parameters).fetchone())
            if found is None:
                return None
            another = self._retry(lambda: self._connection.execute(other, (*parameters, found[1])).fetchone())
        if another is not None:
            raise AmbiguousCommit(project, prefix, sorted((found[1], another[0])))
        return tuple(found)

    def passing_times(self, project: str, commit: str) -> builtins.list[str]:
        """When this store recorded each passing (pass or warn) verdict of `project` at `commit` (or at a
        prefix of it of 7 hex digits or more: `check --commit abc1234` outside a clone), oldest first: whether a
        gate passed a deployment, and how long it then waited (gatekeeper.dora).  A prefix sorts between the
        commit's first 7 digits and the commit: a range on the (project, commit) index, then the exact test."""
        sql = (
            'SELECT received_at FROM verdicts WHERE project = ? AND "commit" BETWEEN substr(?, 1, 7) AND ? '
            "AND substr(?, 1, length(\"commit\")) = \"commit\" AND status IN ('pass', 'warn') ORDER BY received_at"
        )
        parameters = (project, commit, commit, commit)
        with self._errors():
            rows = self._retry(lambda: self._connection.execute(sql, parameters).fetchall())
        return [row[0] for row in rows]

    def test_runs(
        self, project: str, job: str | None, since: datetime | str, limit: int = TEST_RUN_LIMIT
    ) -> builtins.list[TestRun]:
        """What the verdicts of one job of a project that read tests say of them, oldest first: the
        newest `limit` this store recorded since `since` (gatekeeper.flaky reads them for flaky history).
        By this store's received_at, never the verdicts' created_at: a claim dated 2099 would stay in
        every later window.

        Same job (None: verdicts with none), since a pass is inferred from a verdict not naming a test:
        another job runs other tests.  Only verdicts that read tests have a record (`add`).
        """
        # Each verdict's small record (codec.test_run_record), never its body: one range of test_runs_job_received.
        sql = (
            'SELECT verdict_id, "commit", complete, tests FROM test_runs'
            f" WHERE project = ? AND job {'IS NULL' if job is None else '= ?'} AND received_at >= ?"
            " ORDER BY received_at DESC, rowid DESC LIMIT ?"
        )
        parameters = (project, *(() if job is None else (job,)), _since(self.path, since), max(limit, 0))
        with self._errors():
            rows = self._retry(lambda: self._connection.execute(sql, parameters).fetchall())
        from gatekeeper.flaky import run_from_record

        return [
            run_from_record(verdict_id, commit, bool(complete), tests)
            for verdict_id, commit, complete, tests in reversed(rows)
        ]

    # -- parts (issue 18) ------------------------------------------------------------------------

    def put_part(self, project: str, pipeline: str, name: str, body: bytes) -> bool:
        """Store one encoded part of a pipeline (gatekeeper.store.parts); False when this exact part
        (same name, same bytes) is already stored, which keeps its first received_at."""
        from gatekeeper.store.parts import MAX_PART_ATTEMPTS, checked_part, full_pipeline_problem

        sha256 = checked_part(self.path, project, pipeline, name, body)
        row = (project, pipeline, name, sha256, len(body), utc_text(self.clock()), sqlite3.Binary(body))

        def put_once() -> bool:
            with self._write():  # the write lock first: the count below stays true until the insert
                found = self._connection.execute(
                    "SELECT 1 FROM parts WHERE project = ? AND pipeline = ? AND name = ? AND sha256 = ?", row[:4]
                ).fetchone()
                if found is not None:
                    return False
                held = self._connection.execute(
                    "SELECT count(*) FROM parts WHERE project = ? AND pipeline = ?", row[:2]
                ).fetchone()[0]
                if held >= MAX_PART_ATTEMPTS:
                    raise StoreError(self.path, f"cannot store part {name!r}: {full_pipeline_problem(pipeline)}")
                self._connection.execute(
                    "INSERT INTO parts (project, pipeline, name, sha256, size, received_at, body)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                return True

        with self._errors():
            return self._retry(put_once)

    def list_parts(self, project: str, pipeline: str) -> builtins.list[StoredPart]:
        """Every stored attempt of every part of the pipeline, oldest first by this store's received_at."""
        sql = (
            "SELECT project, pipeline, name, sha256, size, received_at, body FROM parts"
            " WHERE project = ? AND pipeline = ? ORDER BY received_at, id"
        )
        with self._errors():
            rows = self._retry(lambda: self._connection.execute(sql, (project, pipeline)).fetchall())
        from gatekeeper.store.parts import StoredPart

        return [
            StoredPart(
                project=row[0],
                pipeline=row[1],
                name=row[2],
                sha256=row[3],
                size=int(row[4]),
                received_at=row[5],
                body=bytes(row[6]),
            )
            for row in rows
        ]

    # -- releases --------------------------------------------------------------------------------

    def put_release(self, release: Release) -> bool:
        """Define or redefine a release by name; True when it was new.  Redefining keeps its creation
        time, so lists keep their order."""
        body = json.dumps(release.to_document(), separators=(",", ":"), ensure_ascii=False)
        now = utc_text(self.clock())

        def put_once() -> bool:
            # Read, then write, under the write lock taken up front: no other writer can come between.
            with self._write():
                found = self._connection.execute("SELECT body FROM releases WHERE name = ?", (release.name,)).fetchone()
                if found is None:
                    self._connection.execute(
                        "INSERT INTO releases (name, level, created_at, updated_at, body) VALUES (?, ?, ?, ?, ?)",
                        (release.name, release.level, now, now, body),
                    )
                    return True
                if found[0] != body:
                    self._connection.execute(
                        "UPDATE releases SET level = ?, updated_at = ?, body = ? WHERE name = ?",
                        (release.level, now, body, release.name),
                    )
                return False

        with self._errors():
            return self._retry(put_once)

    def get_release(self, name: str) -> Release | None:
        with self._errors():
            found = self._retry(
                lambda: self._connection.execute("SELECT body FROM releases WHERE name = ?", (name,)).fetchone()
            )
        return None if found is None else self._release(found[0])

    def list_releases(self, limit: int | None = 50, offset: int = 0) -> builtins.list[Release]:
        """Releases, the most recently defined first."""
        sql = "SELECT body FROM releases ORDER BY created_at DESC, name DESC LIMIT ? OFFSET ?"
        parameters = (-1 if limit is None else max(limit, 0), max(offset, 0))
        with self._errors():
            rows = self._retry(lambda: self._connection.execute(sql, parameters).fetchall())
        return [self._release(row[0]) for row in rows]

    def _release(self, body: str) -> Release:
        from gatekeeper.release import release_from_document

        try:
            return release_from_document(json.loads(body))
        except ValueError:
            raise StoreError(self.path, "is corrupt (a stored release is not a valid release)") from None

    # -- transactions, retries, errors -------------------------------------------------------------

    def _write(self) -> AbstractContextManager[None]:
        """One write transaction that takes the write lock up front (so it waits, never deadlocks)."""
        return self._transaction("BEGIN IMMEDIATE")

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        self._connection.execute(begin)
        try:
            yield
            self._connection.execute("COMMIT")
        except BaseException:
            if self._connection.in_transaction:
                # The error being raised says more than a failed rollback would.
                with suppress(sqlite3.Error):
                    self._connection.execute("ROLLBACK")
            raise

    def _retry(self, operation: Callable[[], _T]) -> _T:
        """Run `operation` again while the file is locked or busy, with jittered backoff, up to
        `timeout` seconds in all.  SQLite's busy handler covers most waits; not all (e.g. a WAL
        snapshot gone stale, a journal-mode switch, recovery after a crashed writer)."""
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                return operation()
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or time.monotonic() >= deadline:
                    raise
            import random  # only when waiting: most runs never do

            time.sleep(min(delay * random.uniform(0.5, 1.5), max(deadline - time.monotonic(), 0.0)))
            delay = min(delay * 2, 0.5)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors as one-line StoreErrors that name the file."""
        try:
            yield
        except sqlite3.Error as error:
            raise _store_error(self.path, error, self.timeout) from None


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)  # Python ≥ 3.11
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    message = str(error).lower()
    return "locked" in message or "busy" in message


def _store_error(path: Path, error: sqlite3.Error, timeout: float) -> StoreError:
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    lowered = message.lower()
    if isinstance(error, sqlite3.OperationalError) and _is_busy(error):
        problem = f"still locked by another process after {timeout:g} s ({message})"
    elif "not a database" in lowered:
        problem = "is not an SQLite database (is this the right file?)"
    elif "malformed" in lowered or "corrupt" in lowered:
        problem = f"is corrupt ({message})"
    elif "readonly" in lowered or "read-only" in lowered:
        # In WAL mode even readers need write access to the file and its directory (for -shm/-wal).
        problem = "is read-only for this user (SQLite needs write access to the file and its directory)"
    elif "unable to open" in lowered:
        problem = "cannot be opened (check the path and that its directory is writable)"
    else:
        problem = message
    return StoreError(path, problem)


# -- verdict <-> row -------------------------------------------------------------------------------


def _load(path: Path, body: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise StoreError(path, "is corrupt (a stored verdict is not a JSON object)")
    return document


def _row(path: Path, verdict: Mapping[str, Any]) -> dict[str, Any]:
    """The indexed columns and the body of a verdict, checking what the store relies on."""

    def bad(problem: str) -> StoreError:
        return StoreError(path, f"cannot store verdict {str(verdict.get('id'))!r}: {problem}")

    identifier = verdict.get("id")
    if not isinstance(identifier, str) or not identifier.strip():
        raise bad("'id' must be a non-empty string")
    schema = verdict.get("schema")
    if not isinstance(schema, str) or not schema.startswith("gatekeeper.verdict/"):
        raise bad(f"'schema' must be a gatekeeper.verdict/… tag, not {schema!r}")
    status = verdict.get("status")
    if status not in VERDICT_STATUSES:
        raise bad(f"'status' must be one of {', '.join(VERDICT_STATUSES)}, not {status!r}")
    try:
        created_at = utc_text(verdict.get("created_at"))
    except ValueError as error:
        raise bad(f"'created_at': {error}") from None

    def section(name: str) -> Mapping[str, Any]:
        value = verdict.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise bad(f"'{name}' must be an object")
        return value

    def text(name: str, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # e.g. a numeric pipeline id
        raise bad(f"'{name}' must be a string or null")

    context, policy, maturity = section("context"), section("policy"), section("maturity")
    level = maturity.get("level_achieved")
    if level is not None and (isinstance(level, bool) or not isinstance(level, int)):
        raise bad("'maturity.level_achieved' must be an integer or null")
    try:
        body = json.dumps(dict(verdict), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise bad(f"not JSON-ready ({error})") from None
    return {
        "id": identifier,
        "created_at": created_at,
        "status": status,
        "project": text("context.project", context.get("project")),
        "branch": text("context.branch", context.get("branch")),
        "commit": text("context.commit", context.get("commit")),
        "pipeline": text("context.pipeline", context.get("pipeline")),
        "policy_name": text("policy.name", policy.get("name")),
        "level_achieved": level,
        "body": body,
    }


def _where(
    path: Path,
    *,
    project: str | None = None,
    branch: str | None = None,
    status: str | None = None,
    since: datetime | str | None = None,
    commit: str | None = None,
    pipeline: str | None = None,
) -> tuple[str, tuple[Any, ...]]:
    """A parameterised WHERE clause for the filters given (None means no filter); `since` is inclusive
    and may be a bare date ("2026-11-20", read as UTC midnight)."""
    clauses: builtins.list[str] = []
    parameters: builtins.list[Any] = []
    filters = (
        ("project", project),
        ("branch", branch),
        ("status", status),
        ('"commit"', commit),
        ("pipeline", pipeline),
    )
    for column, value in filters:
        if value is not None:
            clauses.append(f"{column} = ?")
            parameters.append(value)
    if since is not None:
        parameters.append(_since(path, since))
        clauses.append("created_at >= ?")
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), tuple(parameters)


def _since(path: Path, since: datetime | str) -> str:
    """`since` as stored time text; a bare date ("2026-11-20") is UTC midnight."""
    try:
        return utc_text(since, naive_is_utc=True)
    except ValueError as error:
        raise StoreError(path, f"since: {error}") from None
