"""Operating the server: the tokens CLI, graceful shutdown, the gauge refilled after a restart, JSON logs."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gatekeeper.server import auth
from gatekeeper.server.db import open_database
from tests.server.conftest import GATEKEEPER, Server, start_server, unique_project


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GATEKEEPER, *args], capture_output=True, text=True, cwd=cwd, timeout=60, check=False)


def test_tokens_cli_create_list_revoke(tmp_path: Path, make_verdict: Any) -> None:
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    created = _cli("tokens", "create", "--scope", "upload", "--project", "bank/*", "--db", db_url, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("gk_")
    token_id = token.split("_")[1]
    listed = _cli("tokens", "list", "--format", "json", "--db", db_url, cwd=tmp_path)
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["scope"], r["projects"], r["revoked_at"]) for r in rows] == [
        (token_id, "upload", ["bank/*"], None)
    ]
    assert token.split("_", 2)[2] not in listed.stdout  # the secret is never shown again

    server = start_server(db_url, tmp_path, "--token-cache-seconds", "0")  # revocation at once
    try:
        server.tokens["ci"] = token
        assert server.put(make_verdict(project="bank/app"), token="ci").status_code == 201
        revoked = _cli("tokens", "revoke", token_id, "--db", db_url, cwd=tmp_path)
        assert revoked.returncode == 0, revoked.stderr
        before = server.rows()
        assert server.put(make_verdict(project="bank/app"), token="ci").status_code == 401
        assert server.rows() == before
    finally:
        server.stop()
    again = _cli("tokens", "revoke", token_id, "--db", db_url, cwd=tmp_path)
    assert again.returncode == 2 and "no live token" in again.stderr
    bad = _cli("tokens", "create", "--scope", "read", "--project", "x", "--db", db_url, cwd=tmp_path)
    assert bad.returncode == 2
    # The access log names the token id, never the secret.
    log = server.log.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line["token_id"] == token_id and line["status"] == 201 for line in lines)
    assert token.split("_", 2)[2] not in log


def test_revocation_takes_effect_within_the_token_cache_time(tmp_path: Path, make_verdict: Any) -> None:
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    token = _cli("tokens", "create", "--scope", "upload", "--db", db_url, cwd=tmp_path).stdout.strip()
    server = start_server(db_url, tmp_path, "--token-cache-seconds", "3")
    try:
        server.tokens["ci"] = token
        assert server.put(make_verdict(project="bank/app"), token="ci").status_code == 201
        # A wrong secret for a cached token's id is never answered from the cache.
        assert server.put(make_verdict(project="bank/app"), token=token[:-4] + "xxxx").status_code == 401
        revoked_at = time.monotonic()
        engine = open_database(db_url)  # in-process: the CLI's start-up could outlast the cache time
        try:
            assert auth.revoke(engine, token.split("_")[1])
        finally:
            engine.dispose()
        if time.monotonic() - revoked_at < 1.5:
            assert server.put(make_verdict(project="bank/app"), token="ci").status_code == 201  # still cached
        time.sleep(3.2)
        assert server.put(make_verdict(project="bank/app"), token="ci").status_code == 401
    finally:
        server.stop()


def test_workers_serve_from_several_processes(tmp_path: Path, make_verdict: Any) -> None:
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    token = _cli("tokens", "create", "--scope", "admin", "--db", db_url, cwd=tmp_path).stdout.strip()
    server = start_server(db_url, tmp_path, "--workers", "2")
    try:
        server.tokens["ci"] = token
        verdicts = [make_verdict(project="bank/app") for _ in range(6)]
        assert [server.put(verdict, token="ci").status_code for verdict in verdicts] == [201] * 6
        assert server.put(verdicts[0], token="ci").status_code == 200
        assert server.rows() == 6
        assert server.get(f"/api/v1/verdicts/{verdicts[5]['id']}", token="ci").json()["id"] == verdicts[5]["id"]
    finally:
        assert server.stop() in (0, -signal.SIGTERM, 128 + signal.SIGTERM)


def test_default_database_is_created_in_the_cwd(tmp_path: Path) -> None:
    created = _cli("tokens", "create", "--scope", "read", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert (tmp_path / ".gatekeeper" / "server.db").is_file()


def test_bad_database_url_is_a_one_line_error(tmp_path: Path) -> None:
    result = _cli("tokens", "list", "--db", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none", cwd=tmp_path)
    assert result.returncode == 2
    assert "secret" not in result.stderr
    assert result.stderr.startswith("gatekeeper: error:")


def test_sigterm_finishes_the_request_in_flight(tmp_path: Path, make_verdict: Any) -> None:
    """A large upload half-sent when SIGTERM arrives is still stored and answered 201."""
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    token = _cli("tokens", "create", "--scope", "admin", "--db", db_url, cwd=tmp_path).stdout.strip()
    server = start_server(db_url, tmp_path)
    project = unique_project()
    verdict = make_verdict(project=project, branch="main")
    verdict["reason"] = "r" * 900_000  # large but under the 1 MiB limit
    body = json.dumps(verdict).encode()
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(
            (
                f"PUT /api/v1/verdicts/{verdict['id']} HTTP/1.1\r\nHost: {address.netloc}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            + body[:100_000]
        )
        time.sleep(0.5)  # let the server start on the request before it is told to stop
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.process.poll() is None  # still finishing our request
        connection.sendall(body[100_000:])
        response = b""
        while chunk := connection.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 201"), response[:200]
    # uvicorn re-raises the SIGTERM it caught once it has drained, so the exit says why it stopped.
    assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert server.rows() == 1
    # Its access line is in the log: a thread writes the lines, and the app drains it as it stops.
    logged = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    assert {"path": f"/api/v1/verdicts/{verdict['id']}", "status": 201} in [
        {"path": line["path"], "status": line["status"]} for line in logged
    ]

    # After a restart, counters start again but the latest-values gauge comes back from the database.
    restarted = start_server(db_url, tmp_path)
    try:
        text = restarted.get("/metrics", token=token).text
        assert (
            f'gatekeeper_metric_value{{branch="main",metric="tests.total",project="{project}"}} '
            f"{float(verdict['metrics']['tests.total'])}"
        ) in text
    finally:
        restarted.stop()


def test_server_logs_one_json_line_per_request(sqlite_server: Server) -> None:
    sqlite_server.get("/healthz")
    sqlite_server.get("/api/v1/verdicts", token="nonsense")
    time.sleep(0.2)
    lines = [json.loads(line) for line in sqlite_server.log.read_text().splitlines() if line.startswith("{")]
    refused = [line for line in lines if line["path"] == "/api/v1/verdicts" and line["status"] == 401]
    assert refused and set(refused[-1]) >= {"method", "path", "status", "duration_ms", "token_id"}
    assert "nonsense" not in sqlite_server.log.read_text()
