"""`release check --server` with members naming a commit by its first 7+ hex digits (README's releases do),
against a real server on both databases: the list API's `commit_prefix`, and the client that never trusts
a server to have applied it (one from before it ignores the parameter)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from tests.client.loopback import serving_handler
from tests.server.conftest import Server, unique_project
from tests.server.test_releases_cli import gatekeeper


def check(server_url: str, members: list[dict[str, str]], token: str, tmp_path: Path) -> dict[str, Any]:
    """`release check --file F --server URL --format json` on a release of these members."""
    release = tmp_path / "release.json"
    release.write_text(json.dumps({"name": f"r-{secrets.token_hex(4)}", "members": members}))
    checked = gatekeeper("release", "check", "--file", str(release), "--server", server_url, "--format", "json",
                         cwd=tmp_path, token=token)  # fmt: skip
    assert checked.returncode in (0, 1), checked.stderr
    readiness: dict[str, Any] = json.loads(checked.stdout)
    return readiness


def test_short_commits_clear_and_ambiguous_ones_are_named(server: Server, make_verdict: Any, tmp_path: Path) -> None:
    project, elsewhere = unique_project(), unique_project()
    full, shared = secrets.token_hex(20), secrets.token_hex(4)[:7]
    twin, other = shared + "0" * 33, shared + "f" * 33
    clear = make_verdict("passing", project=project, commit=full)
    uploads = [
        make_verdict("failing", project=elsewhere, commit=full),  # another project's: not this one
        clear,
        make_verdict("failing", project=project, commit=twin),
        # The newest verdicts all at one commit: the client looks past them for a second one.
        *(make_verdict("passing", project=project, commit=other) for _ in range(3)),
    ]
    for verdict in uploads:
        assert server.put(verdict).status_code == 201
    members = [
        {"project": project, "commit": full[:12]},
        {"project": project, "commit": full[:7].upper()},
        {"project": project, "commit": shared},
    ]
    readiness = check(server.url, members, server.tokens["read"], tmp_path)
    assert [(m["state"], m["verdict_id"]) for m in readiness["members"]] == [
        ("clear", clear["id"]),
        ("clear", clear["id"]),
        ("missing", None),
    ]
    assert readiness["members"][2]["blockers"] == [
        f"commit {shared} is ambiguous: {project} has commits {twin}, {other} starting with it; give more of it"
    ]
    assert readiness["ready"] is False


def test_the_list_api_filters_by_commit_prefix(server: Server, make_verdict: Any) -> None:
    project, full = unique_project(), secrets.token_hex(20)
    verdict = make_verdict("passing", project=project, commit=full)
    assert server.put(verdict).status_code == 201
    for prefix in (full[:7], full[:12].upper(), full[:63]):
        listed = server.get("/api/v1/verdicts", project=project, commit_prefix=prefix)
        assert listed.status_code == 200, listed.text
        assert [item["id"] for item in listed.json()["items"]] == [verdict["id"]]
    beside = f"{int(full[:7], 16) ^ 1:07x}"  # differs from the commit in its 7th digit
    assert server.get("/api/v1/verdicts", project=project, commit_prefix=beside).json()["items"] == []
    for refused in (full[:6], full + "0" * 24, "release", f"{full[:6]}%", f"{full[:7]}_"):
        answer = server.get("/api/v1/verdicts", project=project, commit_prefix=refused)
        assert answer.status_code == 422, refused


@contextmanager
def older_server(upstream: str) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A real HTTP server on loopback in front of `upstream` that answers as a server from before
    `commit_prefix` does: it drops the parameter (so lists the project's verdicts at any commit). It
    keeps the query of each verdict list it was asked for."""
    asked: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            query = dict(parse_qsl(split.query))
            if split.path == "/api/v1/verdicts":
                asked.append(dict(query))
            query.pop("commit_prefix", None)
            answer = requests.get(f"{upstream}{split.path}?{urlencode(query)}", timeout=30,
                                  headers={"Authorization": self.headers.get("Authorization", "")})  # fmt: skip
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

    with serving_handler(Handler) as url:
        yield url, asked


def test_the_client_never_trusts_a_server_to_have_filtered(server: Server, make_verdict: Any, tmp_path: Path) -> None:
    """A server that ignores `commit_prefix` lists commits the prefix does not start: none is taken for the
    member's, and whether a second commit starts with it cannot be told, so the member is missing as
    before; a project with verdicts at that one commit only still clears.  A member too short or not hex
    asks for no prefix at all."""
    mixed, single = unique_project(), unique_project()
    full, unrelated = secrets.token_hex(20), secrets.token_hex(20)
    for verdict in (
        make_verdict("passing", project=mixed, commit=full),
        make_verdict("passing", project=mixed, commit=unrelated),  # the newest: what an older server lists first
        make_verdict("passing", project=single, commit=full),
    ):
        assert server.put(verdict).status_code == 201
    members = [
        {"project": mixed, "commit": full[:12]},
        {"project": single, "commit": full[:7]},
        {"project": single, "commit": full[:6]},
        {"project": single, "commit": "release-1"},
    ]
    with older_server(server.url) as (url, asked):
        readiness = check(url, members, server.tokens["read"], tmp_path)
    assert [m["state"] for m in readiness["members"]] == ["missing", "clear", "missing", "missing"]
    assert [query.get("commit_prefix") for query in asked] == [None, full[:12], None, full[:7], None, None]
    assert [query.get("commit") for query in asked] == [full[:12], None, full[:7], None, full[:6], "release-1"]
