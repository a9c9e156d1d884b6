"""Two dozen CI jobs on one machine write one fresh store file at the same moment: none may lose a
verdict, none may store one twice, and none may fail.

Real OS processes (not threads), released together once all have started, so the file's creation,
its migration and the writes all race for real.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.store.sqlite import SqliteStore
from tests.store import make_verdict

REPO = Path(__file__).resolve().parents[2]
WORKERS = 24
DISTINCT = 20
SHARED = 5

# One CI job: wait for the starting signal, then record its own verdicts and re-record the shared
# ones (as a retried upload would).  Odd workers reopen the store for every verdict, like separate
# `gatekeeper check` runs; even workers keep one connection.  Prints which adds were new.
WORKER = """
import json, sys
from gatekeeper.store.sqlite import SqliteStore
from tests.store import make_verdict

path, worker, distinct, shared = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ids = [f"w{worker:02d}-{n:02d}-{'0' * 20}" for n in range(distinct)]
shared_ids = [f"shared-{n:02d}-{'0' * 20}" for n in range(shared)]
order = list(ids)
for n, shared_id in enumerate(shared_ids):  # spread the shared ids through the run
    order.insert((n * 4 + worker) % (len(order) + 1), shared_id)

print("ready", flush=True)
sys.stdin.readline()

added = {}
store = SqliteStore(path)
for verdict_id in order:
    if worker % 2:
        store.close()
        store = SqliteStore(path)
    minute = 59 if verdict_id in shared_ids else worker  # a shared verdict has one body everywhere
    added[verdict_id] = store.add(make_verdict(verdict_id, created_at=f"2026-11-25T14:{minute:02d}:00Z"))
store.close()
print(json.dumps(added), flush=True)
"""


@pytest.mark.slow
def test_concurrent_processes_lose_no_verdict_and_store_none_twice(tmp_path: Path) -> None:
    db = tmp_path / "workspace" / ".gatekeeper" / "verdicts.db"  # does not exist yet: creation races too
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db), str(worker), str(DISTINCT), str(SHARED)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env,
        )
        for worker in range(WORKERS)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n", process.communicate()[1]
        for process in processes:  # release them together
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        results = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    failures = [
        f"worker {n} exited {p.returncode}: {err.strip()[-2000:]}"
        for n, (p, (_, err)) in enumerate(zip(processes, results, strict=True))
        if p.returncode != 0
    ]
    assert not failures, "\n".join(failures)

    added: list[dict[str, bool]] = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
    shared_ids = {f"shared-{n:02d}-{'0' * 20}" for n in range(SHARED)}
    # Every worker's own verdicts were new; each shared verdict was new for exactly one worker.
    for worker, outcome in enumerate(added):
        assert all(new for verdict_id, new in outcome.items() if verdict_id not in shared_ids), worker
        assert len(outcome) == DISTINCT + SHARED
    for shared_id in shared_ids:
        assert sum(outcome[shared_id] for outcome in added) == 1, shared_id

    expected = {f"w{w:02d}-{n:02d}-{'0' * 20}" for w in range(WORKERS) for n in range(DISTINCT)} | shared_ids
    connection = sqlite3.connect(db)
    try:
        stored = [row[0] for row in connection.execute("SELECT id FROM verdicts")]
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        metric_rows = connection.execute("SELECT count(*) FROM verdict_metrics").fetchone()[0]
    finally:
        connection.close()
    assert len(stored) == len(expected) == WORKERS * DISTINCT + SHARED
    assert set(stored) == expected
    assert metric_rows == len(expected) * len(make_verdict("x")["metrics"])

    with SqliteStore(db, create=False) as store:
        assert store.count() == len(expected)
        sample = f"w{WORKERS - 1:02d}-{DISTINCT - 1:02d}-{'0' * 20}"
        assert store.get(sample) == make_verdict(sample, created_at=f"2026-11-25T14:{WORKERS - 1:02d}:00Z")
