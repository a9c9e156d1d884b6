"""Deployments and incidents in the embedded store (`DeliveryStore` for `SqliteStore`, which mixes this in).

The tables are migration 5 of `gatekeeper.store.sqlite`.  Each write is one `BEGIN IMMEDIATE`
transaction retried while the file is busy, like a verdict's; the id is the event's identity, so an
INSERT that finds it already there stores nothing and the stored event is answered instead.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gatekeeper.store.codec import canonical_json, utc_text

if TYPE_CHECKING:  # the methods import what they use: `check` opens this store for verdicts alone (issue 16)
    from gatekeeper.delivery import DeployedCommit, Deployment, Incident
    from gatekeeper.store.delivery import DeploymentRequest

_T = TypeVar("_T")

_INCIDENT_COLUMNS = (
    "id, project, environment, incident, opened_at, resolved_at, caused_by, caused_by_deployment,"
    " resolved_by_deployment"
)
#: The first successful deployment of an environment that shipped a commit (its own commit, a prefix of
#: it or one of the commits it lists), recorded at or before a time.
_SHIPPED_BY = """
    SELECT id FROM deployments
    WHERE project = :project AND environment = :environment AND status = 'success' AND deployed_at <= :at
      AND ("commit" = :sha OR substr(:sha, 1, length("commit")) = "commit"
           OR ("commit" >= :sha AND "commit" < :above)
           OR id IN (SELECT deployment_id FROM deployment_commits WHERE sha >= :sha AND sha < :above))
    ORDER BY deployed_at, id LIMIT 1
"""
#: The first successful deployment of an environment in [from, to].
_NEXT_SUCCESS = """
    SELECT id FROM deployments
    WHERE project = :project AND environment = :environment AND status = 'success'
      AND deployed_at >= :from AND deployed_at <= :to
    ORDER BY deployed_at, id LIMIT 1
"""


class SqliteDelivery:
    """The `DeliveryStore` methods of `SqliteStore` (its connection, clock, transactions and retries)."""

    if TYPE_CHECKING:
        path: Path
        clock: Callable[[], datetime]
        _connection: sqlite3.Connection

        def _write(self) -> AbstractContextManager[None]: ...

        def _retry(self, operation: Callable[[], _T]) -> _T: ...

        def _errors(self) -> AbstractContextManager[None]: ...

    # -- deployments -------------------------------------------------------------------------------

    def record_deployment(self, request: DeploymentRequest, *, now: datetime | None = None) -> tuple[Deployment, bool]:
        """Store the deployment once (see `gatekeeper.store.delivery`)."""
        from gatekeeper.delivery import Deployment, deployment_id
        from gatekeeper.store.delivery import UnknownVerdict, deployment_document, time_from_text

        deployment = Deployment(
            id=deployment_id(
                project=request.project,
                environment=request.environment,
                commit=request.commit,
                status=request.status,
                pipeline=request.pipeline,
                explicit=request.explicit_id,
            ),
            project=request.project,
            environment=request.environment,
            commit=request.commit,
            status=request.status,
            deployed_at=time_from_text(utc_text(now or self.clock())),
            verdict_id=request.verdict_id,
            pipeline=request.pipeline,
            url=request.url,
            commits=request.commits,
            claimed_at=request.claimed_at,
        )
        document = deployment_document(deployment)
        del document["commits"]  # kept in deployment_commits, once
        row = {
            **{key: document[key] for key in ("id", "project", "environment", "commit", "status")},
            **{key: document[key] for key in ("verdict_id", "pipeline", "url", "deployed_at", "claimed_at")},
            "body": canonical_json(document),
        }
        commits = [
            (deployment.id, commit.sha, utc_text(commit.committed_at), " ".join(commit.keys))
            for commit in deployment.commits
        ]

        def record_once() -> Deployment | None:
            with self._write():
                if request.verdict_id is not None and not self._has_verdict(request.verdict_id, request.project):
                    raise UnknownVerdict(request.verdict_id, request.project)
                cursor = self._connection.execute(
                    'INSERT INTO deployments (id, project, environment, "commit", status, verdict_id, pipeline,'
                    " url, deployed_at, claimed_at, body) VALUES (:id, :project, :environment, :commit, :status,"
                    " :verdict_id, :pipeline, :url, :deployed_at, :claimed_at, :body) ON CONFLICT (id) DO NOTHING",
                    row,
                )
                if cursor.rowcount == 1:
                    self._connection.executemany(
                        "INSERT INTO deployment_commits (deployment_id, sha, committed_at, keys) VALUES (?, ?, ?, ?)",
                        commits,
                    )
                    return None
                return self._deployments_where("id = ?", (deployment.id,))[0]

        with self._errors():
            stored = self._retry(record_once)
        return (deployment, True) if stored is None else (stored, False)

    def _has_verdict(self, verdict_id: str, project: str) -> bool:
        """Whether this store holds the verdict, of the project or of none (a `check` outside CI names none)."""
        row = self._connection.execute(
            "SELECT 1 FROM verdicts WHERE id = ? AND (project = ? OR project IS NULL)", (verdict_id, project)
        ).fetchone()
        return row is not None

    def shipped_commits(self, project: str, environment: str, limit: int) -> builtins.list[str]:
        """The commits of the environment's newest `limit` successful deployments, newest first."""
        from gatekeeper.delivery import SUCCESS

        sql = (
            'SELECT "commit" FROM deployments WHERE project = ? AND environment = ? AND status = ?'
            " ORDER BY deployed_at DESC, id DESC LIMIT ?"
        )
        with self._errors():
            rows = self._retry(
                lambda: self._connection.execute(sql, (project, environment, SUCCESS, max(limit, 0))).fetchall()
            )
        return list(dict.fromkeys(str(row[0]) for row in rows))

    def deployments(
        self,
        project: str,
        environment: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> builtins.list[Deployment]:
        """Deployments with `since <= deployed_at < until`, oldest first."""
        where, parameters = _window("deployed_at", project, environment, since, until)
        with self._errors():
            return self._retry(lambda: self._deployments_where(where, parameters))

    def _deployments_where(self, where: str, parameters: tuple[Any, ...]) -> builtins.list[Deployment]:
        from gatekeeper.delivery import DeployedCommit
        from gatekeeper.store.delivery import deployment_from_document, time_from_text

        rows = self._connection.execute(
            f"SELECT id, body FROM deployments WHERE {where} ORDER BY deployed_at, id", parameters
        ).fetchall()
        commits: dict[str, builtins.list[DeployedCommit]] = {str(row[0]): [] for row in rows}
        query = (
            "SELECT deployment_id, sha, committed_at, keys FROM deployment_commits WHERE deployment_id IN"
            f" (SELECT id FROM deployments WHERE {where}) ORDER BY deployment_id, committed_at DESC, sha"
        )
        for identifier, sha, committed_at, keys in self._connection.execute(query, parameters):
            commits[identifier].append(
                DeployedCommit(sha=sha, committed_at=time_from_text(committed_at), keys=tuple(keys.split()))
            )
        found = []
        for identifier, body in rows:
            document = json.loads(body)
            document["commits"] = []
            deployment = deployment_from_document(document)
            found.append(_with_commits(deployment, commits[identifier]))
        return found

    # -- incidents ---------------------------------------------------------------------------------

    def open_incident(
        self,
        *,
        project: str,
        environment: str,
        incident: str,
        caused_by: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Incident, bool]:
        """Open the incident once, linking `caused_by` to the first successful deployment that shipped it."""
        from gatekeeper.delivery import incident_id
        from gatekeeper.store.delivery import check_incident_fields, commit_upper_bound

        project, environment, incident, caused_by = check_incident_fields(project, environment, incident, caused_by)
        identifier = incident_id(project=project, environment=environment, incident=incident)
        opened_at = utc_text(now or self.clock())

        def open_once() -> tuple[Incident, bool]:
            with self._write():
                found = self._incident(identifier)
                if found is not None:
                    return found, False
                cause = None
                if caused_by is not None:
                    cause = self._first(
                        _SHIPPED_BY,
                        {
                            "project": project,
                            "environment": environment,
                            "at": opened_at,
                            "sha": caused_by,
                            "above": commit_upper_bound(caused_by),
                        },
                    )
                self._connection.execute(
                    f"INSERT INTO incidents ({_INCIDENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, NULL)",
                    (identifier, project, environment, incident, opened_at, caused_by, cause),
                )
                created = self._incident(identifier)
                assert created is not None
                return created, True

        with self._errors():
            return self._retry(open_once)

    def resolve_incident(
        self, *, project: str, environment: str, incident: str, now: datetime | None = None
    ) -> tuple[Incident, bool]:
        """Resolve it now, with the first successful deployment since it was opened (if any)."""
        from gatekeeper.delivery import incident_id
        from gatekeeper.store.delivery import IncidentNotFound, check_incident_fields

        project, environment, incident, _ = check_incident_fields(project, environment, incident)
        identifier = incident_id(project=project, environment=environment, incident=incident)
        resolved_at = utc_text(now or self.clock())

        def resolve_once() -> tuple[Incident, bool]:
            with self._write():
                found = self._incident(identifier)
                if found is None:
                    raise IncidentNotFound(incident)
                if found.resolved_at is not None:
                    return found, False
                opened_at = utc_text(found.opened_at)
                restored_by = self._first(
                    _NEXT_SUCCESS,
                    {"project": project, "environment": environment, "from": opened_at, "to": resolved_at},
                )
                # A resolution the clock puts before the opening (clocks step back) is at the opening.
                self._connection.execute(
                    "UPDATE incidents SET resolved_at = ?, resolved_by_deployment = ? WHERE id = ?",
                    (max(resolved_at, opened_at), restored_by, identifier),
                )
                resolved = self._incident(identifier)
                assert resolved is not None
                return resolved, True

        with self._errors():
            return self._retry(resolve_once)

    def incidents(
        self,
        project: str,
        environment: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> builtins.list[Incident]:
        """Incidents with `since <= opened_at < until`, oldest first."""
        where, parameters = _window("opened_at", project, environment, since, until)
        sql = f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE {where} ORDER BY opened_at, id"
        with self._errors():
            rows = self._retry(lambda: self._connection.execute(sql, parameters).fetchall())
        return [_incident(row) for row in rows]

    def _incident(self, identifier: str) -> Incident | None:
        row = self._connection.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (identifier,)
        ).fetchone()
        return None if row is None else _incident(row)

    def _first(self, sql: str, parameters: dict[str, Any]) -> str | None:
        row = self._connection.execute(sql, parameters).fetchone()
        return None if row is None else str(row[0])


def _with_commits(deployment: Deployment, commits: builtins.list[DeployedCommit]) -> Deployment:
    return replace(deployment, commits=tuple(commits))


def _incident(row: Any) -> Incident:
    from gatekeeper.delivery import Incident
    from gatekeeper.store.delivery import time_from_text

    return Incident(
        id=row[0],
        project=row[1],
        environment=row[2],
        incident=row[3],
        opened_at=time_from_text(row[4]),
        resolved_at=None if row[5] is None else time_from_text(row[5]),
        caused_by=row[6],
        caused_by_deployment=row[7],
        resolved_by_deployment=row[8],
    )


def _window(
    column: str, project: str, environment: str | None, since: datetime | None, until: datetime | None
) -> tuple[str, tuple[Any, ...]]:
    """A WHERE clause (column names are ours, values parameters) for one project's events in a window."""
    clauses, parameters = ["project = ?"], [project]
    if environment is not None:
        clauses.append("environment = ?")
        parameters.append(environment)
    if since is not None:
        clauses.append(f"{column} >= ?")
        parameters.append(utc_text(since))
    if until is not None:
        clauses.append(f"{column} < ?")
        parameters.append(utc_text(until))
    return " AND ".join(clauses), tuple(parameters)
