"""Refusals: bad tokens, wrong scope or project, bad bodies, injection-shaped parameters — nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.server.conftest import Server, unique_project


def _counts(server: Server) -> tuple[int, int]:
    return server.rows("verdicts"), server.rows("verdict_metrics")


@pytest.mark.parametrize(
    ("token", "status"),
    [
        (None, 401),
        ("not-a-token", 401),
        ("gk_000000000000_wrongsecret", 401),
        ("expired", 401),
        ("revoked", 401),
        ("other", 403),  # an upload token for other/*
        ("read", 403),  # a read token trying to upload
    ],
)
def test_upload_refused_and_nothing_stored(server: Server, make_verdict: Any, token: str | None, status: int) -> None:
    verdict = make_verdict(project=unique_project("bank"), branch="main")
    before = _counts(server)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers.update(server.headers(token))
    response = requests.put(
        f"{server.url}/api/v1/verdicts/{verdict['id']}", data=json.dumps(verdict), headers=headers, timeout=30
    )
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert _counts(server) == before


def test_forged_secret_for_a_real_token_id_is_refused(server: Server, make_verdict: Any) -> None:
    real = server.tokens["admin"]
    forged = real[: real.rindex("_", 0, 20) + 1] + "x" * 43 if real.count("_") >= 2 else real + "x"
    verdict = make_verdict(project=unique_project())
    before = _counts(server)
    assert server.put(verdict, token=forged).status_code == 401
    assert _counts(server) == before


def test_project_scoped_upload_token_may_write_its_projects(server: Server, make_verdict: Any) -> None:
    assert server.put(make_verdict(project=unique_project("bank")), token="bank").status_code == 201
    assert server.put(make_verdict(project="bankrupt/x"), token="bank").status_code == 403
    assert server.put(make_verdict(project=None), token="bank").status_code == 403
    # Upload tokens do not read.
    assert server.get("/api/v1/verdicts", token="bank").status_code == 403


@pytest.mark.parametrize("token", [None, "garbage", "expired", "revoked"])
def test_reads_need_a_live_token(server: Server, token: str | None) -> None:
    headers = server.headers(token) if token else {}
    for path in (
        "/api/v1/verdicts",
        "/api/v1/latest",
        "/api/v1/metrics/history?metric=tests.total",
        "/api/v1/verdicts/abcdefgh-1",
    ):
        assert requests.get(f"{server.url}{path}", headers=headers, timeout=30).status_code == 401


def test_oversized_body_is_413(server: Server, make_verdict: Any) -> None:
    verdict = make_verdict(project=unique_project())
    verdict["reason"] = "x" * (1024 * 1024 + 1)
    before = _counts(server)
    assert server.put(verdict).status_code == 413
    # Without Content-Length (chunked), the limit still holds while reading.
    chunks = iter([json.dumps(verdict).encode()[i : i + 65536] for i in range(0, 1024 * 1024 + 200_000, 65536)])
    response = requests.put(
        f"{server.url}/api/v1/verdicts/{verdict['id']}",
        data=chunks,
        headers={**server.headers("admin"), "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert _counts(server) == before


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"{not json", None),
        (b"\xff\xfe", None),
        (b'{"id": NaN}', None),
        (b"[]", "$"),
        (b"{}", "$"),
    ],
)
def test_malformed_bodies_are_422(server: Server, body: bytes, path: str | None) -> None:
    before = _counts(server)
    response = requests.put(
        f"{server.url}/api/v1/verdicts/abcdefgh-2",
        data=body,
        headers={**server.headers("admin"), "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    if path is not None:
        assert response.json()["path"] == path
    assert _counts(server) == before


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda v: v.update(status="maybe"), "$.status"),
        (lambda v: v["context"].update(project=42), "$.context.project"),
        (lambda v: v["metrics"].update({"tests.total": "many"}), "$.metrics['tests.total']"),
        (lambda v: v.update(created_at="not a time"), "$.created_at"),
        (lambda v: v.update(unexpected=True), "$"),
    ],
)
def test_schema_invalid_verdict_is_422_naming_the_path(
    server: Server, make_verdict: Any, change: Any, path: str
) -> None:
    verdict = make_verdict(project=unique_project())
    change(verdict)
    before = _counts(server)
    response = server.put(verdict)
    assert response.status_code == 422, response.text
    assert response.json()["path"] == path
    assert _counts(server) == before


def test_id_mismatch_is_422(server: Server, make_verdict: Any) -> None:
    verdict = make_verdict(project=unique_project())
    before = _counts(server)
    response = server.put(verdict, verdict_id="another-id-123")
    assert response.status_code == 422
    assert response.json()["path"] == "$.id"
    assert server.put(verdict, verdict_id="bad%20id").status_code == 422
    assert _counts(server) == before


def test_injection_shaped_parameters_change_nothing(server: Server, make_verdict: Any) -> None:
    assert server.put(make_verdict(project=unique_project())).status_code == 201
    before = _counts(server)
    response = server.get("/api/v1/verdicts", project="x' OR '1'='1")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}
    assert server.get("/api/v1/verdicts", limit="1;DROP TABLE verdicts").status_code == 422
    assert server.get("/api/v1/latest", branch="'; DROP TABLE verdicts; --").json() == {"items": []}
    history = server.get("/api/v1/metrics/history", metric="tests.total' OR 1=1 --")
    assert history.json() == {"items": []}
    assert server.get("/api/v1/verdicts", project="nul\x00byte").status_code == 422
    assert server.get("/api/v1/verdicts/x'%20OR%20'1'='1").status_code == 422
    for prefix in ("x' OR '1'='1", "%", "_", "a%", "\x00"):
        assert server.get("/api/v1/verdicts", id_prefix=prefix).status_code == 422
    assert _counts(server) == before
