"""A real `gatekeeper serve` process on loopback, on SQLite and on PostgreSQL, with real verdicts.

The PostgreSQL run gets a fresh database (`gk_test_<random>`) that is dropped afterwards; it is skipped,
saying why, only when no PostgreSQL answers.
"""

from __future__ import annotations

import copy
import json
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.client.loopback import free_port
from tests.client.realserver import postgres_database
from tests.verdicts import GATEKEEPER, check_example


@dataclass
class Server:
    """A running server, its database (for direct row counts) and tokens of every kind."""

    url: str
    db_url: str
    process: subprocess.Popen[bytes]
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, token: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.get(token, token)}"}

    def put(self, verdict: dict[str, Any], token: str = "admin", verdict_id: str | None = None) -> requests.Response:
        return requests.put(
            f"{self.url}/api/v1/verdicts/{verdict_id or verdict['id']}",
            data=json.dumps(verdict),
            headers={**self.headers(token), "Content-Type": "application/json"},
            timeout=30,
        )

    def get(self, path: str, token: str = "read", **params: Any) -> requests.Response:
        return requests.get(f"{self.url}{path}", params=params, headers=self.headers(token), timeout=30)

    def rows(self, table: str = "verdicts") -> int:
        """Rows in a table, read from the database itself, not through the API under test."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.db_url)
        try:
            with engine.connect() as connection:
                return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
        finally:
            engine.dispose()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def start_server(db_url: str, tmp: Path, *extra: str) -> Server:
    """Start `gatekeeper serve` and wait until /readyz says the database is migrated."""
    port = free_port()
    log = tmp / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [GATEKEEPER, "serve", "--db", db_url, "--host", "127.0.0.1", "--port", str(port), *extra],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
    server = Server(url=f"http://127.0.0.1:{port}", db_url=db_url, process=process, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server not ready within 60 s:\n{log.read_text()}")


def make_tokens(db_url: str) -> dict[str, str]:
    """Tokens of each kind, made in-process (the CLI path has its own test)."""
    from gatekeeper.server import auth
    from gatekeeper.server.db import open_database

    engine = open_database(db_url)
    try:
        made = {
            "admin": auth.create(engine, auth.Scope.ADMIN)[1],
            "read": auth.create(engine, auth.Scope.READ)[1],
            "bank": auth.create(engine, auth.Scope.UPLOAD, ("bank/*",))[1],
            "other": auth.create(engine, auth.Scope.UPLOAD, ("other/*",))[1],
            "expired": auth.create(engine, auth.Scope.ADMIN, (), "2000-01-01")[1],
        }
        revoked, made["revoked"] = auth.create(engine, auth.Scope.ADMIN)
        auth.revoke(engine, revoked.id)
    finally:
        engine.dispose()
    return made


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per backend for the session; tests keep apart by unique ids and project names."""
    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    sqlite_url = f"sqlite:///{tmp / 'server.db'}"
    db_url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    tokens = make_tokens(db_url)
    running = start_server(db_url, tmp)
    running.tokens = tokens
    yield running
    running.stop()


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A SQLite server of its own, for tests that need only one backend."""
    tmp = tmp_path_factory.mktemp("server-sqlite-only")
    db_url = f"sqlite:///{tmp / 'server.db'}"
    tokens = make_tokens(db_url)
    running = start_server(db_url, tmp)
    running.tokens = tokens
    yield running
    running.stop()


@pytest.fixture(scope="session")
def verdict_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Real verdicts from `gatekeeper check` on the passing and failing examples."""
    cwd = tmp_path_factory.mktemp("check")
    return {kind: check_example(cwd, kind) for kind in ("passing", "failing")}


@pytest.fixture
def make_verdict(verdict_templates: dict[str, dict[str, Any]]) -> Any:
    """A verdict with a fresh id and the context asked for."""

    def make(kind: str = "passing", created_at: str | None = None, **context: Any) -> dict[str, Any]:
        verdict = copy.deepcopy(verdict_templates[kind])
        verdict["id"] = str(uuid.uuid4())
        verdict["context"].update(context)
        if created_at is not None:
            verdict["created_at"] = created_at
        return verdict

    return make


#: Midnight UTC 60 days ago: the tests' verdict times lie after it, inside the window of the server's clock
#: a `created_at` must be in (issue 13), whatever day the tests run.
_DAY_ZERO = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=60)


def on_day(day: int, time: str = "T10:00:00Z") -> str:
    """Day `day` (1 is the first) of the tests' recent past, with `time` appended: `on_day(3, "")` is a
    bare date, `on_day(3)` an RFC 3339 time that day."""
    return (_DAY_ZERO + timedelta(days=day)).strftime("%Y-%m-%d") + time


def unique_project(prefix: str = "bank") -> str:
    return f"{prefix}/p-{secrets.token_hex(4)}"
