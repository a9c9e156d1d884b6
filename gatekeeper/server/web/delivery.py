"""The four keys on the store server: computed from its deployments, deployment_commits and incidents.

On PostgreSQL the aggregates run in SQL (counts, `percentile_cont` over per-commit lead times and
per-incident restore times, grouped by period for the trend), so a project's page reads a few hundred
rows of results, never its ten thousand commits (bench/delivery.py measures it at 1M deployments).
On SQLite (a small server) the rows of one project and environment are read and `gatekeeper.dora`
computes: the same joins, and tests/test_dora_stores.py checks that both give the same numbers.

Every query is bounded by an index: (project, environment, deployed_at) for deployments and
(project, environment, opened_at) for incidents, deployment_commits by its key and (sha), incidents by
caused_by_deployment (migration 0007), verdicts by (project, commit, received_at).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from gatekeeper import dora
from gatekeeper.delivery import DeployedCommit, Deployment, Incident
from gatekeeper.store.codec import utc_text

#: Deployments listed per page.
PAGE_SIZE = 50
#: Environments a project page offers at most.
MAX_ENVIRONMENTS = 50
#: Commits of one deployment whose issue keys a page reads at most.
MAX_RELEASE_COMMITS = 2000
_PASSING = "('pass', 'warn')"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What a project's delivery page shows for one environment and window."""

    keys: dora.FourKeys
    trend: list[dora.FourKeys]
    advice: list[str]


def environments(engine: Engine, project: str) -> list[str]:
    """The project's environments with deployments or incidents (one with incidents alone still has a time
    to restore), in name order (bounded)."""
    sql = text(
        "SELECT environment FROM deployments WHERE project = :project "
        "UNION SELECT environment FROM incidents WHERE project = :project ORDER BY environment LIMIT :limit"
    )
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(sql, {"project": project, "limit": MAX_ENVIRONMENTS})]


def delivery(
    engine: Engine,
    project: str,
    environment: str,
    since: datetime,
    until: datetime,
    step: timedelta = timedelta(days=7),
    *,
    with_trend: bool = True,
) -> Delivery:
    """The four keys over the window, their trend by `step` (unless not wanted), and what the numbers
    support saying."""
    trend: list[dora.FourKeys] = []
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            keys, periods = _aggregate(connection, project, environment, since, until, step)
            if with_trend:
                trend = periods
        else:
            deployments, incidents, keys = _computed(connection, project, environment, since, until)
            if with_trend:
                trend = dora.trend(
                    deployments,
                    incidents,
                    project=project,
                    environment=environment,
                    since=since,
                    until=until,
                    step=step,
                )
        waits = _waits(connection, project, environment, since, until)
    return Delivery(keys=keys, trend=trend, advice=dora.recommendations(keys, waits))


def four_keys(engine: Engine, project: str, environment: str, since: datetime, until: datetime) -> dora.FourKeys:
    """The four keys alone (what `gatekeeper delivery --server`, `report` and the gauges need)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return _aggregate(connection, project, environment, since, until, until - since)[0]
        return _computed(connection, project, environment, since, until)[2]


def _computed(
    connection: Connection, project: str, environment: str, since: datetime, until: datetime
) -> tuple[list[Deployment], list[Incident], dora.FourKeys]:
    """SQLite: the environment's events read whole and the four keys computed from them in Python."""
    deployments, incidents = load(connection, project, environment)
    ungated = _ungated(connection, project, environment, since, until)
    keys = dora.compute(
        deployments,
        incidents,
        project=project,
        environment=environment,
        since=since,
        until=until,
        passing=lambda event: event.id not in ungated,
    )
    return deployments, incidents, keys


# -- SQLite: read the rows, compute in Python ------------------------------------------------------


def load(connection: Connection, project: str, environment: str) -> tuple[list[Deployment], list[Incident]]:
    """Every deployment (with its commits) and incident of one project and environment."""
    where = {"project": project, "environment": environment}
    commits: dict[str, list[DeployedCommit]] = {}
    for row in connection.execute(
        text(
            "SELECT c.deployment_id, c.sha, c.committed_at, c.keys FROM deployment_commits c "
            "JOIN deployments d ON d.id = c.deployment_id "
            "WHERE d.project = :project AND d.environment = :environment"
        ),
        where,
    ):
        commits.setdefault(row[0], []).append(
            DeployedCommit(sha=row[1], committed_at=parse_time(row[2]), keys=tuple(row[3].split()))
        )
    deployments = [
        Deployment(
            id=row.id,
            project=project,
            environment=environment,
            commit=row.commit,
            status=row.status,
            deployed_at=parse_time(row.deployed_at),
            verdict_id=row.verdict_id,
            pipeline=row.pipeline,
            url=row.url,
            commits=tuple(commits.get(row.id, ())),
        )
        for row in connection.execute(
            text(
                'SELECT id, "commit", status, deployed_at, verdict_id, pipeline, url FROM deployments '
                "WHERE project = :project AND environment = :environment"
            ),
            where,
        )
    ]
    incidents = [
        Incident(
            id=row.id,
            project=project,
            environment=environment,
            incident=row.incident,
            opened_at=parse_time(row.opened_at),
            resolved_at=None if row.resolved_at is None else parse_time(row.resolved_at),
            caused_by=row.caused_by,
            caused_by_deployment=row.caused_by_deployment,
            resolved_by_deployment=row.resolved_by_deployment,
        )
        for row in connection.execute(
            text(
                "SELECT id, incident, opened_at, resolved_at, caused_by, caused_by_deployment, "
                "resolved_by_deployment FROM incidents WHERE project = :project AND environment = :environment"
            ),
            where,
        )
    ]
    return deployments, incidents


# -- both databases --------------------------------------------------------------------------------

#: A verdict at the deployment's commit: the same id, or a prefix of it of 7 hex digits or more (a verdict
#: recorded outside a clone with `--commit abc1234`).  A range on the verdicts' (project, commit) index, then
#: the exact prefix test: a prefix sorts between the commit's first 7 digits and the commit itself.
_AT_COMMIT = (
    'v."commit" BETWEEN substr(d."commit", 1, 7) AND d."commit" '
    'AND substr(d."commit", 1, length(v."commit")) = v."commit"'
)

_GATED = (
    "CASE WHEN d.verdict_id IS NOT NULL "
    f"THEN EXISTS (SELECT 1 FROM verdicts v WHERE v.id = d.verdict_id AND v.status IN {_PASSING}) "
    f"ELSE EXISTS (SELECT 1 FROM verdicts v WHERE v.project = d.project AND {_AT_COMMIT} "
    f"AND v.status IN {_PASSING}) END"
)


def _window(project: str, environment: str, since: datetime, until: datetime) -> dict[str, Any]:
    return {"project": project, "environment": environment, "since": utc_text(since), "until": utc_text(until)}


def _ungated(connection: Connection, project: str, environment: str, since: datetime, until: datetime) -> set[str]:
    """Ids of the window's deployments no passing gate verdict covers (dora.gate_passing, in SQL)."""
    sql = text(
        "SELECT d.id FROM deployments d WHERE d.project = :project AND d.environment = :environment "
        f"AND d.deployed_at >= :since AND d.deployed_at < :until AND NOT ({_GATED})"
    )
    return {row[0] for row in connection.execute(sql, _window(project, environment, since, until))}


def _waits(connection: Connection, project: str, environment: str, since: datetime, until: datetime) -> list[float]:
    """dora.verdict_waits in SQL: per change shipped, its deployment's last passing verdict to the deployment."""
    sql = text(
        "SELECT d.deployed_at, (SELECT max(v.received_at) FROM verdicts v WHERE v.project = d.project "
        f"AND {_AT_COMMIT} AND v.status IN {_PASSING} AND v.received_at <= d.deployed_at) AS passed, "
        "(SELECT count(*) FROM deployment_commits c WHERE c.deployment_id = d.id) AS commits "
        "FROM deployments d WHERE d.project = :project AND d.environment = :environment "
        "AND d.status = 'success' AND d.deployed_at >= :since AND d.deployed_at < :until"
    )
    waits: list[float] = []
    for deployed_at, passed, commits in connection.execute(sql, _window(project, environment, since, until)):
        if passed is not None:
            seconds = (parse_time(deployed_at) - parse_time(passed)).total_seconds()
            waits.extend([seconds] * max(int(commits), 1))
    return waits


# -- PostgreSQL: aggregate in SQL ------------------------------------------------------------------


def _period(column: str) -> str:
    """The period (0, 1, …) of a stored time: which of the periods starting at `:starts` (stored times,
    ascending) it falls in, by a binary search on the text (text order is time order), no parsing."""
    return f"(width_bucket({column}, CAST(:starts AS text[])) - 1)"


def _seconds(later: str, earlier: str) -> str:
    return f"greatest(extract(epoch from (CAST({later} AS timestamptz) - CAST({earlier} AS timestamptz))), 0)"


# Each query groups by period and by nothing (GROUPING SETS): one pass gives the trend's periods and the
# whole window (the row whose period is NULL), percentiles included.
_DEPLOYMENTS_SQL = f"""
SELECT period, count(*) AS total,
       count(*) FILTER (WHERE status = 'success') AS successful,
       count(*) FILTER (WHERE status = 'failure') AS failed,
       count(*) FILTER (WHERE caused) AS caused,
       count(*) FILTER (WHERE NOT gated) AS ungated
FROM (
    SELECT {_period("d.deployed_at")} AS period, d.status,
           d.status = 'success' AND EXISTS (
               SELECT 1 FROM incidents i WHERE i.caused_by_deployment = d.id
               AND i.project = d.project AND i.environment = d.environment) AS caused,
           {_GATED} AS gated
    FROM deployments d
    WHERE d.project = :project AND d.environment = :environment
      AND d.deployed_at >= :since AND d.deployed_at < :until
) AS x
GROUP BY GROUPING SETS ((period), ())
"""

_DAYS_SQL = f"""
SELECT DISTINCT {_period("deployed_at")} AS period, substr(deployed_at, 1, 10) AS day
FROM deployments
WHERE project = :project AND environment = :environment AND status = 'success'
  AND deployed_at >= :since AND deployed_at < :until
"""

# A commit counts where its first successful deployment falls: in the window (the min over the
# window's deployments) and none before it (NOT EXISTS, through deployment_commits (sha)).  One dated
# after that deployment is `late`: counted apart, out of the lead time (times are fixed-width UTC text,
# so text order is time order).
_LEAD_SQL = f"""
WITH shipped AS MATERIALIZED (
    SELECT id, deployed_at FROM deployments
    WHERE project = :project AND environment = :environment AND status = 'success'
      AND deployed_at >= :since AND deployed_at < :until
),
firsts AS (
    SELECT c.sha, min(d.deployed_at) AS first_at, min(c.committed_at) AS committed_at
    FROM shipped d JOIN deployment_commits c ON c.deployment_id = d.id
    WHERE NOT EXISTS (
          SELECT 1 FROM deployment_commits c2 JOIN deployments d2 ON d2.id = c2.deployment_id
          WHERE c2.sha = c.sha AND d2.project = :project AND d2.environment = :environment
            AND d2.status = 'success' AND d2.deployed_at < :since)
    GROUP BY c.sha
)
SELECT period, count(*) FILTER (WHERE NOT late) AS changes, count(*) FILTER (WHERE late) AS late,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE NOT late) AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE NOT late) AS p90
FROM (SELECT {_period("first_at")} AS period, {_seconds("first_at", "committed_at")} AS seconds,
             committed_at > first_at AS late FROM firsts) AS x
GROUP BY GROUPING SETS ((period), ())
"""

_RESTORE_SQL = f"""
SELECT period, count(*) AS opened, count(seconds) AS restored,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median
FROM (
    SELECT {_period("i.opened_at")} AS period,
           CASE WHEN i.resolved_at IS NOT NULL THEN {_seconds("i.resolved_at", "i.opened_at")}
                WHEN f.first_after IS NOT NULL THEN {_seconds("f.first_after", "i.opened_at")} END AS seconds
    FROM incidents i LEFT JOIN LATERAL (
        SELECT min(n.deployed_at) AS first_after FROM deployments n
        WHERE i.resolved_at IS NULL AND n.project = i.project AND n.environment = i.environment
          AND n.status = 'success' AND n.deployed_at > i.opened_at
    ) AS f ON TRUE
    WHERE i.project = :project AND i.environment = :environment AND i.opened_at >= :since AND i.opened_at < :until
) AS x
GROUP BY GROUPING SETS ((period), ())
"""

#: The whole window's row of a GROUPING SETS result (its period is NULL).
_WHOLE = -1


def _aggregate(
    connection: Connection, project: str, environment: str, since: datetime, until: datetime, step: timedelta
) -> tuple[dora.FourKeys, list[dora.FourKeys]]:
    """The four keys over the window, and per period of `step` from `since`, in one pass per table."""
    bounds: list[tuple[datetime, datetime]] = []
    start = since
    while start < until:
        bounds.append((start, min(start + step, until)))
        start += step
    if not bounds:
        bounds.append((since, until))
    values = _window(project, environment, since, until) | {"starts": [utc_text(start) for start, _ in bounds]}

    def keyed(sql: str) -> dict[int, Any]:
        return {_WHOLE if row.period is None else row.period: row for row in connection.execute(text(sql), values)}

    counts = keyed(_DEPLOYMENTS_SQL)
    days: dict[int, set[date]] = {_WHOLE: set()}
    for period, day in connection.execute(text(_DAYS_SQL), values):
        days.setdefault(period, set()).add(date.fromisoformat(day))
        days[_WHOLE].add(date.fromisoformat(day))
    leads, restores = keyed(_LEAD_SQL), keyed(_RESTORE_SQL)

    def keys(index: int, start: datetime, end: datetime) -> dora.FourKeys:
        count, lead, restore = counts.get(index), leads.get(index), restores.get(index)
        return dora.FourKeys(
            project=project,
            environment=environment,
            since=start,
            until=end,
            deployments=0 if count is None else count.total,
            successful=0 if count is None else count.successful,
            failed=0 if count is None else count.failed,
            caused_incident=0 if count is None else count.caused,
            changes=0 if lead is None else lead.changes,
            lead_time_median=None if lead is None or lead.median is None else float(lead.median),
            lead_time_p90=None if lead is None or lead.p90 is None else float(lead.p90),
            incidents=0 if restore is None else restore.opened,
            restored=0 if restore is None else restore.restored,
            open_incidents=0 if restore is None else restore.opened - restore.restored,
            restore_median=None if restore is None or restore.median is None else float(restore.median),
            deployment_days=tuple(sorted(days.get(index, ()))),
            ungated=0 if count is None else count.ungated,
            dated_after_deployment=0 if lead is None else lead.late,
        )

    return keys(_WHOLE, since, until), [keys(index, start, end) for index, (start, end) in enumerate(bounds)]


# -- the page's lists ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentRow:
    """One deployment as its page lists it: the gate verdict that covers it, or the flag that none does."""

    id: str
    commit: str
    status: str
    deployed_at: datetime
    pipeline: str | None
    url: str | None
    verdict_id: str | None  # the named verdict, else the newest passing one at the commit, else the newest
    verdict_status: str | None
    commits: int

    @property
    def gated(self) -> bool:
        return self.verdict_status in dora.PASSING_STATUSES


def recent_deployments(
    engine: Engine, project: str, environment: str, *, before: tuple[str, str] | None = None, limit: int = PAGE_SIZE
) -> list[DeploymentRow]:
    """The newest deployments (by the store's time, then id), `limit` of them, older than `before`."""
    after = "" if before is None else "AND (d.deployed_at, d.id) < (:before_at, :before_id)"
    newest_passing = (
        f"SELECT v.id FROM verdicts v WHERE v.project = d.project AND {_AT_COMMIT} "
        f"AND v.status IN {_PASSING} ORDER BY v.received_at DESC, v.id DESC LIMIT 1"
    )
    newest_any = (
        f"SELECT v.id FROM verdicts v WHERE v.project = d.project AND {_AT_COMMIT} "
        "ORDER BY v.received_at DESC, v.id DESC LIMIT 1"
    )
    sql = text(
        f"""
        SELECT x.*, (SELECT status FROM verdicts WHERE verdicts.id = x.shown) AS shown_status,
               (SELECT count(*) FROM deployment_commits c WHERE c.deployment_id = x.id) AS commits
        FROM (
            SELECT d.id, d."commit", d.status, d.deployed_at, d.pipeline, d.url,
                   CASE WHEN d.verdict_id IS NOT NULL THEN d.verdict_id
                        ELSE coalesce(({newest_passing}), ({newest_any})) END AS shown
            FROM deployments d
            WHERE d.project = :project AND d.environment = :environment {after}
            ORDER BY d.deployed_at DESC, d.id DESC LIMIT :limit
        ) AS x
        ORDER BY x.deployed_at DESC, x.id DESC
        """
    )
    values: dict[str, Any] = {"project": project, "environment": environment, "limit": limit}
    if before is not None:
        values |= {"before_at": before[0], "before_id": before[1]}
    with engine.connect() as connection:
        rows = list(connection.execute(sql, values))
    return [
        DeploymentRow(
            id=row.id,
            commit=row.commit,
            status=row.status,
            deployed_at=parse_time(row.deployed_at),
            pipeline=row.pipeline,
            url=row.url,
            verdict_id=row.shown,
            verdict_status=row.shown_status,
            commits=int(row.commits),
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueKey:
    """An issue key a deployment shipped, its commits, and whether a passing verdict's trace names it."""

    key: str
    commits: tuple[str, ...]
    passed: bool


def deployment_keys(engine: Engine, deployment_id: str) -> tuple[Deployment | None, list[IssueKey]]:
    """A deployment and the issue keys of the commits it shipped (the release's requirements), each
    marked passed when a pass or warn verdict of the project at one of those commits lists it in its
    `trace` (its own commit's keys, or the keys of the change it judged)."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                'SELECT id, project, environment, "commit", status, deployed_at, verdict_id, pipeline, url '
                "FROM deployments WHERE id = :id"
            ),
            {"id": deployment_id},
        ).first()
        if row is None:
            return None, []
        commits = list(
            connection.execute(
                text(
                    "SELECT sha, committed_at, keys FROM deployment_commits WHERE deployment_id = :id "
                    "ORDER BY committed_at, sha LIMIT :limit"
                ),
                {"id": deployment_id, "limit": MAX_RELEASE_COMMITS},
            )
        )
        shas = sorted({row.commit, *(commit.sha for commit in commits)})
        covered: set[str] = set()
        for chunk in _chunks(shas, 500):
            marks = ", ".join(f":s{index}" for index in range(len(chunk)))
            bodies = connection.execute(
                text(
                    f'SELECT body FROM verdicts WHERE project = :project AND "commit" IN ({marks}) '
                    f"AND status IN {_PASSING}"
                ),
                {"project": row.project} | {f"s{index}": sha for index, sha in enumerate(chunk)},
            ).scalars()
            for body in bodies:
                covered.update(trace_keys(body))
    deployment = Deployment(
        id=row.id,
        project=row.project,
        environment=row.environment,
        commit=row.commit,
        status=row.status,
        deployed_at=parse_time(row.deployed_at),
        verdict_id=row.verdict_id,
        pipeline=row.pipeline,
        url=row.url,
        commits=tuple(
            DeployedCommit(
                sha=commit.sha, committed_at=parse_time(commit.committed_at), keys=tuple(commit.keys.split())
            )
            for commit in commits
        ),
    )
    by_key: dict[str, list[str]] = {}
    for commit in deployment.commits:
        for key in commit.keys:
            by_key.setdefault(key, []).append(commit.sha)
    return deployment, [
        IssueKey(key=key, commits=tuple(found), passed=key in covered) for key, found in sorted(by_key.items())
    ]


def trace_keys(body: str) -> list[str]:
    """The issue keys a stored verdict's `trace` lists (its `keys`, and each commit's), or none."""
    try:
        trace = json.loads(body).get("trace")
    except (ValueError, AttributeError):
        return []
    if not isinstance(trace, dict):
        return []
    keys = [key for key in trace.get("keys") or [] if isinstance(key, str)]
    for commit in trace.get("commits") or []:
        if isinstance(commit, dict):
            keys.extend(key for key in commit.get("keys") or [] if isinstance(key, str))
    return keys


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- every project at once: the /metrics gauges ----------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    """One project and environment's four keys as the gauges show them (window: `GAUGE_DAYS`)."""

    project: str
    environment: str
    deployments: int
    successful: int
    change_failures: int
    ungated: int
    lead_time_median: float | None
    lead_time_p90: float | None
    restore_median: float | None


#: The gauges' window: the last 30 days.
GAUGE_DAYS = 30

_ALL_DEPLOYMENTS_SQL = f"""
SELECT d.project, d.environment, count(*) AS total,
       count(*) FILTER (WHERE d.status = 'success') AS successful,
       count(*) FILTER (WHERE d.status = 'failure' OR EXISTS (
           SELECT 1 FROM incidents i WHERE i.caused_by_deployment = d.id
           AND i.project = d.project AND i.environment = d.environment)) AS failures,
       count(*) FILTER (WHERE NOT ({_GATED})) AS ungated
FROM deployments d WHERE d.deployed_at >= :since AND d.deployed_at < :until
GROUP BY d.project, d.environment
"""

# As _LEAD_SQL, for every project and environment at once; a commit dated after its first deployment is
# left out of the lead time here too (the gauges agree with `gatekeeper delivery` and the page).
_ALL_LEAD_SQL = f"""
WITH firsts AS (
    SELECT d.project, d.environment, c.sha, min(d.deployed_at) AS first_at, min(c.committed_at) AS committed_at
    FROM deployments d JOIN deployment_commits c ON c.deployment_id = d.id
    WHERE d.status = 'success' AND d.deployed_at >= :since AND d.deployed_at < :until
      AND NOT EXISTS (
          SELECT 1 FROM deployment_commits c2 JOIN deployments d2 ON d2.id = c2.deployment_id
          WHERE c2.sha = c.sha AND d2.project = d.project AND d2.environment = d.environment
            AND d2.status = 'success' AND d2.deployed_at < :since)
    GROUP BY d.project, d.environment, c.sha
)
SELECT project, environment,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
FROM (SELECT project, environment, {_seconds("first_at", "committed_at")} AS seconds FROM firsts
      WHERE committed_at <= first_at) AS x
GROUP BY project, environment
"""

_ALL_RESTORE_SQL = f"""
SELECT project, environment, percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median
FROM (
    SELECT i.project, i.environment,
           CASE WHEN i.resolved_at IS NOT NULL THEN {_seconds("i.resolved_at", "i.opened_at")}
                WHEN f.first_after IS NOT NULL THEN {_seconds("f.first_after", "i.opened_at")} END AS seconds
    FROM incidents i LEFT JOIN LATERAL (
        SELECT min(n.deployed_at) AS first_after FROM deployments n
        WHERE i.resolved_at IS NULL AND n.project = i.project AND n.environment = i.environment
          AND n.status = 'success' AND n.deployed_at > i.opened_at
    ) AS f ON TRUE
    WHERE i.opened_at >= :since AND i.opened_at < :until
) AS x
GROUP BY project, environment
"""


def all_figures(engine: Engine, now: datetime, days: int = GAUGE_DAYS) -> list[Figures]:
    """Every project and environment with deployments or incidents in the last `days` days, in name order."""
    since = now - timedelta(days=days)
    values = {"since": utc_text(since), "until": utc_text(now)}
    if engine.dialect.name != "postgresql":
        with engine.connect() as connection:
            pairs = list(
                connection.execute(
                    text(
                        "SELECT project, environment FROM deployments "
                        "WHERE deployed_at >= :since AND deployed_at < :until "
                        "UNION SELECT project, environment FROM incidents "
                        "WHERE opened_at >= :since AND opened_at < :until"
                    ),
                    values,
                )
            )
        found = []
        for project, environment in sorted(pairs):
            keys = four_keys(engine, project, environment, since, now)
            found.append(
                Figures(
                    project=project,
                    environment=environment,
                    deployments=keys.deployments,
                    successful=keys.successful,
                    change_failures=keys.change_failures,
                    ungated=keys.ungated,
                    lead_time_median=keys.lead_time_median,
                    lead_time_p90=keys.lead_time_p90,
                    restore_median=keys.restore_median,
                )
            )
        return found
    with engine.connect() as connection:
        counts = list(connection.execute(text(_ALL_DEPLOYMENTS_SQL), values))
        leads = {(row.project, row.environment): row for row in connection.execute(text(_ALL_LEAD_SQL), values)}
        restores = {(row.project, row.environment): row for row in connection.execute(text(_ALL_RESTORE_SQL), values)}
    by_pair = {(row.project, row.environment): row for row in counts}
    figures = []
    for pair in sorted({*by_pair, *restores}):  # incidents without deployments still have a time to restore
        row, lead, restore = by_pair.get(pair), leads.get(pair), restores.get(pair)
        figures.append(
            Figures(
                project=pair[0],
                environment=pair[1],
                deployments=0 if row is None else row.total,
                successful=0 if row is None else row.successful,
                change_failures=0 if row is None else row.failures,
                ungated=0 if row is None else row.ungated,
                lead_time_median=None if lead is None else float(lead.median),
                lead_time_p90=None if lead is None else float(lead.p90),
                restore_median=None if restore is None or restore.median is None else float(restore.median),
            )
        )
    return figures
