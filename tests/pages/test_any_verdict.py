"""Every schema-valid verdict renders on every page that shows it, and reads back through every query.

Verdicts are drawn from schemas/verdict.schema.json (`tests.strategies.schema_verdicts`): optional members
absent, nullable ones null, open objects with extra members, any text.  Each is uploaded to a real
`gatekeeper serve` (on SQLite and on PostgreSQL) and looked at the way a release manager and a script
would: the verdict, overview, project and release pages, and the API's get, list, latest, history and
release readiness.
"""

from __future__ import annotations

import re
import secrets
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.charts import TREND_METRICS
from tests.client.realserver import postgres_database
from tests.server.conftest import Server, make_tokens, start_server
from tests.strategies import schema_verdicts

#: What the store indexes; it refuses NUL there (PostgreSQL text cannot hold it), which test_never_500 covers.
INDEXED = ("project", "branch", "commit", "pipeline", "job")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per database for the module, each on a database of its own."""
    tmp = tmp_path_factory.mktemp(f"any-verdict-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            db_url = f"sqlite:///{tmp / 'server.db'}"
        else:
            db_url = stack.enter_context(postgres_database())
        tokens = make_tokens(db_url)
        running = start_server(db_url, tmp)
        running.tokens = tokens
        yield running
        running.stop()


#: Metrics the project page charts, with any value a double holds (the schema's metric names are random).
EXTREMES = st.sampled_from([sys.float_info.max, 1.1e308, -sys.float_info.max, 5e-324, -0.0, 2.0**53 + 1])
TRENDS = st.dictionaries(
    st.sampled_from(TREND_METRICS), st.floats(allow_nan=False, allow_infinity=False) | EXTREMES, max_size=4
)


def _storable(verdict: dict[str, Any], trends: dict[str, float]) -> dict[str, Any]:
    """The verdict under a fresh id (each example is a new upload), without NUL in indexed columns or
    metrics beyond a double, with the charted metrics given."""
    context = {
        key: value.replace("\x00", "?") if key in INDEXED and isinstance(value, str) else value
        for key, value in verdict["context"].items()
    }
    policy = verdict["policy"] | {"name": (verdict["policy"]["name"] or "").replace("\x00", "?") or None}
    # The store refuses (422) a metric no double holds: its history is a column of doubles.
    metrics = {name: value for name, value in (verdict["metrics"] | trends).items() if abs(value) <= sys.float_info.max}
    return verdict | {"id": str(uuid.uuid4()), "context": context, "policy": policy, "metrics": metrics}


def _ok(response: requests.Response) -> requests.Response:
    assert response.status_code == 200, f"{response.request.method} {response.url}: {response.status_code}"
    return response


def _release_of(store: Server, verdict: dict[str, Any]) -> str | None:
    """A release naming the verdict's project and commit, when the release rules take them (one printable
    line each); its name, or None."""
    project, commit = verdict["context"]["project"], verdict["context"]["commit"]
    if project is None or commit is None:
        return None
    name = f"any-{secrets.token_hex(6)}"
    document = {"level": verdict["maturity"]["level"], "members": [{"project": project, "commit": commit}]}
    response = requests.put(
        f"{store.url}/api/v1/releases/{name}", json=document, headers=store.headers("admin"), timeout=30
    )
    assert response.status_code in (201, 422), response.text
    return name if response.status_code == 201 else None


@settings(
    max_examples=40,
    deadline=None,
    # the fixture is the module's server, shared on purpose; big verdicts take a while to draw
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(drawn=schema_verdicts(), trends=TRENDS)
def test_every_schema_valid_verdict_renders_everywhere(
    store: Server, drawn: dict[str, Any], trends: dict[str, float]
) -> None:
    verdict = _storable(drawn, trends)
    stored = store.put(verdict)
    assert stored.status_code == 201, stored.text
    verdict_id, context = verdict["id"], verdict["context"]

    # The API: the body as uploaded, and the verdict in every query that selects it.
    assert _ok(store.get(f"/api/v1/verdicts/{verdict_id}")).json() == verdict
    assert [item["id"] for item in _ok(store.get("/api/v1/verdicts", id_prefix=verdict_id)).json()["items"]] == [
        verdict_id
    ]
    scoped = {key: context[key] for key in ("project", "branch") if context[key] is not None}
    _ok(store.get("/api/v1/latest", **scoped))
    for metric in list(verdict["metrics"])[:3]:
        _ok(store.get("/api/v1/metrics/history", metric=metric, **scoped))

    # The pages, signed in with a read token.
    pages = requests.Session()
    pages.cookies.set("gatekeeper_session", store.tokens["read"], domain="127.0.0.1", path="/")
    with pages:
        page = _ok(pages.get(f"{store.url}/verdicts/{verdict_id}", timeout=30))
        assert verdict_id in page.text
        # the typed verdict's closed sets show as their values, never as `Decision.PASS`
        assert f'class="status status-{verdict["status"]}"' in page.text
        assert not re.search(r"\b(Decision|GateStatus|GateSeverity|Operator|Severity|Outcome)\.[A-Z]", page.text)
        _ok(pages.get(f"{store.url}/", timeout=30))
        if context["project"]:
            _ok(pages.get(f"{store.url}/", params={"project": context["project"]}, timeout=30))
            _ok(pages.get(f"{store.url}/project", params={"name": context["project"]}, timeout=30))
            if context["branch"] is not None:
                branch = {"name": context["project"], "branch": context["branch"]}
                _ok(pages.get(f"{store.url}/project", params=branch, timeout=30))
        release = _release_of(store, verdict)
        if release is not None:
            readiness = _ok(store.get(f"/api/v1/releases/{release}/readiness")).json()
            assert readiness["members"][0]["verdict_id"] is not None  # this verdict, or a newer one of that commit
            _ok(pages.get(f"{store.url}/releases/{release}", timeout=30))
            _ok(pages.get(f"{store.url}/releases", timeout=30))
