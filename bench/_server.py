"""What the server benchmarks (load.py, pages.py) share: a real `gatekeeper serve` on a free loopback
port, a token from `gatekeeper tokens create`, a fresh PostgreSQL database, and real verdicts from
`gatekeeper check` on the bundled examples.  (Bench does not import tests/: it runs where they are not.)
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
PG_ADMIN_URL = os.environ.get("GATEKEEPER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running `gatekeeper serve` process."""

    url: str
    db_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its uvicorn workers too, if any
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(db_url: str, tmp: Path, command: str | None = None, workers: int = 1) -> Server:
    """`gatekeeper serve` (or `command` with {db} and {port} filled in, to try a change) on a free
    loopback port, once /readyz answers 200."""
    port = free_port()
    log = tmp / "server.log"
    argv = [GATEKEEPER, "serve", "--db", db_url, "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    if command:
        argv = [part.format(db=db_url, port=port) for part in shlex.split(command)]
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True)
    server = Server(url=f"http://127.0.0.1:{port}", db_url=db_url, process=process, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{server.url}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server not ready within 60 s:\n{log.read_text()}")


def create_token(db_url: str, tmp: Path, scope: str) -> str:
    """A token of `scope`, made by the CLI as an operator would."""
    done = subprocess.run(
        [GATEKEEPER, "tokens", "create", "--scope", scope, "--db", db_url],
        capture_output=True,
        text=True,
        cwd=tmp,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def postgres_database(label: str) -> tuple[str, Any] | str:
    """A fresh database URL (`gk_<label>_<random>`) and the admin connection to drop it with, or why
    there is none."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as error:  # any failure to connect means "no PostgreSQL here"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL} ({error}); set GATEKEEPER_TEST_PG"
    name = f"gk_{label}_{secrets.token_hex(6)}"
    admin.execute(f"CREATE DATABASE {name}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", (admin, name)


def real_verdict(tmp: Path, kind: str) -> dict[str, Any]:
    """The verdict `gatekeeper check` decides under caict-cd/level-3 on the `kind` example's reports."""
    reports = REPO / "examples" / kind / "reports"
    done = subprocess.run(
        [
            GATEKEEPER,
            "check",
            "--no-store",
            "--format",
            "json",
            "-p",
            str(REPO / "rules/caict-cd/level-3.yaml"),
            str(reports / "junit.xml"),
            str(reports / "coverage.xml"),
            str(reports / "bandit.json"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp,
        check=False,
        timeout=120,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"gatekeeper check failed ({done.returncode}):\n{done.stderr}")
    return dict(json.loads(done.stdout))
