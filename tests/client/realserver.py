"""The real `gatekeeper serve` as a subprocess on a fixed loopback port, so it can be killed and restarted
in place (same port, same SQLite file), plus real verdicts to send it."""

from __future__ import annotations

import copy
import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.client.loopback import free_port
from tests.verdicts import GATEKEEPER, check_example

PG_ADMIN_URL = os.environ.get("GATEKEEPER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def require_server() -> None:
    """Skip, saying why, where the server or its extra is not installed."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401

        import gatekeeper.server.app  # noqa: F401
    except ImportError as error:
        pytest.skip(f"the store server is not available ({error}); install gatekeeper[server]")


@contextmanager
def postgres_database(options: str = "") -> Iterator[str]:
    """The URL of a fresh PostgreSQL database of its own (`gk_test_<random>`, made with CREATE DATABASE
    `options`), dropped afterwards; a skip, saying why, when no PostgreSQL answers."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as error:  # any failure to connect means "no PostgreSQL here"
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({error}); set GATEKEEPER_TEST_PG")
    name = f"gk_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f"CREATE DATABASE {name} {options}")
        try:
            base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            yield f"{base}/{name}"
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class ServeProcess:
    """`gatekeeper serve` on `database` (a URL; default a SQLite file in `directory`)."""

    directory: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    database: str | None = None

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.db_file = self.directory / "server.db"

    @property
    def db_url(self) -> str:
        return self.database or f"sqlite:///{self.db_file}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, *args: str) -> str:
        result = subprocess.run(
            [GATEKEEPER, "tokens", "create", "--db", self.db_url, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            cwd=self.directory,
        )
        return result.stdout.strip().splitlines()[-1]

    def start(self) -> None:
        log = (self.directory / "server.log").open("ab")
        self.process = subprocess.Popen(
            [GATEKEEPER, "serve", "--db", self.db_url, "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
            env={k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")},
        )
        log.close()
        session = requests.Session()
        session.trust_env = False
        deadline = time.monotonic() + 60
        with session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {(self.directory / 'server.log').read_text()[-2000:]}")
                try:
                    if session.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                        return
                except requests.RequestException:
                    pass
                time.sleep(0.05)
        raise RuntimeError("server not ready within 60 s")

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, requests in flight are cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def stored_ids(self) -> list[str]:
        """Ids in the server's own database, read directly (not through the API under test)."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.db_url)
        try:
            with engine.connect() as connection:
                return [row[0] for row in connection.execute(text("SELECT id FROM verdicts"))]
        finally:
            engine.dispose()


@contextmanager
def upload_server(directory: Path) -> Iterator[tuple[ServeProcess, str]]:
    """A real server on loopback, working in `directory`, and an upload token for `group/*`."""
    require_server()
    server = ServeProcess(directory)
    token = server.token("--scope", "upload", "--project", "group/*")
    server.start()
    try:
        yield server, token
    finally:
        server.stop()


def real_verdict(directory: Path, project: str = "group/app") -> dict[str, Any]:
    """A verdict `gatekeeper check` made, valid against the schema the server enforces."""
    reports = ("junit.xml", "coverage.xml")
    return check_example(directory, "passing", "--project", project, "--branch", "main", reports=reports)


def copy_with_new_id(template: dict[str, Any]) -> dict[str, Any]:
    verdict = copy.deepcopy(template)
    verdict["id"] = str(uuid.uuid4())
    return verdict
