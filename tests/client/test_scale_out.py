"""Scale out, nothing lost (issue 13): two `gatekeeper serve` processes on one PostgreSQL database,
clients spread over both, one server SIGKILLed mid-run and never restarted.  Each client is a CI runner
with its own spool: what its server did not take is spooled, and the runner's next job delivers the
spool to the server that is left (`gatekeeper spool flush --url`, the real CLI).  In the end every
verdict is stored exactly once, counted in the database itself, metric rows included.

The kill is triggered by progress (after KILL_AFTER deliveries), not by the clock, so it lands
mid-traffic whatever the machine's speed.
"""

from __future__ import annotations

import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.sinks.spool import Spool
from gatekeeper.sinks.upload import Outcome, deliver
from gatekeeper.store.http import new_session
from tests.client.realserver import ServeProcess, copy_with_new_id, postgres_database, real_verdict, require_server
from tests.verdicts import GATEKEEPER

CLIENTS = 12
PER_CLIENT = 40
KILL_AFTER = 120


def count(database: str, sql: str) -> tuple[Any, ...]:
    """One row read from the database itself, not through the API under test."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(text(sql)).one())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_two_servers_on_one_database_one_killed_every_verdict_stored_once(tmp_path: Path) -> None:
    require_server()
    with postgres_database() as database:
        servers = [ServeProcess(tmp_path / name, database=database) for name in ("a", "b")]
        for server in servers:
            server.directory.mkdir()
        doomed, survivor = servers
        token = survivor.token("--scope", "upload", "--project", "group/*")
        template = real_verdict(tmp_path)
        batches = [[copy_with_new_id(template) for _ in range(PER_CLIENT)] for _ in range(CLIENTS)]
        spools = [Spool(tmp_path / f"runner-{index}" / "spool") for index in range(CLIENTS)]
        progress = threading.Condition()
        done = {"count": 0, "clients": 0}
        outcomes: dict[tuple[str, str], int] = {}

        def client(index: int) -> None:
            server = servers[index % 2]
            session = new_session(server.url)
            try:
                for verdict in batches[index]:
                    result = deliver(
                        verdict, server.url, token, attempts=3, timeout=5, base_delay=0.05, max_delay=0.2,
                        session=session,
                    )  # fmt: skip
                    assert not result.final, result  # nothing here may be refused for good
                    if not result.delivered:
                        spools[index].add(verdict)
                    with progress:
                        done["count"] += 1
                        key = ("a" if server is doomed else "b", result.outcome.value)
                        outcomes[key] = outcomes.get(key, 0) + 1
                        progress.notify_all()
            finally:
                session.close()
                with progress:
                    done["clients"] += 1
                    progress.notify_all()

        def killer() -> None:
            with progress:
                progress.wait_for(lambda: done["count"] >= KILL_AFTER or done["clients"] == CLIENTS)
            doomed.kill()

        # Both start at once on a database nobody migrated: the migration's advisory lock lets one do it.
        starting = [threading.Thread(target=server.start) for server in servers]
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join(90)
        try:
            kills = threading.Thread(target=killer)
            kills.start()
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(client, range(CLIENTS)))
            kills.join(60)
            assert not kills.is_alive()
            assert doomed.process is not None and doomed.process.poll() is not None  # killed, and stays down

            # Each runner's next job delivers its spool to the server that is left.
            environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")}
            for spool in spools:
                if spool.entries():
                    flushed = subprocess.run(
                        [GATEKEEPER, "spool", "flush", "--url", survivor.url, "--spool", str(spool.directory)],
                        capture_output=True, text=True, env=environment | {"GATEKEEPER_TOKEN": token},
                        timeout=120, check=False,
                    )  # fmt: skip
                    assert flushed.returncode == 0, flushed.stderr
                assert spool.entries() == [] and spool.rejected() == []
        finally:
            for server in servers:
                server.stop()

        print(f"client outcomes (server, outcome): {outcomes}")  # for the log: how much went through each path
        assert outcomes.get(("a", Outcome.DELIVERED.value), 0) > 0  # the doomed server took some before it died
        assert outcomes.get(("a", Outcome.UNDELIVERED.value), 0) > 0  # and was killed while clients still used it
        assert outcomes.get(("b", Outcome.DELIVERED.value), 0) > 0  # the survivor served its clients throughout
        sent = {verdict["id"] for batch in batches for verdict in batch}
        stored, distinct = count(database, "SELECT count(*), count(DISTINCT id) FROM verdicts")
        assert stored == distinct == len(sent) == CLIENTS * PER_CLIENT
        assert survivor.stored_ids() and set(survivor.stored_ids()) == sent
        numeric = sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in template["metrics"].values())
        assert count(database, "SELECT count(*) FROM verdict_metrics") == (numeric * len(sent),)
