"""The measurement pages (issue 19): a project's four keys per environment, their weekly trend, its
Four Keys bucket, what the numbers support recommending, its deployments with their gate verdicts,
and one deployment's issue keys with those no passing verdict names.

Signed in like every page (`routes._viewer`); read-only, no script; every value escaped by the template.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from markupsafe import Markup

from gatekeeper import charts, dora
from gatekeeper.delivery import ENVIRONMENT_PATTERN
from gatekeeper.outputs.delivery import advice_html
from gatekeeper.server import db
from gatekeeper.server.web import delivery, queries
from gatekeeper.server.web.routes import _TEXT, PageRoute, _engine, _not_found, _now, _render, _to_login, _viewer

router = APIRouter(include_in_schema=False, route_class=PageRoute)

#: The window a page shows by default (the CLI's and the API's too), and the longest it may ask for (days).
DEFAULT_DAYS = dora.DEFAULT_DAYS
MAX_DAYS = 366
#: Environments a page chooses first when none is asked for: production by its common names.
PRODUCTION = ("prod", "production", "prd", "live")


def delivery_url(project: str, environment: str | None = None, days: int | None = None) -> str:
    query = {"project": project} | ({"environment": environment} if environment else {})
    if days is not None and days != DEFAULT_DAYS:
        query["days"] = str(days)
    return f"/delivery?{urlencode(query)}"


def _charts(trend: list[dora.FourKeys]) -> list[charts.Chart]:
    """The four keys week by week, as the pages' line charts (one point per week that has a value)."""

    def series(name: str, values: list[tuple[datetime, float | None]]) -> charts.Series:
        return charts.Series(
            name=name, points=tuple(charts.Point(at=at, value=value) for at, value in values if value is not None)
        )

    steps = tuple(week.since for week in trend)
    hours = dora.HOUR
    return [
        charts.Chart(
            key="deployments",
            title="Successful deployments per week",
            unit="",
            series=(series("deployments", [(week.since, float(week.successful)) for week in trend]),),
            steps=steps,
        ),
        charts.Chart(
            key="lead-time",
            title="Lead time for changes",
            unit="hours",
            series=(
                series(
                    "median",
                    [(w.since, None if w.lead_time_median is None else w.lead_time_median / hours) for w in trend],
                ),
                series("p90", [(w.since, None if w.lead_time_p90 is None else w.lead_time_p90 / hours) for w in trend]),
            ),
            steps=steps,
        ),
        charts.Chart(
            key="change-failure",
            title="Change failure rate",
            unit="%",
            series=(series("change failure", [(w.since, w.change_failure_percent) for w in trend]),),
            y_max=100.0,
            steps=steps,
        ),
        charts.Chart(
            key="restore",
            title="Time to restore",
            unit="hours",
            series=(
                series(
                    "median",
                    [(w.since, None if w.restore_median is None else w.restore_median / hours) for w in trend],
                ),
            ),
            steps=steps,
        ),
    ]


@router.get("/delivery")
async def delivery_page(
    request: Request,
    project: Annotated[str, Query(min_length=1, **_TEXT)],
    environment: Annotated[str | None, Query(max_length=100)] = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """One project's delivery in one environment over the last `days` days."""
    if await _viewer(request) is None:
        return _to_login(request)
    if environment is not None and not re.fullmatch(ENVIRONMENT_PATTERN, environment):
        return _render("error.html", 400, heading="Bad environment", message="That is not an environment name.")
    try:
        before = None if not cursor else db.decode_cursor(cursor)
    except ValueError:
        return _render("error.html", 400, heading="Bad page link", message="This page link is not one we made.")
    engine = _engine(request)
    now = _now()
    since = now - timedelta(days=days)

    def read() -> tuple[list[str], str | None, Any, list[delivery.DeploymentRow], bool]:
        names = delivery.environments(engine, project)
        chosen = environment or next((name for name in PRODUCTION if name in names), names[0] if names else None)
        if chosen is None or not names:
            return names, None, None, [], queries.count_verdicts(engine, project, None) > 0
        found = delivery.delivery(engine, project, chosen, since, now)
        rows = delivery.recent_deployments(engine, project, chosen, before=before, limit=delivery.PAGE_SIZE + 1)
        return names, chosen, found, rows, True

    names, chosen, found, rows, known = await run_in_threadpool(read)
    if not names and known:  # gated but never deployed (yet): nothing to measure, which is no error
        return _render("delivery_empty.html", section="overview", project=project, environment=environment)
    if chosen is None or (environment is not None and environment not in names):
        where = f" in environment {environment!r}" if environment else ""
        return _not_found(f"No deployments of project {project!r}{where} are recorded.")
    more = len(rows) > delivery.PAGE_SIZE
    rows = rows[: delivery.PAGE_SIZE]
    last = rows[-1] if more and rows else None
    from gatekeeper.store.codec import utc_text

    return _render(
        "delivery.html",
        section="overview",
        project=project,
        environment=chosen,
        environments=names,
        days=days,
        since=since,
        now=now,
        keys=found.keys,
        trend=found.trend,
        default_days=DEFAULT_DAYS,
        # escaped by advice_html itself, its `code` spans made <code>
        advice=[Markup(advice_html(line)) for line in found.advice],
        dated_after=dora.dated_after_note(found.keys),
        charts=_charts(found.trend),
        rows=rows,
        cursor=cursor,
        next_cursor=None if last is None else db.encode_cursor(utc_text(last.deployed_at), last.id),
        delivery_url=delivery_url,
        duration=dora.format_duration,
    )


@router.get("/deployments/{deployment_id}")
async def deployment_page(request: Request, deployment_id: str) -> Response:
    """One deployment: what it shipped, the issue keys of its commits, and which no passing verdict names."""
    if await _viewer(request) is None:
        return _to_login(request)
    if not re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", deployment_id):
        return _not_found("No deployment with this id.")
    found, keys = await run_in_threadpool(delivery.deployment_keys, _engine(request), deployment_id)
    if found is None:
        return _not_found(f"No deployment with id {deployment_id!r}.")
    return _render(
        "deployment.html",
        section="overview",
        deployment=found,
        keys=keys,
        unpassed=[key for key in keys if not key.passed],
        delivery_url=delivery_url,
        max_commits=delivery.MAX_RELEASE_COMMITS,
    )
