"""The client against the real `gatekeeper serve` (SQLite): upload, idempotent re-upload, conflict, auth,
and a spool that fills while the server is down and empties once it is back (same port, same file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatekeeper.sinks.spool import Spool
from tests.client.realserver import ServeProcess, copy_with_new_id, real_verdict, upload_server
from tests.client.test_spool import run


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServeProcess, str]]:
    with upload_server(tmp_path) as served:
        yield served


def test_upload_reupload_conflict_and_auth(tmp_path: Path, served: tuple[ServeProcess, str]) -> None:
    server, token = served
    env = {"GATEKEEPER_TOKEN": token}
    template = real_verdict(tmp_path)
    first = tmp_path / "first.json"
    first.write_text(json.dumps(template))
    result = run("upload", str(first), "--url", server.url, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    again = run("upload", str(first), "--url", server.url, cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stdout  # 200: already stored, same body
    assert server.stored_ids() == [template["id"]]

    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps({**template, "duration_ms": template["duration_ms"] + 1}))
    conflict = run("upload", str(changed), "--url", server.url, cwd=tmp_path, env=env)
    assert conflict.returncode == 4 and "conflict" in conflict.stdout and "HTTP 409" in conflict.stdout

    foreign = tmp_path / "foreign.json"
    other = copy_with_new_id(template)
    other["context"]["project"] = "elsewhere/app"
    foreign.write_text(json.dumps(other))
    refused = run("upload", str(foreign), "--url", server.url, cwd=tmp_path, env=env)
    assert refused.returncode == 4 and "HTTP 403" in refused.stdout
    no_token = run("upload", str(foreign), "--url", server.url, cwd=tmp_path)
    assert no_token.returncode == 4 and "HTTP 401" in no_token.stdout
    assert server.stored_ids() == [template["id"]]
    rejected = [reason["status_code"] for _, reason in Spool(tmp_path / ".gatekeeper" / "spool").rejected()]
    assert sorted(rejected) == [401, 403, 409]  # each kept, with its reason


def test_check_upload_spools_while_the_server_is_down_and_flush_delivers(
    tmp_path: Path, served: tuple[ServeProcess, str]
) -> None:
    server, token = served
    env = {"GATEKEEPER_TOKEN": token}
    reports = Path(__file__).resolve().parents[2] / "examples" / "passing" / "reports"
    args = [
        "check",
        "--no-store",
        "--format",
        "json",
        "-p",
        str(reports.parents[2] / "rules/caict-cd/level-3.yaml"),
        "--project",
        "group/app",
        "--branch",
        "main",
        str(reports / "junit.xml"),
        str(reports / "coverage.xml"),
        "--upload",
        server.url,
        "--upload-timeout",
        "2",
    ]
    up = run(*args, cwd=tmp_path, env=env)
    assert up.returncode in (0, 1), up.stderr
    gate_code = up.returncode
    server.stop()
    ids = [json.loads(up.stdout)["id"]]
    for _ in range(2):
        down = run(*args, cwd=tmp_path, env=env)
        assert down.returncode == gate_code, down.stderr  # the gate's decision, not the upload's
        assert "not uploaded" in down.stderr
        ids.append(json.loads(down.stdout)["id"])
    spool = Spool(tmp_path / ".gatekeeper" / "spool")
    assert [e.verdict_id for e in spool.entries()] == ids[1:]  # in order

    server.start()
    flushed = run("spool", "flush", "--url", server.url, cwd=tmp_path, env=env)
    assert flushed.returncode == 0, flushed.stdout + flushed.stderr
    assert sorted(server.stored_ids()) == sorted(ids)
    assert spool.entries() == []
