"""The issue's fault test: the real server is SIGKILLed and restarted (same port, same database) twice
while 20 concurrent clients upload 1,000 verdicts with retries and spooling; afterwards exactly 1,000
verdicts are stored, none twice.  On SQLite (a file) and on PostgreSQL (a database of its own).

Kills are triggered by progress (after 150 and 600 deliveries), not by the clock, so every run kills the
server mid-traffic whatever the machine's speed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.sinks.spool import Spool, flush
from gatekeeper.sinks.upload import Outcome, deliver
from gatekeeper.store.http import new_session
from tests.client.realserver import ServeProcess, copy_with_new_id, postgres_database, real_verdict, require_server

CLIENTS = 20
PER_CLIENT = 50
KILL_AFTER = (150, 600)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The server's database URL: None for its default SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
    else:
        with postgres_database() as url:
            yield url


@pytest.mark.slow
def test_sigkill_and_restart_while_20_clients_upload_1000_verdicts(tmp_path: Path, database: str | None) -> None:
    require_server()
    server = ServeProcess(tmp_path, database=database)
    token = server.token("--scope", "upload", "--project", "group/*")
    template = real_verdict(tmp_path)
    batches = [[copy_with_new_id(template) for _ in range(PER_CLIENT)] for _ in range(CLIENTS)]
    spool = Spool(tmp_path / "spool")
    progress = threading.Condition()
    done = {"count": 0, "clients": 0}
    outcomes: dict[str, int] = {}
    final: list[Any] = []

    def client(batch: list[dict[str, Any]]) -> None:
        session = new_session(server.url)
        try:
            for verdict in batch:
                result = deliver(
                    verdict, server.url, token, attempts=6, timeout=8, base_delay=0.05, max_delay=0.5, session=session
                )
                if result.final:
                    final.append(result)
                elif not result.delivered:
                    spool.add(verdict)  # the client's own fallback: kept for the next flush
                with progress:
                    done["count"] += 1
                    outcomes[result.outcome.value] = outcomes.get(result.outcome.value, 0) + 1
                    progress.notify_all()
        finally:
            session.close()
            with progress:
                done["clients"] += 1
                progress.notify_all()

    def killer() -> None:
        for threshold in KILL_AFTER:
            with progress:
                progress.wait_for(lambda t=threshold: done["count"] >= t or done["clients"] == CLIENTS)
            server.kill()
            server.start()

    server.start()
    try:
        kills = threading.Thread(target=killer)
        kills.start()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, batches))
        kills.join(120)
        assert not kills.is_alive()
        for _ in range(5):  # the spool empties once the server is steady (a flush stops at a failure)
            if flush(server.url, token, directory=spool.directory, timeout=30).remaining == 0:
                break
        assert spool.entries() == []
        assert final == [] and spool.rejected() == []
    finally:
        server.stop()

    print(f"client outcomes: {outcomes}")  # how much went through retries vs the spool, for the log
    stored = server.stored_ids()
    sent = {verdict["id"] for batch in batches for verdict in batch}
    assert len(stored) == CLIENTS * PER_CLIENT, outcomes
    assert len(set(stored)) == len(stored)  # none twice
    assert set(stored) == sent  # and exactly the ones sent
    assert outcomes.get(Outcome.DELIVERED.value, 0) > 0
