"""`/api/v1/parts` on a real `gatekeeper serve`, on SQLite and PostgreSQL: a part put twice is stored once,
a retried part's attempts are listed in the order the server received them, bodies are bounded (413)
and must be parts of the pipeline named (422), names are hostile (4xx, never 500), tokens are checked;
and `RemotePartStore`, the client, against the same server and against a scripted loopback one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import requests

from gatekeeper.errors import StoreError
from gatekeeper.store.parts import MAX_PART_ATTEMPTS, MAX_PART_BYTES, StoredPart
from gatekeeper.store.remote_parts import RemotePartStore
from tests.client.loopback import free_port, serving_handler
from tests.client.realserver import postgres_database
from tests.server.conftest import Server, unique_project
from tests.server.parts import part_body

PARTS = "/api/v1/parts"


def put(server: Server, body: Any, token: str = "admin", **key: str) -> requests.Response:
    return requests.put(f"{server.url}{PARTS}", params=key, data=body, headers=server.headers(token), timeout=60)


def listed(server: Server, project: str, pipeline: str, token: str = "read") -> list[dict[str, Any]]:
    response = server.get(PARTS, token=token, project=project, pipeline=pipeline)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def part_rows(server: Server, project: str) -> list[tuple[str, str, str, int]]:
    """The project's rows in the parts table, read from the database itself, not through the API."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server.db_url)
    try:
        with engine.connect() as connection:
            query = text("SELECT pipeline, name, sha256, size FROM parts WHERE project = :p ORDER BY id")
            return [tuple(row) for row in connection.execute(query, {"p": project})]  # type: ignore[misc]
    finally:
        engine.dispose()


def test_a_part_put_twice_is_stored_once(server: Server) -> None:
    project = unique_project()
    key = {"project": project, "pipeline": "4711", "name": "test 1/3"}
    body = part_body(**key)
    first = put(server, body, token="bank", **key)
    assert first.status_code == 201, first.text
    again = put(server, body, token="bank", **key)
    assert again.status_code == 200, again.text
    sha256 = hashlib.sha256(body).hexdigest()
    assert first.json() == {**key, "sha256": sha256, "size": len(body), "received_at": first.json()["received_at"]} | {
        "created": True
    }
    assert again.json() == first.json() | {"created": False}  # the first arrival's time, kept
    assert part_rows(server, project) == [("4711", "test 1/3", sha256, len(body))]


def test_a_retried_part_lists_both_attempts_in_the_order_received(server: Server) -> None:
    project = unique_project()
    key = {"project": project, "pipeline": "77", "name": "test 2/3"}
    attempts = [part_body(**key, seed=1), part_body(**key, seed=2)]
    assert attempts[0] != attempts[1]
    other = {**key, "name": "test 1/3"}
    for body, name in ((attempts[0], key), (part_body(**other), other), (attempts[1], key)):
        assert put(server, body, token="bank", **name).status_code == 201
    items = listed(server, project, "77")
    assert [(item["name"], item["sha256"]) for item in items] == [
        ("test 2/3", hashlib.sha256(attempts[0]).hexdigest()),
        ("test 1/3", hashlib.sha256(part_body(**other)).hexdigest()),
        ("test 2/3", hashlib.sha256(attempts[1]).hexdigest()),
    ]
    assert [item["received_at"] for item in items] == sorted(item["received_at"] for item in items)
    assert listed(server, project, "78") == []
    for item, body in ((items[0], attempts[0]), (items[2], attempts[1])):
        params = {key: item[key] for key in ("project", "pipeline", "name", "sha256")}
        got = server.get(f"{PARTS}/body", **params)
        assert got.status_code == 200 and got.content == body
        assert got.headers["content-type"] == "application/octet-stream"


def test_size_limit_413_declared_or_streamed(server: Server) -> None:
    project = unique_project()
    key = {"project": project, "pipeline": "1", "name": "big"}
    over = b"\x00" * (MAX_PART_BYTES + 1)
    assert put(server, over, **key).status_code == 413
    # No Content-Length (chunked): refused while reading, at the limit, not after holding it all.
    chunks = (over[i : i + 1 << 20] for i in range(0, len(over), 1 << 20))
    streamed = put(server, chunks, **key)
    assert streamed.status_code == 413
    assert streamed.json()["detail"] == f"body over {MAX_PART_BYTES} bytes"
    assert part_rows(server, project) == []


def test_a_pipeline_holds_a_bounded_number_of_attempts(server: Server) -> None:
    from sqlalchemy import create_engine, insert

    from gatekeeper.server.parts import parts

    project = unique_project()
    key = {"project": project, "pipeline": "1", "name": "test"}
    engine = create_engine(server.db_url)
    try:
        with engine.begin() as connection:  # all but one attempt written directly, as the server would
            rows = [
                key | {"sha256": f"{n:064x}", "size": 1, "received_at": f"2026-12-07T10:00:00.{n:06d}Z", "body": b"x"}
                for n in range(MAX_PART_ATTEMPTS - 1)
            ]
            connection.execute(insert(parts), rows)
    finally:
        engine.dispose()
    last = part_body(**key, seed=1)
    assert put(server, last, token="bank", **key).status_code == 201
    assert put(server, last, token="bank", **key).status_code == 200  # stored: still idempotent
    refused = put(server, part_body(**key, seed=2), token="bank", **key)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"pipeline '1' already holds {MAX_PART_ATTEMPTS} part attempts, the most a store keeps for one pipeline: "
        "is a job recording parts in a loop?"
    )
    assert len(part_rows(server, project)) == MAX_PART_ATTEMPTS
    assert len(listed(server, project, "1")) == MAX_PART_ATTEMPTS


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "body is empty: give the encoded part"),
        (b"not a part at all", "body:"),
        (json.dumps({"schema": "gatekeeper.verdict/v2"}).encode(), "body:"),
        (b"\x1f\x8b\x08\x00" + b"\xff" * 64, "body:"),  # a gzip header over garbage
    ],
)
def test_a_body_that_is_not_a_part_is_422(server: Server, body: bytes, detail: str) -> None:
    project = unique_project()
    response = put(server, body, project=project, pipeline="1", name="test")
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(detail)
    assert part_rows(server, project) == []


@pytest.mark.parametrize("field", ["project", "pipeline", "name"])
def test_a_part_of_another_pipeline_is_422(server: Server, field: str) -> None:
    """The body says which project, pipeline and part it is: a token allowed for bank/* cannot file
    another project's evidence (or another part's) under a bank pipeline."""
    project = unique_project()
    key = {"project": project, "pipeline": "1", "name": "test"}
    body = part_body(**(key | {field: "other/x" if field == "project" else "2"}))
    response = put(server, body, token="bank", **key)
    assert response.status_code == 422
    assert f"the part's {field} is" in response.json()["detail"]
    assert part_rows(server, project) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project", ""),
        ("project", None),  # missing
        ("pipeline", "1\x002"),
        ("name", "t\n"),
        ("name", "\x1b[2J"),
        ("name", "a\u202eb"),
        ("name", "t" * 256),
        ("pipeline", "€" * 86),  # 258 bytes in 86 characters
        ("name", " t"),
    ],
)
def test_hostile_names_are_422_on_every_route(server: Server, field: str, value: str | None) -> None:
    key = {"project": "bank/p", "pipeline": "1", "name": "t"} | {field: value}
    key = {name: text for name, text in key.items() if text is not None}
    assert put(server, b"whatever", **key).status_code == 422
    assert server.get(f"{PARTS}/body", sha256="0" * 64, **key).status_code == 422
    if field != "name":  # the list takes no name
        assert server.get(PARTS, **key).status_code == 422


def test_names_that_are_not_utf8_or_look_like_paths_never_500(server: Server) -> None:
    # A lone surrogate and bytes that are not UTF-8: the server reads them as U+FFFD, which is text.
    raw = f"{server.url}{PARTS}?project=bank%2Fp&pipeline=%ED%A0%80&name=%FF%FE"
    listing = requests.get(raw, headers=server.headers(), timeout=30)
    assert (listing.status_code, listing.json()) == (200, {"items": []})
    assert requests.put(raw, data=b"x", headers=server.headers(), timeout=30).status_code == 422
    project = unique_project()
    key = {"project": project, "pipeline": "../../etc", "name": "test 2/3 & ?x=#y; DROP TABLE parts"}
    assert put(server, part_body(**key), **key).status_code == 201
    assert [item["name"] for item in listed(server, project, "../../etc")] == [key["name"]]


def test_bodies_by_sha256(server: Server) -> None:
    project = unique_project()
    key = {"project": project, "pipeline": "1", "name": "t"}
    assert server.get(f"{PARTS}/body", sha256="0" * 64, **key).status_code == 404
    for bad in ("0" * 63, "A" * 64, "0" * 64 + "\n", "g" * 64):
        assert server.get(f"{PARTS}/body", sha256=bad, **key).status_code == 422


def test_tokens(server: Server) -> None:
    project = unique_project("bank")
    key = {"project": project, "pipeline": "9", "name": "test"}
    body = part_body(**key)
    for token in ("none", "revoked", "expired"):
        assert put(server, body, token=token, **key).status_code == 401
        assert server.get(PARTS, token=token, **key).status_code == 401
    assert put(server, body, token="read", **key).status_code == 403  # a read token uploads nothing
    assert put(server, body, token="other", **key).status_code == 403  # other/* may not upload bank's
    assert part_rows(server, project) == []
    assert put(server, body, token="bank", **key).status_code == 201
    # Reading: a read token, or an upload token allowed for the project (the pipeline's deciding job).
    assert len(listed(server, project, "9", token="read")) == 1
    assert len(listed(server, project, "9", token="bank")) == 1
    assert server.get(PARTS, token="other", **key).status_code == 403
    sha = hashlib.sha256(body).hexdigest()
    assert server.get(f"{PARTS}/body", token="other", sha256=sha, **key).status_code == 403
    assert server.get(f"{PARTS}/body", token="bank", sha256=sha, **key).content == body


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_from_before_parts_is_migrated(backend: str, tmp_path: Path) -> None:
    """Alembic 0005_parts on a database an older server left (revision 0004), then the queries in-process."""
    from sqlalchemy import inspect

    from gatekeeper.server import migrations
    from gatekeeper.server.db import make_engine
    from gatekeeper.server.parts import list_parts, put_part

    database = postgres_database() if backend == "postgresql" else nullcontext(f"sqlite:///{tmp_path / 's.db'}")
    with database as url:
        engine = make_engine(url)
        try:
            migrations.upgrade(engine, "0004_received_at")
            assert "parts" not in inspect(engine).get_table_names()
            migrations.upgrade(engine)
            body = part_body("bank/p", "1", "t")
            assert put_part(engine, "bank/p", "1", "t", body)[0] is True
            created, stored = put_part(engine, "bank/p", "1", "t", body)
            assert created is False
            assert list_parts(engine, "bank/p", "1") == [stored]
            assert stored.body == body and stored.size == len(body)
        finally:
            engine.dispose()


# -- the client ----------------------------------------------------------------------------------------


def test_the_client_puts_once_and_lists_every_attempt(server: Server) -> None:
    project = unique_project()
    first, second = part_body(project, "5", "test 1/2", seed=1), part_body(project, "5", "test 1/2", seed=2)
    with RemotePartStore(server.url, server.tokens["bank"]) as store:
        assert store.put_part(project, "5", "test 1/2", first) is True
        assert store.put_part(project, "5", "test 1/2", first) is False
        assert store.put_part(project, "5", "test 1/2", second) is True
        parts = store.list_parts(project, "5")
    assert [part.body for part in parts] == [first, second]
    assert parts[0] == StoredPart(
        project=project,
        pipeline="5",
        name="test 1/2",
        sha256=hashlib.sha256(first).hexdigest(),
        size=len(first),
        received_at=parts[0].received_at,
        body=first,
    )
    assert len(part_rows(server, project)) == 2


def body_requests(server: Server) -> float:
    """Answered GETs of part bodies so far, as the server's own /metrics counts them."""
    text = server.get("/metrics").text
    prefix = 'gatekeeper_request_duration_seconds_count{method="GET",route="/api/v1/parts/body",status="200"} '
    return sum(float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix))


def test_the_client_fetches_each_body_once_while_a_deciding_job_looks_again(server: Server) -> None:
    project = unique_project()
    with RemotePartStore(server.url, server.tokens["bank"]) as store:
        store.put_part(project, "6", "test 1/2", part_body(project, "6", "test 1/2"))
        before = body_requests(server)
        assert [part.name for part in store.list_parts(project, "6")] == ["test 1/2"]
        store.put_part(project, "6", "test 2/2", part_body(project, "6", "test 2/2"))
        assert [part.name for part in store.list_parts(project, "6")] == ["test 1/2", "test 2/2"]
    assert body_requests(server) - before == 2


def test_the_client_says_what_the_server_refused(server: Server) -> None:
    project = unique_project()
    body = part_body(project, "5", "t")
    with RemotePartStore(server.url, server.tokens["other"]) as store, pytest.raises(StoreError) as error:
        store.put_part(project, "5", "t", body)
    assert str(error.value) == (
        f"verdict store {server.url}: refused the request (403: this token may not upload parts of project {project!r})"
    )
    with RemotePartStore(server.url, server.tokens["bank"]) as store, pytest.raises(StoreError) as error:
        store.put_part(project, "5", "t", b"not a part")
    assert "answered HTTP 422: body:" in str(error.value)
    with RemotePartStore(server.url, server.tokens["bank"]) as store, pytest.raises(StoreError) as error:
        store.put_part(project, "5", "t\n", body)  # refused before sending
    assert str(error.value) == (
        f"verdict store {server.url}: cannot store a part: part name has a control or non-printable character"
    )
    assert part_rows(server, project) == []


def test_the_client_of_a_server_that_is_down_fails_in_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with RemotePartStore(url, "t", attempts=2, backoff=0.01) as store, pytest.raises(StoreError) as error:
        store.put_part("bank/p", "1", "t", b"body")
    message = str(error.value)
    assert message.startswith(f"verdict store {url}: cannot reach the store server (")
    assert "\n" not in message


@contextmanager
def scripted(answers: list[int]) -> Iterator[tuple[str, list[bytes]]]:
    """A real HTTP server on loopback answering each PUT with the next status (then 201), with the
    bodies it was sent."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_PUT(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            status = answers.pop(0) if answers else 201
            data = json.dumps({"detail": f"scripted {status}"}).encode()
            self.send_response(status)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with serving_handler(Handler) as url:
        yield url, received


def test_the_client_retries_what_may_pass_and_sends_the_same_bytes() -> None:
    with scripted([503, 429, 502]) as (url, received), RemotePartStore(url, "t", attempts=5, backoff=0.01) as store:
        assert store.put_part("bank/p", "1", "t", b"the part") is True
    assert received == [b"the part"] * 4


def test_the_client_gives_up_after_its_attempts_and_does_not_retry_a_refusal() -> None:
    for answers, status, sent in (([503] * 10, 503, 3), ([422], 422, 1)):
        with (
            scripted(answers) as (url, received),
            RemotePartStore(url, "t", attempts=3, backoff=0.01) as store,
            pytest.raises(StoreError, match=rf"answered HTTP {status}: scripted {status}"),
        ):
            store.put_part("bank/p", "1", "t", b"the part")
        assert len(received) == sent
