"""The release manager's pages: server-rendered HTML, read-only, no script.

Sign-in is a `read` (or `admin`) token typed once into /login and kept in an HttpOnly, SameSite=Strict
cookie; every page checks it as the API checks a bearer token (`auth.verify`, through the app's token
cache), and without a live one redirects to /login.  Pages are left out of the OpenAPI document: they
are for people, not a contract for scripts.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine

from gatekeeper import charts
from gatekeeper.release import NAME_PATTERN
from gatekeeper.server import db
from gatekeeper.server.app import ID_PATTERN
from gatekeeper.server.auth import Authenticator, Scope, Throttled, Token
from gatekeeper.server.web import flakiness, present, queries
from gatekeeper.store.codec import utc_text
from gatekeeper.verdict import Verdict

#: The cookie holding the signed-in token.
COOKIE = "gatekeeper_session"
#: How long a browser keeps the sign-in (the token's own expiry and revocation still apply).
COOKIE_SECONDS = 30 * 86400
#: Rows per page on the overview and in verdict lists.
PAGE_SIZE = 50
#: A sign-in form is a token and a path: anything longer is not one.
MAX_FORM_BYTES = 4096
#: The tests page's window in days by default (GitLab's "failed N times in the last 14 days"), and its longest.
TEST_DAYS = 14
MAX_TEST_DAYS = 90

_TEMPLATES = Path(__file__).with_name("templates")
_TEXT: dict[str, Any] = {"max_length": 1000, "pattern": r"^[^\x00]*$"}
#: No script, no frames, nothing from elsewhere: the pages need none of it.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class PageRoute(APIRoute):
    """A page's route: a query parameter it cannot take gets the site's error page, in HTML, where the
    JSON API answers with its JSON errors (a person followed a link; a script reads the JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                return await _bad_link(request, error)

        return page


router = APIRouter(include_in_schema=False, route_class=PageRoute)


def _project_url(project: str, branch: str | None, cursor: str | None = None) -> str:
    query = {"name": project} | ({"branch": branch} if branch is not None else {})
    if cursor:
        query["cursor"] = cursor
    return f"/project?{urlencode(query)}"


def _tests_url(project: str, branch: str | None, days: int | None = None) -> str:
    query = {"name": project} | ({"branch": branch} if branch is not None else {})
    if days is not None and days != TEST_DAYS:
        query["days"] = str(days)
    return f"/project/tests?{urlencode(query)}"


@functools.cache
def _environment() -> Environment:
    """One template environment per process (it caches compiled templates)."""
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=present.shown,
    )
    environment.globals.update(
        number=present.number,
        threshold=present.threshold,
        project_url=_project_url,
        tests_url=_tests_url,
        table_rows=charts.table_rows,
        ago=lambda text, now: present.ago(queries.parse_time(text), now),
        svg=_svg,
    )
    environment.filters.update(present.FILTERS)
    return environment


def _svg(chart: charts.Chart) -> Any:
    from markupsafe import Markup

    return Markup(charts.render_svg(chart))  # charts.py escapes every text it writes


def _render(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    body = _environment().get_template(name).render({"signed_in": True, "section": ""} | values)
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def _viewer(request: Request) -> Token | None:
    """The live read/admin token in the sign-in cookie, or None."""
    presented = request.cookies.get(COOKIE)
    if not presented:
        return None
    try:
        token = await _check(request, presented)
    except Throttled:
        return None  # to /login, which says how long to wait
    if token is None or not token.allows(Scope.READ):
        return None
    request.state.token_id = token.id  # for the access log: the id, never the secret
    return token


async def _check(request: Request, presented: str) -> Token | None:
    """The live token presented, as the API checks a bearer token (cache, throttle, database)."""
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.check(presented, request.client.host if request.client else "")


def _cross_site(request: Request) -> bool:
    """A form posted from another site (login CSRF, a forced sign-out): the browser says so in
    `Sec-Fetch-Site`, or its `Origin` names another host than the request's `Host` (or a proxy's
    `X-Forwarded-Host`; a form from another site can set neither).  A request with neither header
    (curl, old browsers) passes: signing in needs a token anyway, and the cookie is SameSite=Strict."""
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    forwarded = request.headers.get("x-forwarded-host", "").split(",")
    ours = {host.strip().lower() for host in (request.headers.get("host", ""), *forwarded)} - {""}
    return urlsplit(origin).netloc.lower() not in ours


def _forbidden_cross_site() -> HTMLResponse:
    message = "This form was sent from another site. Sign in from this server's own /login page."
    return _render("error.html", 403, heading="Refused", message=message, signed_in=False)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303, headers=HEADERS)


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never `//elsewhere` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _not_found(message: str) -> HTMLResponse:
    return _render("error.html", 404, heading="Not found", message=message)


async def _bad_link(request: Request, error: RequestValidationError) -> HTMLResponse:
    """422, as the API would, but a page: each parameter and what is wrong with it, in words.  Never a
    redirect to /login (whose own `next` could be the bad parameter): the page shows no data either way."""
    problems = "; ".join(_problem_text(problem) for problem in error.errors())
    message = f"This link asks for what no page here can show: {problems}."
    signed_in = await _viewer(request) is not None
    return _render("error.html", 422, heading="Bad link", message=message, signed_in=signed_in)


def _problem_text(problem: Any) -> str:
    """'days: must be at most 90' for one of pydantic's validation errors (its own words where ours are none)."""
    where = problem.get("loc") or ()
    name = str(where[-1]) if where else "the link"
    kind, limits = problem.get("type"), problem.get("ctx") or {}
    if kind == "missing":
        said = "is missing"
    elif kind == "int_parsing":
        said = "must be a whole number"
    elif kind == "greater_than_equal":
        said = f"must be at least {limits.get('ge')}"
    elif kind == "less_than_equal":
        said = f"must be at most {limits.get('le')}"
    elif kind == "string_too_long":
        said = f"must be at most {limits.get('max_length')} characters"
    elif kind == "string_too_short":
        said = "must not be empty"
    elif kind == "string_pattern_mismatch" and limits.get("pattern") == _TEXT["pattern"]:
        said = "must not hold a NUL character"
    else:
        said = str(problem.get("msg", "is not valid"))
    return f"{name}: {said}"


# -- sign-in ---------------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, next: Annotated[str, Query(**_TEXT)] = "/") -> HTMLResponse:
    return _login_page(next, None, 200)


def _login_page(next_path: str, error: str | None, status: int) -> HTMLResponse:
    return _render("login.html", status, next=_safe_next(next_path), error=error, signed_in=False)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token once, then keep it in the cookie; a wrong one gets the form again, with a 401,
    and too many wrong ones from this client a 429; a form from another site a 403."""
    if _cross_site(request):
        return _forbidden_cross_site()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return _login_page("/", "That is not a gatekeeper token.", 413)
    form = parse_qs(body.decode("utf-8", "replace"))
    presented = (form.get("token") or [""])[0].strip()
    next_path = _safe_next((form.get("next") or ["/"])[0])
    try:
        token = await _check(request, presented) if presented else None
    except Throttled as error:
        wait = f"Too many wrong tokens from this address: try again in {error.retry_after} s."
        page = _login_page(next_path, wait, 429)
        page.headers["Retry-After"] = str(error.retry_after)
        return page
    if token is None or not token.allows(Scope.READ):
        reason = "That token is not a live token." if token is None else "That token cannot read: its scope is upload."
        return _login_page(next_path, f"{reason} Use one made with: gatekeeper tokens create --scope read", 401)
    response = RedirectResponse(next_path, status_code=303, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        presented,
        max_age=COOKIE_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    if _cross_site(request):
        return _forbidden_cross_site()
    response = RedirectResponse("/login", status_code=303, headers=HEADERS)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/assets/gatekeeper.css")
async def stylesheet() -> Response:
    return Response(
        (_TEMPLATES / "gatekeeper.css").read_bytes(),
        media_type="text/css",
        headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


# -- pages -----------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


@router.get("/")
async def overview_page(
    request: Request,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    project: Annotated[str, Query(**_TEXT)] = "",
) -> Response:
    """Every project and branch: latest status, maturity level, recent pass rate, time since the last verdict."""
    if await _viewer(request) is None:
        return _to_login(request)
    states, more = await run_in_threadpool(
        lambda: queries.overview(
            _engine(request), offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, project_prefix=project
        )
    )

    def page_url(number: int) -> str:
        return "/?" + urlencode({"page": number} | ({"project": project} if project else {}))

    return _render(
        "overview.html",
        section="overview",
        states=states,
        more=more,
        page=page,
        page_url=page_url,
        project_prefix=project,
        recent=queries.RECENT,
        now=_now(),
    )


@router.get("/project")
async def project_page(
    request: Request,
    name: Annotated[str, Query(min_length=1, **_TEXT)],
    branch: Annotated[str | None, Query(**_TEXT)] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """One project (or one of its branches): trend charts, then its verdicts, newest first."""
    if await _viewer(request) is None:
        return _to_login(request)
    try:
        after = None if not cursor else db.decode_cursor(cursor)
    except ValueError:
        return _render("error.html", 400, heading="Bad page link", message="This page link is not one we made.")
    engine = _engine(request)

    def read() -> tuple[Any, ...]:
        filters = db.Filters(project=name, branch=branch)
        items, last = db.list_verdicts(engine, filters, PAGE_SIZE, after)
        counts = queries.branch_counts(engine, name)
        charted = branch if branch is not None else charts.default_branch(counts)  # never branches mixed
        values = queries.trend_values(engine, name, charted, charts.TREND_METRICS)
        steps = queries.trend_steps(engine, name, charted)
        return items, last, values, steps, charted, list(counts), queries.count_verdicts(engine, name, branch)

    items, last, values, steps, charted, branches, total = await run_in_threadpool(read)
    from markupsafe import Markup

    if total == 0:
        return _not_found(f"No verdicts of project {name!r}{f' on branch {branch!r}' if branch else ''}.")
    return _render(
        "project.html",
        section="overview",
        project=name,
        branch=branch,
        branches=branches,
        charted=charted,
        charts=charts.trend_charts(values, steps=(step.at for step in steps)),
        strip=Markup(charts.render_strip(steps)),  # charts.py escapes every text it writes
        steps=sorted(steps, key=lambda step: step.at),
        trend_verdicts=queries.TREND_VERDICTS,
        items=items,
        total=total,
        cursor=cursor,
        next_cursor=None if last is None else db.encode_cursor(*last),
    )


@router.get("/project/tests")
async def project_tests_page(
    request: Request,
    name: Annotated[str, Query(min_length=1, **_TEXT)],
    branch: Annotated[str | None, Query(**_TEXT)] = None,
    days: Annotated[int, Query(ge=1, le=MAX_TEST_DAYS)] = TEST_DAYS,
) -> Response:
    """One project's (branch's) flakiest tests (flips between passing and failing) and the tests that fail
    most, over its newest verdicts received in the last `days` days (at most `queries.TEST_VERDICTS`)."""
    if await _viewer(request) is None:
        return _to_login(request)
    engine = _engine(request)
    since = _now() - timedelta(days=days)

    def read() -> tuple[int, flakiness.TestBoard]:
        found = queries.recent_verdicts(engine, name, branch, utc_text(since))
        return queries.count_verdicts(engine, name, branch), flakiness.board(found)

    total, board = await run_in_threadpool(read)
    if total == 0:
        return _not_found(f"No verdicts of project {name!r}{f' on branch {branch!r}' if branch else ''}.")
    return _render(
        "project_tests.html",
        section="overview",
        project=name,
        branch=branch,
        days=days,
        since=since,
        board=board,
        limit=queries.TEST_VERDICTS,
    )


@router.get("/verdicts/{verdict_id}")
async def verdict_page(request: Request, verdict_id: str) -> Response:
    """One verdict: every gate against its threshold, inputs, CI context, waivers and their expiry."""
    if await _viewer(request) is None:
        return _to_login(request)
    if not re.fullmatch(ID_PATTERN, verdict_id):  # no id has any other shape (nor NUL, which PostgreSQL refuses)
        return _not_found("No verdict with this id.")
    stored = await run_in_threadpool(db.get_stored, _engine(request), verdict_id)
    if stored is None:
        return _not_found(f"No verdict with id {verdict_id!r}.")
    verdict = Verdict.from_json(json.loads(stored.body))  # the schema accepted it (v1 or v2) on upload
    today = _now().date()
    applied = [(waiver, present.waiver_expiry(waiver.expires, today)) for waiver in verdict.waivers.applied]
    return _render(
        "verdict.html",
        section="overview",
        verdict=verdict,
        stored=stored,  # its created_at (the uploader's claim) and received_at (this server's), in UTC
        job_link=present.link(verdict.context.url),
        applied=applied,
        expiring=[(waiver, expiry) for waiver, expiry in applied if expiry.soon],
        expiry_days=present.EXPIRY_WARNING_DAYS,
        quarantined={use.test: use for use in verdict.quarantine.applied} if verdict.quarantine else {},
    )


# -- releases (their model and queries: gatekeeper.release, gatekeeper.server.releases) ------------

#: Releases per page of the list; each is assessed, so fewer than verdict rows.
RELEASES_PER_PAGE = 20


@router.get("/releases")
async def releases_page(request: Request, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Every release, the most recently defined first, each with its decision."""
    if await _viewer(request) is None:
        return _to_login(request)
    from gatekeeper.server import releases

    engine = _engine(request)

    def read() -> tuple[list[Any], int]:
        found = releases.list_releases(engine, RELEASES_PER_PAGE, (page - 1) * RELEASES_PER_PAGE)
        return [releases.release_readiness(engine, release) for release in found], releases.count_releases(engine)

    items, total = await run_in_threadpool(read)
    return _render(
        "releases.html",
        section="releases",
        items=items,
        total=total,
        page=page,
        more=page * RELEASES_PER_PAGE < total,
    )


@router.get("/releases/{name}")
async def release_page(request: Request, name: str, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """One release: ready or blocked, and each member's latest verdict with what blocks it."""
    if await _viewer(request) is None:
        return _to_login(request)
    from gatekeeper.server import releases

    engine = _engine(request)

    def read() -> Any:
        release = releases.get_release(engine, name) if re.fullmatch(NAME_PATTERN, name) else None
        return None if release is None else releases.release_readiness(engine, release)

    readiness = await run_in_threadpool(read)
    if readiness is None:
        return _not_found(f"No release named {name!r}.")
    start = (page - 1) * PAGE_SIZE
    return _render(
        "release.html",
        section="releases",
        readiness=readiness,
        blocked=[member for member in readiness.members if not member.clear],
        members=readiness.members[start : start + PAGE_SIZE],
        start=start,
        page=page,
        more=start + PAGE_SIZE < len(readiness.members),
    )
