"""The CLI against a real server on both databases: `release define|check --server` and
`verdicts list|show --server`, with the token from GATEKEEPER_TOKEN; and its one-line errors."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

from tests.server.conftest import GATEKEEPER, Server, free_port, on_day, unique_project


def gatekeeper(*args: str, cwd: Path, token: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")}
    if token is not None:
        environment["GATEKEEPER_TOKEN"] = token
    environment.update(env)
    return subprocess.run(
        [GATEKEEPER, *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=120, check=False
    )


def test_release_define_and_check_on_the_server(server: Server, make_verdict: Any, tmp_path: Path) -> None:
    ledger, web = unique_project(), unique_project()
    for verdict in (
        make_verdict("passing", project=ledger, commit="aaa111"),
        make_verdict("failing", project=web, pipeline="4711"),
    ):
        assert server.put(verdict).status_code == 201
    name = f"r-{secrets.token_hex(4)}"
    release = tmp_path / "release.yaml"
    release.write_text(
        f"name: {name}\nlevel: 3\nmembers:\n  - {{project: {ledger}, commit: aaa111}}\n"
        f"  - {{project: {web}, pipeline: 4711}}\n"
    )
    refused = gatekeeper("release", "define", str(release), "--server", server.url, cwd=tmp_path,
                         token=server.tokens["read"])  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr == (
        f"gatekeeper: error: verdict store {server.url}: refused the request (403: this token's scope is read, "
        "not admin)\n"
    )
    defined = gatekeeper("release", "define", str(release), "--server", server.url, cwd=tmp_path,
                         token=server.tokens["admin"])  # fmt: skip
    assert defined.returncode == 0, defined.stderr
    assert defined.stdout == f"release {name} defined in {server.url} (2 members, required policy level 3)\n"

    # GATEKEEPER_URL names the server as it does for uploads.
    checked = gatekeeper("release", "check", "--release", name, cwd=tmp_path, token=server.tokens["read"],
                         GATEKEEPER_URL=server.url)  # fmt: skip
    assert checked.returncode == 1, checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[0] == f"BLOCKED  release {name}: 1 of 2 members blocked (required policy level 3)"
    assert lines[1].split()[:2] == ["clear", ledger]
    assert lines[2].split()[:2] == ["failed", web]
    assert lines[3].strip().startswith("gate tests-all-pass failed")
    # A file checked against the server without defining it; JSON for scripts.
    release.write_text(f"name: {name}\nlevel: 3\nmembers:\n  - {{project: {ledger}, commit: aaa111}}\n")
    ready = gatekeeper("release", "check", "--file", str(release), "--server", server.url, "--format", "json",
                       cwd=tmp_path, token=server.tokens["read"])  # fmt: skip
    assert ready.returncode == 0, ready.stderr
    assert json.loads(ready.stdout)["ready"] is True

    unknown = gatekeeper("release", "check", "--release", "no-such-release", "--server", server.url, cwd=tmp_path,
                         token=server.tokens["read"])  # fmt: skip
    assert unknown.returncode == 2
    assert unknown.stderr == (
        f"gatekeeper: error: verdict store {server.url}: no release named 'no-such-release' "
        "(define it with `gatekeeper release define FILE`)\n"
    )


def test_verdicts_list_and_show_on_the_server(server: Server, make_verdict: Any, tmp_path: Path) -> None:
    project = unique_project()
    uploaded = [
        make_verdict("passing" if day != 2 else "failing", created_at=on_day(day), project=project,
                     branch="main", commit=f"c{day}")
        for day in (1, 2, 3)
    ]  # fmt: skip
    for verdict in uploaded:
        assert server.put(verdict).status_code == 201
    read = server.tokens["read"]
    listed = gatekeeper("verdicts", "list", "--server", server.url, "--project", project, "--limit", "2",
                        cwd=tmp_path, token=read)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    header = ["recorded", "(UTC)", "created", "(UTC)", "status", "project", "branch", "commit", "level", "id"]
    assert lines[0].split() == header
    assert [line.split()[4] for line in lines[1:3]] == ["pass", "fail"]
    assert lines[1].split()[-1] == uploaded[2]["id"][:12]
    assert lines[3] == "(newest 2 shown; --limit N shows more)"

    as_json = gatekeeper("verdicts", "list", "--server", server.url, "--project", project, "--status", "fail",
                         "--format", "json", cwd=tmp_path, token=read)  # fmt: skip
    assert [item["id"] for item in json.loads(as_json.stdout)] == [uploaded[1]["id"]]

    shown = gatekeeper("verdicts", "show", uploaded[0]["id"], "--server", server.url, "--format", "json",
                       cwd=tmp_path, token=read)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == uploaded[0]["id"]
    latest = gatekeeper("verdicts", "show", "latest", "--project", project, cwd=tmp_path, token=read,
                        GATEKEEPER_URL=server.url)  # fmt: skip
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout.startswith("PASS")
    assert "commit c3" in latest.stdout

    none = gatekeeper("verdicts", "list", "--server", server.url, "--project", unique_project(), cwd=tmp_path,
                      token=read)  # fmt: skip
    assert none.stdout == f"no verdicts match these filters (server: {server.url})\n"
    by_prefix = gatekeeper("verdicts", "show", uploaded[0]["id"][:8], "--server", server.url, "--format", "json",
                           cwd=tmp_path, token=read)  # fmt: skip
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert json.loads(by_prefix.stdout) == json.loads(shown.stdout)


def test_verdicts_show_resolves_id_prefixes_as_the_embedded_store_does(
    server: Server, make_verdict: Any, tmp_path: Path
) -> None:
    stem = secrets.token_hex(4)
    twins = [make_verdict(project=unique_project()) for _ in range(2)]
    for suffix, verdict in zip(("aaaa", "bbbb"), twins, strict=True):
        verdict["id"] = f"{stem}-{suffix}"
        assert server.put(verdict).status_code == 201
    read = server.tokens["read"]

    def show(identifier: str) -> subprocess.CompletedProcess[str]:
        return gatekeeper("verdicts", "show", identifier, "--server", server.url, "--format", "json",
                          cwd=tmp_path, token=read)  # fmt: skip

    unique = show(f"{stem}-b")
    assert unique.returncode == 0, unique.stderr
    assert json.loads(unique.stdout) == twins[1]
    ambiguous = show(stem)
    assert ambiguous.returncode == 2
    assert ambiguous.stderr == (
        f"gatekeeper: error: verdict store {server.url}: id prefix {stem!r} is ambiguous: "
        f"{stem}-aaaa, {stem}-bbbb; give more of it\n"
    )
    unknown = show(f"{stem}-c")
    assert unknown.returncode == 2
    assert f"no verdict with id '{stem}-c' or starting with it" in unknown.stderr
    short = show(stem[:5])
    assert short.returncode == 2
    assert "give the full id or at least 6 characters of it" in short.stderr


def test_server_errors_are_one_line(server: Server, tmp_path: Path) -> None:
    no_token = gatekeeper("verdicts", "list", "--server", server.url, cwd=tmp_path)
    assert no_token.returncode == 2
    assert no_token.stderr == (
        f"gatekeeper: error: verdict store {server.url}: refused the request (401: missing, invalid, expired or "
        "revoked token): set GATEKEEPER_TOKEN to a read token\n"
    )
    revoked = gatekeeper("verdicts", "list", "--server", server.url, cwd=tmp_path, token=server.tokens["revoked"])
    assert revoked.returncode == 2 and "GATEKEEPER_TOKEN is not a live token" in revoked.stderr
    wrong_scope = gatekeeper("verdicts", "list", "--server", server.url, cwd=tmp_path, token=server.tokens["bank"])
    assert wrong_scope.returncode == 2 and "403: this token's scope is upload, not read" in wrong_scope.stderr
    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = gatekeeper("verdicts", "show", "latest", "--server", closed, cwd=tmp_path, token="x")
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith(f"gatekeeper: error: verdict store {closed}: cannot reach the store server (")
    assert unreachable.stderr.count("\n") == 1
    both = gatekeeper("verdicts", "list", "--server", server.url, "--store", "x.db", cwd=tmp_path)
    assert both.returncode == 2 and "give --store or --server, not both" in both.stderr
    # --store on the command line beats GATEKEEPER_URL in the environment.
    local = gatekeeper("verdicts", "list", "--store", str(tmp_path / "none.db"), cwd=tmp_path,
                       GATEKEEPER_URL=server.url)  # fmt: skip
    assert local.returncode == 0 and local.stdout.startswith("no verdicts recorded yet (store:")
    bad_url = gatekeeper("verdicts", "list", "--server", "ftp://host", cwd=tmp_path)
    assert bad_url.returncode == 2 and "store URL must be http(s)://" in bad_url.stderr
