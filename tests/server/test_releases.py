"""`/api/v1/releases` on both databases: scopes, idempotent PUT, pagination, 404s, and readiness decided
from real verdicts (`gatekeeper check` on the bundled examples under the caict-cd packs)."""

from __future__ import annotations

import copy
import json
import secrets
import uuid
from typing import Any

import pytest
import requests

from tests.server.conftest import Server, unique_project
from tests.verdicts import REPO, check_example


def put_release(server: Server, name: str, body: Any, token: str = "admin") -> requests.Response:
    return requests.put(
        f"{server.url}/api/v1/releases/{name}",
        data=body if isinstance(body, str) else json.dumps(body),
        headers={**server.headers(token), "Content-Type": "application/json"},
        timeout=30,
    )


def unique_name() -> str:
    return f"r-{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def level2_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A passing verdict decided under caict-cd/level-2: clear for level 2, weaker for level 3."""
    cwd = tmp_path_factory.mktemp("level2")
    return check_example(cwd, "passing", policy=REPO / "rules/caict-cd/level-2.yaml", codes=(0,))


def test_scopes_are_enforced(server: Server) -> None:
    name = unique_name()
    body = {"level": 3, "members": [{"project": "bank/a", "commit": "c1"}]}
    assert put_release(server, name, body, token="none").status_code == 401
    assert put_release(server, name, body, token="revoked").status_code == 401
    assert put_release(server, name, body, token="read").status_code == 403
    assert put_release(server, name, body, token="bank").status_code == 403  # upload scope defines no releases
    assert server.get(f"/api/v1/releases/{name}", token="read").status_code == 404  # nothing was stored
    assert put_release(server, name, body).status_code == 201
    assert server.get(f"/api/v1/releases/{name}", token="read").status_code == 200
    assert server.get(f"/api/v1/releases/{name}", token="bank").status_code == 403
    assert server.get("/api/v1/releases", token="expired").status_code == 401
    assert server.get(f"/api/v1/releases/{name}/readiness", token="none").status_code == 401


def test_put_is_idempotent_and_replaces(server: Server) -> None:
    name = unique_name()
    body = {
        "name": name,
        "level": 3,
        "members": [{"project": "bank/a", "commit": "c1"}, {"project": "bank/b", "pipeline": 4711}],
    }
    before = server.rows("releases")
    first, again = put_release(server, name, body), put_release(server, name, body)
    assert (first.status_code, first.json()) == (201, {"name": name, "created": True})
    assert (again.status_code, again.json()) == (200, {"name": name, "created": False})
    assert server.rows("releases") == before + 1
    stored = server.get(f"/api/v1/releases/{name}").json()
    assert stored == {
        "name": name,
        "level": 3,
        "members": [
            {"project": "bank/a", "commit": "c1", "pipeline": None},
            {"project": "bank/b", "commit": None, "pipeline": "4711"},
        ],
    }
    replaced = put_release(server, name, {"level": None, "members": [{"project": "bank/c", "commit": "c9"}]})
    assert replaced.status_code == 200
    assert server.get(f"/api/v1/releases/{name}").json()["members"] == [
        {"project": "bank/c", "commit": "c9", "pipeline": None}
    ]
    assert server.rows("releases") == before + 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("not json", "body is not JSON"),
        ([], "a release must be a mapping"),
        ({"level": 3}, "members: members must be a non-empty list"),
        ({"members": [{"project": "a", "commit": "c", "pipeline": "p"}]}, "members[0]: a member names exactly one"),
        ({"name": "other", "members": [{"project": "a", "commit": "c"}]}, "name: name 'other' differs from"),
        ({"level": 9, "members": [{"project": "a", "commit": "c"}]}, "level: level must be a maturity level 1-5"),
        ({"members": [{"project": "a\u0000", "commit": "c"}]}, "members[0].project: project must be one line"),
    ],
)
def test_a_bad_release_is_422_and_stores_nothing(server: Server, body: Any, detail: str) -> None:
    name = unique_name()
    response = put_release(server, name, body)
    assert response.status_code == 422
    assert detail in response.json()["detail"]
    assert server.get(f"/api/v1/releases/{name}").status_code == 404


def test_unknown_names_are_404(server: Server) -> None:
    assert server.get("/api/v1/releases/no-such-release").status_code == 404
    assert server.get("/api/v1/releases/no-such-release/readiness").status_code == 404
    assert server.get("/api/v1/releases/bad%20name").status_code == 422


def test_list_paginates_newest_first(server: Server) -> None:
    names = [unique_name() for _ in range(3)]
    for name in names:
        assert put_release(server, name, {"members": [{"project": "bank/a", "commit": "c1"}]}).status_code == 201
    first = server.get("/api/v1/releases", limit=2).json()
    assert [item["name"] for item in first["items"]] == names[::-1][:2]
    assert first["next_offset"] == 2 and first["total"] >= 3
    second = server.get("/api/v1/releases", limit=2, offset=first["next_offset"]).json()
    assert second["items"][0]["name"] == names[0]
    seen, offset = [], 0
    while offset is not None:
        page = server.get("/api/v1/releases", limit=50, offset=offset).json()
        seen += [item["name"] for item in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == first["total"]
    assert server.get("/api/v1/releases", limit=0).status_code == 422


def test_readiness_from_real_verdicts(server: Server, make_verdict: Any, level2_template: dict[str, Any]) -> None:
    ledger, web, api = unique_project(), unique_project(), unique_project()
    clear = make_verdict("passing", project=ledger, commit="aaa111")
    failed = make_verdict("failing", project=web, pipeline="4711")
    weaker = copy.deepcopy(level2_template)
    weaker["id"] = str(uuid.uuid4())
    weaker["context"].update(project=api, commit="ccc333")
    for verdict in (clear, failed, weaker):
        assert server.put(verdict).status_code == 201
    name = unique_name()
    members = [
        {"project": ledger, "commit": "aaa111"},
        {"project": web, "pipeline": "4711"},
        {"project": api, "commit": "ccc333"},
        {"project": ledger, "commit": "ddd444"},
    ]
    assert put_release(server, name, {"level": 3, "members": members}).status_code == 201
    readiness = server.get(f"/api/v1/releases/{name}/readiness").json()
    assert readiness["ready"] is False
    assert [m["state"] for m in readiness["members"]] == ["clear", "failed", "weaker-level", "missing"]
    assert readiness["members"][0]["verdict_id"] == clear["id"]
    assert readiness["members"][1]["blockers"] == [
        "gate tests-all-pass failed: test pass rate 91.9% < 100% (34 of 37 tests that ran passed)",
        "gate no-critical-or-high-findings failed: high findings 3 > 0",
    ]
    assert readiness["members"][2]["blockers"] == ["policy level 2 < required 3"]
    assert readiness["blockers"][-1] == f"{ledger} commit ddd444: no verdict for commit ddd444"
    # Only the clear member, and the level-2 one under a level-2 release: ready.
    ready = {"level": 2, "members": [members[0], members[2]]}
    assert put_release(server, name, ready).status_code == 200
    readiness = server.get(f"/api/v1/releases/{name}/readiness").json()
    assert (readiness["ready"], readiness["blockers"]) == (True, [])
    # A newer failing verdict for the same commit blocks again: the latest verdict decides.
    later = make_verdict("failing", project=ledger, commit="aaa111")  # received last: the latest
    assert server.put(later).status_code == 201
    readiness = server.get(f"/api/v1/releases/{name}/readiness").json()
    assert readiness["ready"] is False
    assert readiness["members"][0]["verdict_id"] == later["id"]


def test_a_member_naming_a_commit_by_its_first_hex_digits(server: Server, make_verdict: Any) -> None:
    """Verdicts hold the full id; a member may name 7 or more of its first hex digits (README's releases
    do), and two commits starting with them are named, never one picked (second review B2)."""
    project = unique_project()
    full, shared = secrets.token_hex(20), secrets.token_hex(5)[:9]
    twin, other = shared + "0" * 31, shared + "f" * 31
    clear = make_verdict("passing", project=project, commit=full)
    for verdict in (
        clear,
        make_verdict("failing", project=unique_project(), commit=full),  # another project's: not this one
        make_verdict("passing", project=project, commit=twin),
        make_verdict("failing", project=project, commit=other),
    ):
        assert server.put(verdict).status_code == 201
    name = unique_name()
    members = [
        {"project": project, "commit": full[:12]},
        {"project": project, "commit": full[:10].upper()},
        {"project": project, "commit": shared},
        {"project": project, "commit": full[:6]},  # too short to name a commit
    ]
    assert put_release(server, name, {"level": None, "members": members}).status_code == 201
    readiness = server.get(f"/api/v1/releases/{name}/readiness").json()
    states = [(m["state"], m["verdict_id"]) for m in readiness["members"]]
    assert states == [("clear", clear["id"]), ("clear", clear["id"]), ("missing", None), ("missing", None)]
    assert readiness["members"][2]["blockers"] == [
        f"commit {shared} is ambiguous: {project} has commits {twin}, {other} starting with it; give more of it"
    ]
    assert readiness["members"][3]["blockers"] == [f"no verdict for commit {full[:6]}"]
