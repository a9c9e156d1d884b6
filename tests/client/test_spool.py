"""The spool and `gatekeeper upload` / `spool flush|list`, through the installed console script, against a
real HTTP server on loopback."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gatekeeper.sinks.spool import Spool, flush
from tests.client.loopback import LoopbackStore, free_port, serving, verdict

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GATEKEEPER_", "CI_", "GITHUB_"))}
    environment.update(env or {})
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def write(path: Path, document: dict[str, object]) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_upload_delivers_and_exits_0(tmp_path: Path, store: LoopbackStore) -> None:
    files = [write(tmp_path / f"v{i}.json", verdict(i)) for i in range(3)]
    result = run("upload", *files, "--url", store.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert store.order == [verdict(i)["id"] for i in range(3)]
    assert result.stdout.count("delivered ") == 3
    assert Spool(tmp_path / ".gatekeeper" / "spool").entries() == []


def test_503_forever_spools_then_spool_flush_delivers_once_healthy(tmp_path: Path, store: LoopbackStore) -> None:
    store.default = 503
    file = write(tmp_path / "v.json", verdict(1))
    result = run("upload", file, "--url", store.url, "--timeout", "2", cwd=tmp_path)
    assert result.returncode == 4
    assert "spooled" in result.stdout
    listed = run("spool", "list", "--format", "json", cwd=tmp_path)
    assert [w["id"] for w in json.loads(listed.stdout)["waiting"]] == [verdict(1)["id"]]
    assert store.stored() == {}

    store.default = "store"
    flushed = run("spool", "flush", "--url", store.url, cwd=tmp_path)
    assert flushed.returncode == 0, flushed.stdout + flushed.stderr
    assert store.stored() == {verdict(1)["id"]: verdict(1)}
    assert json.loads(run("spool", "list", "--format", "json", cwd=tmp_path).stdout)["waiting"] == []


def test_the_token_comes_from_the_environment(tmp_path: Path) -> None:
    with serving(LoopbackStore(token="t0ken")) as store:
        file = write(tmp_path / "v.json", verdict(1))
        assert run("upload", file, "--url", store.url, cwd=tmp_path, env={"GATEKEEPER_TOKEN": "t0ken"}).returncode == 0
        assert "--token" not in run("upload", "--help", cwd=tmp_path).stdout


def test_conflicts_and_invalid_verdicts_go_to_rejected_and_the_rest_is_delivered(
    tmp_path: Path, store: LoopbackStore
) -> None:
    spool = Spool(tmp_path / "spool")
    spool.add(verdict(1))
    spool.add(verdict(2))
    spool.add(verdict(3))
    store.bodies[verdict(1)["id"]] = b'{"other": true}'  # the first: another body under its id, so 409
    store.script = ["store", 422]  # the second: refused as invalid; the third: stored
    report = flush(store.url, None, directory=spool.directory, timeout=10)
    outcomes = [(r.verdict_id[-1], r.outcome.value) for r in report.results]
    assert outcomes == [("1", "conflict"), ("2", "rejected"), ("3", "delivered")]
    assert store.puts == {verdict(1)["id"]: 1, verdict(2)["id"]: 1, verdict(3)["id"]: 1}  # never retried
    assert spool.entries() == []
    rejected = {reason["id"]: reason for _, reason in spool.rejected()}
    assert rejected[verdict(1)["id"]]["status_code"] == 409
    assert rejected[verdict(2)["id"]]["status_code"] == 422
    kept = [json.loads(path.read_text()) for path, _ in spool.rejected()]
    assert kept == [verdict(1), verdict(2)]  # the verdicts themselves, as they were
    listed = run("spool", "list", "--spool", str(spool.directory), cwd=tmp_path)
    assert "2 rejected" in listed.stdout and "HTTP 409" in listed.stdout


def test_a_flush_keeps_the_order_and_stops_at_the_first_undeliverable(tmp_path: Path, store: LoopbackStore) -> None:
    spool = Spool(tmp_path / "spool")
    for number in range(10):
        spool.add(verdict(number))
    spool.add(verdict(3))  # already waiting: not added twice
    assert len(spool.entries()) == 10
    store.script = ["store", "store", "store", 503, 503]
    report = flush(store.url, None, directory=spool.directory, timeout=10, attempts=2)
    assert [r.outcome.value for r in report.results] == ["delivered"] * 3 + ["undelivered"]
    assert report.remaining == 7
    report = flush(store.url, None, directory=spool.directory, timeout=10)
    assert report.remaining == 0
    assert store.order == [verdict(n)["id"] for n in range(10)]


def test_a_down_server_leaves_everything_in_the_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for number in range(3):
        spool.add(verdict(number))
    report = flush(f"http://127.0.0.1:{free_port()}", None, directory=spool.directory, timeout=1)
    assert len(report.results) <= 1 and report.remaining == 3


def test_files_are_written_whole_and_unreadable_ones_are_set_aside(tmp_path: Path, store: LoopbackStore) -> None:
    spool = Spool(tmp_path / "spool")
    path = spool.add(verdict(1))
    assert json.loads(path.read_text()) == verdict(1)
    assert sorted(p.name for p in spool.directory.iterdir()) == [path.name]  # no temporary file left
    (spool.directory / "00000000000000000001-broken.json").write_text("{half a verd")
    report = flush(store.url, None, directory=spool.directory, timeout=10)
    assert [r.outcome.value for r in report.results] == ["rejected", "delivered"]
    assert spool.entries() == []


def test_a_file_locked_by_another_flush_is_left_to_it(tmp_path: Path, store: LoopbackStore) -> None:
    spool = Spool(tmp_path / "spool")
    first = spool.add(verdict(1))
    spool.add(verdict(2))
    with open(first, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        report = flush(store.url, None, directory=spool.directory, timeout=10)
        assert [r.verdict_id for r in report.results] == [verdict(2)["id"]]
        assert report.remaining == 1
    assert flush(store.url, None, directory=spool.directory, timeout=10).remaining == 0
    assert store.puts == {verdict(1)["id"]: 1, verdict(2)["id"]: 1}


def test_two_concurrent_flushes_deliver_each_verdict_exactly_once(tmp_path: Path) -> None:
    with serving(LoopbackStore(delay=0.03)) as store:
        spool = Spool(tmp_path / "spool")
        for number in range(40):
            spool.add(verdict(number))
        with ThreadPoolExecutor(2) as pool:
            results = list(
                pool.map(
                    lambda _: run("spool", "flush", "--url", store.url, "--spool", str(spool.directory), cwd=tmp_path),
                    range(2),
                )
            )
        assert [r.returncode for r in results] == [0, 0], [r.stdout + r.stderr for r in results]
        assert set(store.puts) == {verdict(n)["id"] for n in range(40)}
        assert set(store.puts.values()) == {1}  # each PUT once, by one flush or the other
        assert spool.entries() == []


def test_unreadable_files_and_missing_urls_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[1, 2]")
    result = run("upload", str(tmp_path / "x.json"), "--url", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2 and "no `id`" in result.stderr
    assert run("upload", str(tmp_path / "x.json"), cwd=tmp_path).returncode == 2
    assert run("spool", "flush", "--url", "ftp://x", cwd=tmp_path).returncode == 2


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ('{"id": "00000000-0000-4000-8000-000000000001", "reason": "\\ud800"}', "lone surrogate \\ud800"),
        ('{"id": "00000000-0000-4000-8000-000000000001", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper"),
        ('{"id": "00000000-0000-4000-8000-000000000001", "x": ' + "[" * 200 + "]" * 200 + "}", "nested deeper"),
        ('{"schema": "gatekeeper.verdict/v1", "id": "../../etc"}', "can never be stored"),
        ('{"id": "00000000-0000-4000-8000-000000000001"}', "not a verdict: no `schema`"),
    ],
    ids=["surrogate", "deep", "deeper-than-128", "bad-id", "no-schema"],
)
def test_a_verdict_file_no_server_takes_is_exit_2_naming_the_file(tmp_path: Path, text: str, wanted: str) -> None:
    """Issue 13 (13c): a lone surrogate or deep nesting was a traceback and exit 3."""
    (tmp_path / "bad.json").write_text(text)
    result = run("upload", "bad.json", "--url", f"http://127.0.0.1:{free_port()}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("gatekeeper: error: bad.json: ") and wanted in line
    assert not (tmp_path / ".gatekeeper").exists()  # nothing spooled


def test_upload_counts_earlier_spooled_verdicts_in_words(tmp_path: Path, store: LoopbackStore) -> None:
    """ "delivered 1 earlier spooled verdict", never "verdict(s)" (issue 15, item 13)."""
    down = f"http://127.0.0.1:{free_port()}"
    spooled = run("upload", write(tmp_path / "v1.json", verdict(1)), "--url", down, "--timeout", "1", cwd=tmp_path)
    assert spooled.returncode == 4, spooled.stderr
    result = run("upload", write(tmp_path / "v2.json", verdict(2)), "--url", store.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["delivered 1 earlier spooled verdict", f"delivered {verdict(2)['id']}"]
    assert store.order == [verdict(1)["id"], verdict(2)["id"]]
