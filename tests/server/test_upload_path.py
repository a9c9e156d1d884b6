"""The upload's fast path (a plain Starlette route, orjson with the standard library behind it, metric
rows in one statement, a frozen heap) answers exactly as the FastAPI route it replaced did."""

from __future__ import annotations

import gc
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import requests

from tests.server.conftest import Server, unique_project


def test_the_upload_is_in_the_openapi_document(server: Server) -> None:
    operation = server.get("/api/v1/openapi.json").json()["paths"]["/api/v1/verdicts/{verdict_id}"]["put"]
    (parameter,) = operation["parameters"]
    assert (parameter["name"], parameter["in"], parameter["schema"]["pattern"]) == (
        "verdict_id",
        "path",
        "^[A-Za-z0-9-]{1,64}$",
    )
    assert operation["security"] == [{"HTTPBearer": []}]
    assert operation["requestBody"]["required"] is True
    assert {"200", "201", "401", "403", "409", "413", "422"} <= set(operation["responses"])
    stored = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert stored == "#/components/schemas/Stored"


def test_checks_come_in_fastapis_order(server: Server, make_verdict: Any) -> None:
    """A bad token is 401 before a bad id is 422; a wrong scope is 403 before a bad body is 422."""
    verdict = make_verdict(project=unique_project())
    bad_id = f"{server.url}/api/v1/verdicts/bad%20id"
    headers = {"Content-Type": "application/json"}
    assert requests.put(bad_id, data=b"{", headers=headers, timeout=30).status_code == 401
    basic = {**headers, "Authorization": f"Basic {server.tokens['admin']}"}  # not a bearer token
    assert requests.put(bad_id, data=b"{", headers=basic, timeout=30).status_code == 401
    assert requests.put(bad_id, data=b"{", headers={**headers, **server.headers("read")}, timeout=30).status_code == 403
    response = requests.put(bad_id, data=json.dumps(verdict), headers={**headers, **server.headers()}, timeout=30)
    assert (response.status_code, response.json()["path"]) == (422, "verdict_id")


def test_a_body_orjson_refuses_gets_the_answer_json_gives(server: Server, make_verdict: Any) -> None:
    """An integer beyond 64 bits is valid JSON: orjson refuses it, `json` reads it, the verdict is stored."""
    verdict = make_verdict(project=unique_project(), branch="main")
    verdict["metrics"]["huge.count"] = 2**70
    before = server.rows("verdict_metrics")
    response = server.put(verdict)
    assert response.status_code == 201, response.text
    history = server.get("/api/v1/metrics/history", metric="huge.count", project=verdict["context"]["project"])
    assert [point["value"] for point in history.json()["items"]] == [float(2**70)]
    numeric = sum(
        1 for value in verdict["metrics"].values() if isinstance(value, (int, float)) and not isinstance(value, bool)
    )
    assert server.rows("verdict_metrics") == before + numeric  # every metric row, in one statement


def test_the_heap_alive_at_start_is_frozen(tmp_path: Path) -> None:
    """Start-up's objects are out of the collector's full passes (which otherwise stalled every request)."""
    from gatekeeper.server.app import create_app
    from gatekeeper.server.db import open_database

    engine = open_database(f"sqlite:///{tmp_path / 'server.db'}")
    app = create_app(engine)

    async def start_and_stop() -> int:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    try:
        # A thread of its own: another test in this process (Playwright's sync API) may own this thread's loop.
        with ThreadPoolExecutor(1) as thread:
            assert thread.submit(anyio.run, start_and_stop).result(timeout=60) > 0
    finally:
        gc.unfreeze()
