"""Issue 13, items 2 and 7, against the real `gatekeeper serve`: a verdict refused for good is set aside
(with one line naming it and the server's reason) and never blocks the ones behind it; and delivery does
not need a writable spool.

An unwritable spool is made by putting a regular file where the spool's parent directory should be:
tests run as root in CI, and root ignores permission bits (chmod 0555 stops nothing) and cannot remount
read-only here, but nobody, root included, can create anything inside a regular file (ENOTDIR)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatekeeper.sinks.spool import Spool, flush
from tests.client.loopback import LoopbackStore, free_port, verdict
from tests.client.realserver import ServeProcess, copy_with_new_id, real_verdict, upload_server
from tests.client.test_spool import run
from tests.test_cli_check import PASSING_JUNIT

POLICY = """policy: upload-test
gates:
  - id: tests-all-pass
    metric: tests.pass_percent
    min: 100
"""


def check(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`gatekeeper check` of a passing JUnit report under a one-gate policy: exit 0 unless the upload fails."""
    (cwd / "policy.yaml").write_text(POLICY)
    (cwd / "pass.xml").write_text(PASSING_JUNIT)
    common = ("--no-store", "--format", "json", "--project", "group/app", "--branch", "main")
    return run("check", "-p", "policy.yaml", "pass.xml", *common, *args, cwd=cwd, env=env)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServeProcess, str]]:
    """The real server on loopback, and an upload token for group/*."""
    with upload_server(tmp_path) as served:
        yield served


def unwritable(tmp_path: Path) -> Path:
    """A spool path nobody can create, root included: its parent is a regular file."""
    (tmp_path / "in-the-way").write_text("a file where the spool's parent directory should be\n")
    return tmp_path / "in-the-way" / "spool"


def test_a_spooled_verdict_no_server_takes_is_set_aside_and_the_next_check_uploads(
    tmp_path: Path, served: tuple[ServeProcess, str]
) -> None:
    server, token = served
    spool = Spool(tmp_path / ".gatekeeper" / "spool")
    stuck = copy_with_new_id(real_verdict(tmp_path))
    stuck["id"] = "bad/id-0001"  # an older client spooled it; the server answered 404 to its URL
    spool.add(stuck)
    result = check(tmp_path, "--upload", server.url, "--require-upload", env={"GATEKEEPER_TOKEN": token})
    assert result.returncode == 0, result.stderr
    assert server.stored_ids() == [json.loads(result.stdout)["id"]]
    lines = [line for line in result.stderr.splitlines() if "bad/id-0001" in line]
    assert len(lines) == 1, result.stderr
    assert "rejected" in lines[0] and "can never be stored" in lines[0] and "kept in" in lines[0]
    assert spool.entries() == []
    assert [reason["id"] for _, reason in spool.rejected()] == ["bad/id-0001"]
    assert [json.loads(path.read_text()) for path, _ in spool.rejected()] == [stuck]  # kept as it was
    listed = run("spool", "list", cwd=tmp_path).stdout
    assert "bad/id-0001  rejected (not sent): id 'bad/id-0001' can never be stored" in listed


def test_any_permanent_refusal_is_set_aside_and_the_flush_goes_on(tmp_path: Path, store: LoopbackStore) -> None:
    spool = Spool(tmp_path / "spool")
    for number in range(4):
        spool.add(verdict(number))
    store.script = [404, 410, 400]  # none of them the old client's "final" codes but 400; the fourth: stored
    result = run("spool", "flush", "--url", store.url, "--spool", str(spool.directory), cwd=tmp_path)
    assert result.returncode == 4  # something was not delivered
    assert store.puts == {verdict(n)["id"]: 1 for n in range(4)}  # each sent once, none retried
    assert store.order == [verdict(3)["id"]]
    assert spool.entries() == []
    reasons = {reason["id"]: reason["status_code"] for _, reason in spool.rejected()}
    assert reasons == {verdict(0)["id"]: 404, verdict(1)["id"]: 410, verdict(2)["id"]: 400}
    for number, status in enumerate((404, 410, 400)):  # one line each: the id, the code, the server's reason
        [line] = [line for line in result.stdout.splitlines() if verdict(number)["id"] in line]
        assert line.startswith("rejected ") and f"HTTP {status}" in line and f"scripted {status}" in line

    files = sorted(str(path) for path in spool.rejected_directory.iterdir())  # verdicts and their reasons
    again = run("upload", *files, "--url", store.url, "--spool", str(spool.directory), cwd=tmp_path)
    assert again.returncode == 2 and "reason.json: not a verdict: a rejected verdict's reason" in again.stderr
    kept = [str(path) for path, _ in spool.rejected()]
    again = run("upload", *kept, "--url", store.url, "--spool", str(spool.directory), cwd=tmp_path)
    assert again.returncode == 0, again.stdout  # once the server takes them, they go up from rejected/
    assert store.order == [verdict(n)["id"] for n in (3, 0, 1, 2)]


def test_check_uploads_when_the_spool_cannot_be_written(tmp_path: Path, served: tuple[ServeProcess, str]) -> None:
    server, token = served
    spool = unwritable(tmp_path)
    env = {"GATEKEEPER_TOKEN": token, "GATEKEEPER_SPOOL": str(spool)}
    result = check(tmp_path, "--upload", server.url, "--require-upload", env=env)
    assert result.returncode == 0, result.stderr
    assert server.stored_ids() == [json.loads(result.stdout)["id"]]
    assert "not uploaded" not in result.stderr


def test_upload_when_the_spool_cannot_be_written(tmp_path: Path, served: tuple[ServeProcess, str]) -> None:
    server, token = served
    file = tmp_path / "verdict.json"
    template = real_verdict(tmp_path)
    file.write_text(json.dumps(template))
    spool = unwritable(tmp_path)
    result = run(
        "upload", str(file), "--url", server.url, "--spool", str(spool), cwd=tmp_path, env={"GATEKEEPER_TOKEN": token}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"delivered {template['id']}"]
    assert server.stored_ids() == [template["id"]]


def test_neither_server_nor_spool_warns_once_and_only_require_upload_exits_4(tmp_path: Path) -> None:
    spool = unwritable(tmp_path)
    down = f"http://127.0.0.1:{free_port()}"
    args = ("--upload", down, "--upload-timeout", "1")
    result = check(tmp_path, *args, env={"GATEKEEPER_SPOOL": str(spool)})
    assert result.returncode == 0, result.stderr  # the gate's decision: the sink never changes it
    verdict_id = json.loads(result.stdout)["id"]
    [line] = [line for line in result.stderr.splitlines() if "not uploaded" in line]
    assert verdict_id in line and "not spooled either" in line and "Not a directory" in line
    assert check(tmp_path, *args, "--require-upload", env={"GATEKEEPER_SPOOL": str(spool)}).returncode == 4


def test_a_refusal_that_cannot_be_set_aside_stays_and_the_rest_is_delivered(
    tmp_path: Path, store: LoopbackStore
) -> None:
    """A spool whose rejected/ cannot be made (a file in its way): the refused verdict is not lost."""
    spool = Spool(tmp_path / "spool")
    spool.add(verdict(1))
    spool.add(verdict(2))
    (spool.directory / "rejected").write_text("in the way")
    store.script = [422]
    report = flush(store.url, None, directory=spool.directory, timeout=10)
    assert [r.outcome.value for r in report.results] == ["rejected", "delivered"]
    assert "stays in the spool" in report.problems[verdict(1)["id"]]
    assert [e.verdict_id for e in spool.entries()] == [verdict(1)["id"]]  # still there, not lost
