"""Input that can never succeed is a 4xx on both databases, never a 500 or a "retry later" 503.

A lone surrogate (not Unicode) or NUL (PostgreSQL text cannot hold it) in a body, cursor, filter or path;
JSON nested deeper than any verdict inside a member the schema leaves open; text too long for an index;
a schema-valid verdict without its optional members, or with numbers no double holds, on every page.
A database that is really gone still answers 503.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gatekeeper.parsers._json import MAX_DEPTH
from tests.client.realserver import postgres_database
from tests.server.conftest import Server, make_tokens, start_server, unique_project


def _counts(server: Server) -> tuple[int, int]:
    return server.rows("verdicts"), server.rows("verdict_metrics")


def _put_raw(server: Server, verdict_id: str, body: bytes) -> requests.Response:
    return requests.put(
        f"{server.url}/api/v1/verdicts/{verdict_id}",
        data=body,
        headers={**server.headers("admin"), "Content-Type": "application/json"},
        timeout=60,
    )


def _cursor(*values: str) -> str:
    """A cursor shaped like the server's own (base64 of a JSON list), holding what it should never hold."""
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def _signed_in(server: Server) -> requests.Session:
    pages = requests.Session()
    pages.cookies.set("gatekeeper_session", server.tokens["read"], domain="127.0.0.1", path="/")
    return pages


# -- lone surrogates and NUL ----------------------------------------------------------------------------


#: A verdict's JSON text with a lone surrogate put in, as bytes on the wire.
SURROGATES = {
    "escape-in-reason": lambda text: text.replace('"reason": "', '"reason": "\\ud800', 1).encode(),
    "raw-bytes-in-reason": lambda text: text.replace('"reason": "', '"reason": "\udc00', 1).encode(
        "utf-8", "surrogatepass"
    ),
    "escape-in-branch": lambda text: text.replace('"branch": "', '"branch": "x\\udfff', 1).encode(),
    "escape-in-a-utf16-body": lambda text: text.replace('"reason": "', '"reason": "\\ud800', 1).encode("utf-16"),
}


@pytest.mark.parametrize("where", list(SURROGATES))
def test_a_lone_surrogate_in_a_body_is_422(server: Server, make_verdict: Any, where: str) -> None:
    verdict = make_verdict(project=unique_project(), branch="main")
    text = json.dumps(verdict)
    assert '"reason": "' in text and '"branch": "' in text  # where the surrogate goes
    before = _counts(server)
    response = _put_raw(server, verdict["id"], SURROGATES[where](text))
    assert response.status_code == 422, response.text
    assert "lone surrogate" in response.json()["detail"]
    assert _counts(server) == before
    assert server.get(f"/api/v1/verdicts/{verdict['id']}").status_code == 404


def test_an_id_with_a_trailing_newline_is_refused(server: Server, make_verdict: Any) -> None:
    """`^…$` lets "id\n" through Python's re (and so jsonschema): it was stored, its page unreachable."""
    verdict = make_verdict(project=unique_project(), branch="main")
    verdict["id"] = f"nl{secrets.token_hex(4)}\n"
    before = _counts(server)
    response = _put_raw(server, verdict["id"].replace("\n", "%0A"), json.dumps(verdict).encode())
    assert response.status_code == 422, response.text
    assert response.json()["path"] == "verdict_id"
    assert _counts(server) == before


#: Where a long text goes: the columns the store indexes, and a metric name (its history's index).
LONG_TEXT = {
    "project": lambda verdict, text: verdict["context"].update(project=text),
    "branch": lambda verdict, text: verdict["context"].update(branch=text),
    "commit": lambda verdict, text: verdict["context"].update(commit=text),
    "pipeline": lambda verdict, text: verdict["context"].update(pipeline=text),
    "$.metrics": lambda verdict, text: verdict["metrics"].update({f"tests.{text}": 1}),
}


@pytest.mark.parametrize("column", list(LONG_TEXT))
def test_text_too_long_to_index_is_422_on_both_databases(server: Server, make_verdict: Any, column: str) -> None:
    """Past PostgreSQL's index row limit (2704 bytes, incompressible) the insert failed as a 503
    "retry later" for ever, while SQLite stored it; both now refuse past 1000 bytes and take 1000."""
    from gatekeeper.store import MAX_INDEXED_BYTES

    noise = secrets.token_hex(1500).translate(str.maketrans("0123456789", "ghijklmnop"))  # a metric name's alphabet
    verdict = make_verdict(project=unique_project(), branch="main")
    LONG_TEXT[column](verdict, noise)
    before = _counts(server)
    response = server.put(verdict)
    assert response.status_code == 422, response.text[:300]
    assert response.json()["path"] == column and "Retry-After" not in response.headers
    assert _counts(server) == before
    longest = make_verdict(project=unique_project(), branch="main")
    LONG_TEXT[column](longest, noise[: MAX_INDEXED_BYTES - (len("tests.") if column == "$.metrics" else 0)])
    assert server.put(longest).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        '{"\\ud800": 1, "members": [{"project": "p", "commit": "a"}]}',
        '{"members": [{"\\udfff": 1, "project": "p", "commit": "a"}]}',
        '{"description": "\\ud800", "members": [{"project": "p", "commit": "a"}]}',
    ],
)
def test_a_lone_surrogate_in_a_release_is_422(server: Server, body: str) -> None:
    """An unknown key spelled with a lone surrogate made the release API's own 422 message a 500."""
    name = f"r-{secrets.token_hex(4)}"
    response = requests.put(
        f"{server.url}/api/v1/releases/{name}",
        data=body.encode(),
        headers={**server.headers("admin"), "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert "lone surrogate" in response.json()["detail"]
    assert server.get(f"/api/v1/releases/{name}").status_code == 404


#: Requests that can never succeed, with the 4xx each must get; %ED%A0%80 is a lone surrogate's UTF-8 bytes.
NEVER = [
    ("/api/v1/verdicts?cursor=" + _cursor("2026-01-01T00:00:00.000000Z", "\ud800"), 422),
    ("/api/v1/verdicts?cursor=" + _cursor("2026-01-01T00:00:00.000000Z", "abc\x00"), 422),
    ("/api/v1/verdicts?cursor=" + _cursor("2026-01-01T00:00:00\x00Z", "abcdefgh"), 422),
    ("/api/v1/verdicts?cursor=%ED%A0%80", 422),
    ("/api/v1/verdicts?cursor=%00", 422),
    ("/api/v1/verdicts?project=a%00", 422),
    ("/api/v1/verdicts?branch=%00", 422),
    ("/api/v1/verdicts?commit=%00", 422),
    ("/api/v1/verdicts?pipeline=%00", 422),
    ("/api/v1/verdicts?id_prefix=a%00", 422),
    ("/api/v1/verdicts?id_prefix=%ED%A0%80", 422),
    ("/api/v1/verdicts?since=%00", 422),
    ("/api/v1/verdicts?until=2026%ED%A0%80", 422),
    ("/api/v1/verdicts/abcdefgh%00", 422),
    ("/api/v1/verdicts/abcdefgh%ED%A0%80", 422),
    ("/api/v1/verdicts/abcdefgh%0A", 422),
    ("/api/v1/latest?project=%00", 422),
    ("/api/v1/metrics/history?metric=tests.total%00", 422),
    ("/api/v1/releases/r1%00", 422),
    ("/api/v1/releases/r1%00/readiness", 422),
    ("/verdicts/abcdefgh%00", 404),
    ("/verdicts/abcdefgh%ED%A0%80", 404),
    ("/verdicts/abcdefgh%0A", 404),
    ("/releases/r1%00", 404),
    ("/releases/r1%ED%A0%80", 404),
    ("/project?name=bank/x&cursor=" + _cursor("2026-01-01T00:00:00.000000Z", "abc\x00"), 400),
    ("/project?name=bank/x&cursor=" + _cursor("2026-01-01T00:00:00.000000Z", "\udfff"), 400),
    ("/project?name=bank%00", 422),
    ("/?project=%00", 422),
]


@pytest.mark.parametrize(("path", "status"), NEVER, ids=[path for path, _ in NEVER])
def test_nul_or_a_lone_surrogate_in_a_request_is_a_4xx_not_a_retry(server: Server, path: str, status: int) -> None:
    """On PostgreSQL a NUL reaching the database was a DataError answered 503 "retry later"."""
    with _signed_in(server) as pages:
        response = pages.get(f"{server.url}{path}", headers=server.headers("read"), timeout=30)
    assert response.status_code == status, response.text[:500]
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize("parameter", ["project", "branch", "commit", "pipeline"])
def test_a_lone_surrogate_in_a_filter_is_text_that_matches_nothing(server: Server, parameter: str) -> None:
    """A query string is UTF-8: a surrogate's bytes decode to U+FFFD, an ordinary value no verdict has."""
    queries = ["/api/v1/verdicts?"]
    if parameter in ("project", "branch"):  # what latest and history filter by
        queries += ["/api/v1/latest?", "/api/v1/metrics/history?metric=tests.total&"]
    for query in queries:
        response = requests.get(f"{server.url}{query}{parameter}=%ED%A0%80", headers=server.headers("read"), timeout=30)
        assert response.status_code == 200, (query, response.text)
        assert response.json()["items"] == []


# -- deep nesting ---------------------------------------------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


#: Where the deep value goes: `maturity.levels` items are open objects (any extra member is schema-valid);
#: metrics and context are closed, where the schema refuses it, as long as checking does not exhaust recursion.
DEEP_MEMBERS = {
    "maturity.levels": lambda verdict: verdict["maturity"].update(levels=[{"level": 1, "status": "pass", "x": "DEEP"}]),
    "metrics": lambda verdict: verdict["metrics"].update({"tests.deep": "DEEP"}),
    "context": lambda verdict: verdict["context"].update(deep="DEEP"),
}


@pytest.mark.parametrize("depth", [1000, 100_000])
@pytest.mark.parametrize("member", list(DEEP_MEMBERS))
def test_json_nested_deep_inside_a_member_is_422(server: Server, make_verdict: Any, depth: int, member: str) -> None:
    verdict = make_verdict(project=unique_project(), branch="main")
    DEEP_MEMBERS[member](verdict)
    before = _counts(server)
    response = _put_raw(server, verdict["id"], json.dumps(verdict).replace('"DEEP"', _nested(depth)).encode())
    assert response.status_code == 422, response.text[:500]
    assert f"nested deeper than {MAX_DEPTH} levels" in response.json()["detail"]
    assert _counts(server) == before


def test_a_utf16_body_is_measured_as_text(server: Server, make_verdict: Any) -> None:
    """JSON may come as UTF-16, whose bytes fake quotes and brackets (U+2200 holds a 0x22, U+5B57 a 0x5B):
    the depth is measured on the text, so neither a valid body is refused nor a deep one let through."""
    verdict = make_verdict(project=unique_project(), branch="main")
    verdict["reason"] = "\u2200" + "\u5b57" * 300
    assert _put_raw(server, verdict["id"], json.dumps(verdict, ensure_ascii=False).encode("utf-16")).status_code == 201
    assert server.get(f"/api/v1/verdicts/{verdict['id']}").json() == verdict
    deep = make_verdict(project=unique_project(), branch="main")
    deep["reason"] = "\u2200"
    DEEP_MEMBERS["maturity.levels"](deep)
    body = json.dumps(deep, ensure_ascii=False).replace('"DEEP"', _nested(1000)).encode("utf-16")
    response = _put_raw(server, deep["id"], body)
    assert response.status_code == 422 and f"nested deeper than {MAX_DEPTH}" in response.json()["detail"]


def test_nesting_up_to_the_limit_is_stored_and_shown(server: Server, make_verdict: Any) -> None:
    """The limit is on the document (the root is level 1): an open member may nest up to it, one more is refused."""
    verdict = make_verdict(project=unique_project(), branch="main")
    DEEP_MEMBERS["maturity.levels"](verdict)
    # root {, maturity {, levels [, the level's {: the extra member's value starts at level 5
    deepest = json.dumps(verdict).replace('"DEEP"', _nested(MAX_DEPTH - 4))
    assert _put_raw(server, verdict["id"], deepest.encode()).status_code == 201
    assert server.get(f"/api/v1/verdicts/{verdict['id']}").json() == json.loads(deepest)
    with _signed_in(server) as pages:
        assert pages.get(f"{server.url}/verdicts/{verdict['id']}", timeout=30).status_code == 200
    deeper = make_verdict(project=unique_project(), branch="main")
    DEEP_MEMBERS["maturity.levels"](deeper)
    too_deep = json.dumps(deeper).replace('"DEEP"', _nested(MAX_DEPTH - 3))
    assert _put_raw(server, deeper["id"], too_deep.encode()).status_code == 422


# -- optional members absent ----------------------------------------------------------------------------


def _without_optional_members(verdict: dict[str, Any]) -> dict[str, Any]:
    """Every member schemas/verdict.schema.json does not require, left out."""
    for member in ("baseline", "details"):
        verdict.pop(member, None)
    for member in ("path", "files"):
        verdict["policy"].pop(member, None)
    verdict["maturity"].pop("levels", None)
    verdict["context"].pop("started_at", None)
    for gate in verdict["gates"]:
        gate.pop("baseline", None)
    for report in verdict["inputs"]:
        report.pop("counts", None)
        report.pop("notes", None)
    for waiver in verdict["waivers"]["applied"] + verdict["waivers"]["expired"]:
        for member in ("owner", "expires", "source"):
            waiver.pop(member, None)
    return verdict


@pytest.mark.parametrize("kind", ["passing", "failing"])
def test_a_verdict_without_optional_members_shows_on_every_page(server: Server, make_verdict: Any, kind: str) -> None:
    """A verdict without `maturity.levels` made its page answer 500 for as long as it was stored."""
    project, commit = unique_project(), secrets.token_hex(20)
    verdict = _without_optional_members(make_verdict(kind, project=project, branch="main", commit=commit))
    assert "levels" not in verdict["maturity"]
    assert server.put(verdict).status_code == 201
    release = f"r-{secrets.token_hex(4)}"
    defined = requests.put(
        f"{server.url}/api/v1/releases/{release}",
        json={"level": 3, "members": [{"project": project, "commit": commit}]},
        headers=server.headers("admin"),
        timeout=30,
    )
    assert defined.status_code == 201, defined.text
    with _signed_in(server) as pages:
        for path, params in (
            (f"/verdicts/{verdict['id']}", {}),
            ("/", {"project": project}),
            ("/project", {"name": project}),
            ("/project", {"name": project, "branch": "main"}),
            (f"/releases/{release}", {}),
            ("/releases", {}),
        ):
            response = pages.get(f"{server.url}{path}", params=params, timeout=30)
            assert response.status_code == 200, (path, response.status_code)
            assert project in response.text or path == "/releases"


def test_charts_of_extreme_metric_values_render(server: Server, make_verdict: Any) -> None:
    """The largest doubles made the project page's chart overflow (its axis top, 2 x 10^308, is no double)."""
    project = unique_project()
    for value in (sys.float_info.max, -sys.float_info.max, 5e-324, 1.1e308):
        verdict = make_verdict(project=project, branch="main")
        verdict["metrics"].update({"findings.critical": value, "tests.pass_percent": value})
        assert server.put(verdict).status_code == 201
    with _signed_in(server) as pages:
        response = pages.get(f"{server.url}/project", params={"name": project}, timeout=30)
    assert response.status_code == 200, response.status_code
    charts = re.findall(r"<svg.*?</svg>", response.text, re.DOTALL)
    assert charts and not any(re.search(r"\b(?:inf|nan)\b", chart) for chart in charts)


def test_integers_beyond_a_double_render(server: Server, make_verdict: Any) -> None:
    """JSON integers have no bound and the schema sets none on a gate's figures, a waiver's findings or
    an input's counts: 10**400 made the verdict page 500 (no float holds it)."""
    verdict = make_verdict("failing", project=unique_project(), branch="main")
    huge = 10**400
    verdict["gates"][0].update(actual=huge, threshold=-huge, baseline=huge)
    verdict["inputs"][0]["counts"] = {"tests": huge}
    verdict["waivers"]["applied"] = [{"match": {"tool": "bandit"}, "reason": "huge", "findings": huge}]
    assert server.put(verdict).status_code == 201
    with _signed_in(server) as pages:
        response = pages.get(f"{server.url}/verdicts/{verdict['id']}", timeout=30)
    assert response.status_code == 200, response.status_code
    assert f"{huge:,}" in response.text and f"-{huge:,}" in response.text


# -- a database that is really gone ---------------------------------------------------------------------


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A server on a PostgreSQL database of its own (the test takes that database away), and its name."""
    with postgres_database() as url:
        server = start_server(url, tmp_path)
        server.tokens = make_tokens(url)
        try:
            yield server, url.rsplit("/", 1)[1]
        finally:
            server.stop()


def test_a_database_that_is_gone_is_still_503_retry_later(own_postgres: tuple[Server, str]) -> None:
    import psycopg

    from tests.client.realserver import PG_ADMIN_URL

    server, name = own_postgres
    assert server.get("/api/v1/verdicts").status_code == 200
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            gone = server.get("/api/v1/verdicts")
            also_gone = server.get("/api/v1/verdicts", cursor=_cursor("2026-01-01T00:00:00.000000Z", "abcdefgh"))
        finally:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    for response in (gone, also_gone):
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "1"
        assert response.json() == {"detail": "database unavailable, retry later"}
    assert server.get("/api/v1/verdicts").status_code == 200


def test_database_errors_that_would_recur_are_422_and_a_lost_connection_503(postgres_url: str) -> None:
    """The app's database error handler on real PostgreSQL errors: a NUL (DataError) and an index row
    past 2704 bytes (SQLSTATE 54000, which psycopg raises as an OperationalError, as it does a lost
    connection) meet the same refusal on every retry: 422; a terminated connection: 503 retry later.
    (The requests above no longer reach it: their values are checked first; this is what catches the next.)"""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import insert, select, text
    from sqlalchemy.exc import DBAPIError

    from gatekeeper.server import db
    from gatekeeper.server.app import create_app

    engine = db.open_database(postgres_url)
    try:
        handler = create_app(engine).exception_handlers[DBAPIError]
        row = {"id": secrets.token_hex(8), "created_at": "x", "received_at": "x", "status": "pass", "body": "{}"}
        statements = {
            422: [
                select(db.verdicts.c.id).where(db.verdicts.c.id == "abc\x00"),
                insert(db.verdicts).values(row | {"project": secrets.token_urlsafe(3000)}),
            ],
            503: [text("SELECT pg_terminate_backend(pg_backend_pid())")],
        }
        for status, failing in statements.items():
            for statement in failing:
                with pytest.raises(DBAPIError) as raised, engine.begin() as connection:
                    connection.execute(statement)
                # In a thread of its own: a session-scoped Playwright browser (tests/pages) may hold a
                # running event loop in this worker's main thread, where asyncio.run() refuses to start.
                with ThreadPoolExecutor(1) as thread:
                    response = thread.submit(asyncio.run, handler(None, raised.value)).result()
                assert response.status_code == status, (statement, raised.value)
                assert ("retry-after" in response.headers) == (status == 503)
    finally:
        engine.dispose()
