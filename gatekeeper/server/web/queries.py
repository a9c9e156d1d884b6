"""The pages' reads, in SQLAlchemy Core on the server's tables: each bounded by an index, so a page
costs the same with 100,000 stored verdicts as with 100 (bench/pages.py measures it).

The API's own queries (`db.list_verdicts`, `db.get_body`) are reused where a page needs exactly them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Engine, cast, func, literal_column, select

from gatekeeper.charts import Step
from gatekeeper.server.db import NEWEST_FIRST, SUMMARY_COLUMNS, summary, verdict_metrics, verdicts
from gatekeeper.server.web.flakiness import StoredVerdict
from gatekeeper.store import VerdictSummary

#: How many of a branch's newest verdicts its pass rate on the overview counts.
RECENT = 20
#: How many of the newest verdicts a project page charts.
TREND_VERDICTS = 100
#: How many verdicts the tests page reads at most (the newest of its window): a busy project's page
#: costs what 300 verdicts' bodies cost, however many it has.
TEST_VERDICTS = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchState:
    """One project and branch on the overview: its newest verdict and how its recent verdicts went."""

    latest: VerdictSummary
    recent: int
    passed: int

    @property
    def pass_percent(self) -> float:
        return 100.0 * self.passed / self.recent if self.recent else 0.0


def parse_time(text: str) -> datetime:
    """A stored time (`TIME_FORMAT`: UTC, `…Z`, any year 0001-9999) as an aware datetime (3.10's
    fromisoformat does not take Z)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def overview(
    engine: Engine, *, offset: int, limit: int, project_prefix: str = "", recent: int = RECENT
) -> tuple[list[BranchState], bool]:
    """One page of project and branch pairs in name order, and whether another page follows.

    The pairs come from the (project, branch, received_at, id) index alone; then each pair's newest
    `recent` verdicts (as received) are one index range each — never a pass over every stored verdict's row."""
    pairs = select(verdicts.c.project, verdicts.c.branch).group_by(verdicts.c.project, verdicts.c.branch)
    if project_prefix:
        pairs = pairs.where(verdicts.c.project.like(_escape_like(project_prefix) + "%", escape="\\"))
    pairs = pairs.order_by(verdicts.c.project, verdicts.c.branch).limit(limit + 1).offset(offset)
    states = []
    with engine.connect() as connection:
        found = list(connection.execute(pairs))
        for row in found[:limit]:
            newest = connection.execute(
                select(*SUMMARY_COLUMNS)
                .where(verdicts.c.project == row.project, verdicts.c.branch == row.branch)
                .order_by(*NEWEST_FIRST)
                .limit(recent)
            ).all()
            if newest:
                states.append(
                    BranchState(
                        latest=summary(newest[0]),
                        recent=len(newest),
                        passed=sum(1 for verdict in newest if verdict.status == "pass"),
                    )
                )
    return states, len(found) > limit


def branch_counts(engine: Engine, project: str) -> dict[str | None, int]:
    """How many verdicts a project has on each branch, in branch order (from the index alone)."""
    query = (
        select(verdicts.c.branch, func.count())
        .where(verdicts.c.project == project)
        .group_by(verdicts.c.branch)
        .order_by(verdicts.c.branch)
    )
    with engine.connect() as connection:
        return {row[0]: int(row[1]) for row in connection.execute(query)}


def _newest(project: str, branch: str | None, limit: int) -> Any:
    """The project's (branch's) newest `limit` verdicts as received, from the index: what the trends chart."""
    newest = select(verdicts.c.id, verdicts.c.created_at, verdicts.c.status, verdicts.c.level_achieved).where(
        verdicts.c.project == project
    )
    if branch is not None:
        newest = newest.where(verdicts.c.branch == branch)
    return newest.order_by(*NEWEST_FIRST).limit(limit)


def trend_steps(engine: Engine, project: str, branch: str | None, limit: int = TREND_VERDICTS) -> list[Step]:
    """The charted verdicts' times, statuses and levels achieved: the x axis of every trend chart
    (one step per verdict) and the status strip."""
    with engine.connect() as connection:
        return [
            Step(at=parse_time(row.created_at), status=row.status, level=row.level_achieved)
            for row in connection.execute(_newest(project, branch, limit))
        ]


def trend_values(
    engine: Engine, project: str, branch: str | None, metrics: tuple[str, ...], limit: int = TREND_VERDICTS
) -> list[tuple[datetime, str, float]]:
    """(verdict time, metric, value) of the project's (branch's) newest `limit` verdicts as received:
    those ids first, from the index, then their metric rows by primary key.  The time is the one the
    verdict claims (`created_at`, within the window the upload allowed)."""
    recent = _newest(project, branch, limit).subquery()
    query = (
        select(recent.c.created_at, verdict_metrics.c.name, verdict_metrics.c.value)
        .join(verdict_metrics, verdict_metrics.c.verdict_id == recent.c.id)
        .where(verdict_metrics.c.name.in_(metrics))
    )
    with engine.connect() as connection:
        return [(parse_time(row.created_at), row.name, float(row.value)) for row in connection.execute(query)]


def count_verdicts(engine: Engine, project: str, branch: str | None) -> int:
    """How many verdicts a project (branch) has: an index-only count, shown above its list."""
    query: Any = select(func.count()).select_from(verdicts).where(verdicts.c.project == project)
    if branch is not None:
        query = query.where(verdicts.c.branch == branch)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


#: What the tests page reads of a verdict's body, and nothing else (a body may be 1 MiB of findings).
_TEST_PATHS = (
    ("context", "job"),
    ("context", "commit"),
    ("metrics", "tests.total"),
    ("details", "tests"),
    ("details", "tests_omitted"),
    ("quarantine", "applied"),
)


def recent_verdicts(
    engine: Engine, project: str, branch: str | None, since: str, limit: int = TEST_VERDICTS
) -> list[StoredVerdict]:
    """The project's (branch's) newest `limit` verdicts received since `since` (this server's clock), oldest
    first: what the tests page ranks flaky and failing tests from.  The database cuts each body down to
    `_TEST_PATHS` (parsing it in C, once), so the page holds tests lists, not whole verdicts."""
    newest = select(verdicts.c.id, verdicts.c.received_at).where(
        verdicts.c.project == project, verdicts.c.received_at >= since
    )
    if branch is not None:
        newest = newest.where(verdicts.c.branch == branch)
    newest = newest.order_by(*NEWEST_FIRST).limit(limit)
    if engine.dialect.name == "postgresql":
        # the body cast once, in a subquery its LIMIT keeps PostgreSQL from folding into the outer one
        recent = newest.add_columns(cast(verdicts.c.body, JSON).label("doc")).subquery("recent")
        members = ", ".join(f"recent.doc #> '{{{','.join(path)}}}'" for path in _TEST_PATHS)
        query = select(recent.c.id, recent.c.received_at, literal_column(f"json_build_array({members})"))
    else:
        members = ", ".join("'$." + ".".join(f'"{key}"' for key in path) + "'" for path in _TEST_PATHS)
        query = newest.add_columns(literal_column(f"json_extract(verdicts.body, {members})"))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    found = [StoredVerdict(id=row[0], received_at=row[1], document=_document(row[0], row[2])) for row in rows]
    return sorted(found, key=lambda verdict: (verdict.received_at, verdict.id))


def _document(verdict_id: str, values: Any) -> dict[str, Any]:
    """The parts of a verdict `_TEST_PATHS` names (a JSON array: SQLite's text, psycopg's list) as the
    document `flakiness` reads."""
    job, commit, total, tests, omitted, applied = values if isinstance(values, list) else json.loads(values)
    return {
        "id": verdict_id,
        "context": {"job": job, "commit": commit},
        "metrics": {} if total is None else {"tests.total": total},
        "details": {"tests": tests or [], "tests_omitted": omitted or 0},
        "quarantine": {"applied": applied or []},
    }
