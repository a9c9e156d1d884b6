"""`/api/v1/deployments` and `/api/v1/incidents` on a real server, SQLite and PostgreSQL (issue 19), and
`deploy record` / `incident open|resolve --upload URL` against it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.client.loopback import free_port
from tests.diff.repo import Repo
from tests.server.conftest import Server, unique_project
from tests.verdicts import GATEKEEPER

SHA = "a" * 40


def post(server: Server, path: str, body: Any, token: str = "admin") -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1{path}",
        data=body if isinstance(body, (bytes, str)) else json.dumps(body),
        headers={**server.headers(token), "Content-Type": "application/json"},
        timeout=30,
    )


def deployment(project: str, **fields: Any) -> dict[str, Any]:
    return {"project": project, "environment": "prod", "commit": SHA, "status": "success", "pipeline": "1"} | fields


def count(server: Server, table: str, project: str) -> int:
    """Rows of one project in a table, read from the database itself, not through the API under test."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server.db_url)
    try:
        with engine.connect() as connection:
            query = text(f"SELECT count(*) FROM {table} WHERE project = :project")
            return int(connection.execute(query, {"project": project}).scalar_one())
    finally:
        engine.dispose()


def test_the_same_deployment_twice_is_stored_once(server: Server) -> None:
    project = unique_project()
    commits = [
        {"sha": "b" * 40, "committed_at": "2026-03-01T10:00:00Z", "keys": ["ABC-1"]},
        {"sha": SHA, "committed_at": "2026-03-02T10:00:00+02:00", "keys": ["ABC-2", "DEF-3"]},
    ]
    first = post(server, "/deployments", deployment(project, commits=commits, claimed_at="2020-01-01T00:00:00Z"))
    assert first.status_code == 201, first.text
    again = post(server, "/deployments", deployment(project, commits=commits[:1]))  # a repeated webhook
    assert again.status_code == 200
    stored = first.json()
    assert again.json() == stored | {"created": False}
    assert stored["deployed_at"] != "2020-01-01T00:00:00.000000Z"  # the server's time, not the claim
    assert stored["claimed_at"] == "2020-01-01T00:00:00.000000Z"
    assert count(server, "deployments", project) == 1
    listed = server.get("/api/v1/deployments", project=project).json()
    assert [item["id"] for item in listed["items"]] == [stored["id"]]
    assert {commit["sha"]: commit["keys"] for commit in listed["items"][0]["commits"]} == {
        "b" * 40: ["ABC-1"],
        SHA: ["ABC-2", "DEF-3"],
    }
    assert {commit["committed_at"] for commit in listed["items"][0]["commits"]} == {
        "2026-03-01T10:00:00.000000Z",
        "2026-03-02T08:00:00.000000Z",
    }
    # Another status or pipeline is another event; an explicit id is its own identity.
    assert post(server, "/deployments", deployment(project, status="failure")).status_code == 201
    assert post(server, "/deployments", deployment(project, id="rel-1")).status_code == 201
    assert post(server, "/deployments", deployment(project, id="rel-1", pipeline="2")).status_code == 200
    assert count(server, "deployments", project) == 3


def test_an_incident_is_linked_to_the_deployment_that_shipped_its_cause_and_the_one_that_restored(
    server: Server,
) -> None:
    project = unique_project()
    cause = "c" * 40
    shipped = post(server, "/deployments", deployment(project, commit="d" * 40, commits=[
        {"sha": cause, "committed_at": "2026-03-01T10:00:00Z", "keys": []},
    ])).json()  # fmt: skip
    failed = post(server, "/deployments", deployment(project, commit="e" * 40, status="failure", pipeline="2")).json()
    opened = post(server, "/incidents", {"project": project, "environment": "prod", "incident": "INC-1",
                                         "caused_by": cause[:8]})  # fmt: skip
    assert opened.status_code == 201, opened.text
    assert opened.json()["caused_by_deployment"] == shipped["id"]
    again = post(server, "/incidents", {"project": project, "environment": "prod", "incident": "INC-1"})
    assert again.status_code == 200
    assert again.json() == opened.json() | {"created": False}
    restored = post(server, "/deployments", deployment(project, commit="f" * 40, pipeline="3")).json()
    resolved = post(server, "/incidents/resolve", {"project": project, "environment": "prod", "incident": "INC-1"})
    assert resolved.status_code == 200
    assert resolved.json()["changed"] is True
    assert resolved.json()["resolved_by_deployment"] == restored["id"] != failed["id"]
    assert resolved.json()["resolved_at"] >= resolved.json()["opened_at"]
    twice = post(server, "/incidents/resolve", {"project": project, "environment": "prod", "incident": "INC-1"})
    assert twice.json() == resolved.json() | {"changed": False}
    assert count(server, "incidents", project) == 1
    listed = server.get("/api/v1/incidents", project=project, environment="prod").json()
    assert [item["incident"] for item in listed["items"]] == ["INC-1"]
    missing = post(server, "/incidents/resolve", {"project": project, "environment": "prod", "incident": "INC-2"})
    assert missing.status_code == 404


def test_lists_page_oldest_first(server: Server) -> None:
    project = unique_project()
    ids = [post(server, "/deployments", deployment(project, pipeline=str(n))).json()["id"] for n in range(5)]
    first = server.get("/api/v1/deployments", project=project, limit=2).json()
    second = server.get("/api/v1/deployments", project=project, limit=2, after=first["next_after"]).json()
    third = server.get("/api/v1/deployments", project=project, limit=2, after=second["next_after"]).json()
    assert [item["id"] for page in (first, second, third) for item in page["items"]] == ids
    assert third["next_after"] is None
    shipped = server.get("/api/v1/deployments/shipped", token="bank", project=project, environment="prod").json()
    assert shipped == {"commits": [SHA]}
    assert (
        server.get("/api/v1/deployments/shipped", token="other", project=project, environment="prod").status_code == 403
    )


@pytest.mark.parametrize(
    ("token", "status"),
    [("read", 403), ("other", 403), ("expired", 401), ("nonsense", 401), ("bank", 201)],
)
def test_recording_needs_an_upload_token_for_the_project(server: Server, token: str, status: int) -> None:
    project = unique_project("bank")
    response = post(server, "/deployments", deployment(project), token=token)
    assert response.status_code == status, response.text
    incident = post(server, "/incidents", {"project": project, "environment": "prod", "incident": "1"}, token=token)
    assert incident.status_code == status
    assert count(server, "deployments", project) == (1 if status == 201 else 0)


def test_listing_needs_a_read_token(server: Server) -> None:
    assert server.get("/api/v1/deployments", token="nonsense", project="p").status_code == 401
    assert server.get("/api/v1/incidents", token="bank", project="p").status_code == 403


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{", "body is not JSON"),
        (b"[]", "$: must be an object"),
        ({"environment": "prod", "commit": SHA, "status": "success"}, "$.project: required"),
        (deployment("p", commit="HEAD"), "$.commit must be a commit id"),
        (deployment("p", environment="prod\n"), "$.environment must be"),
        (deployment("x\x00y"), "$.project must be one printable line"),
        (deployment("é" * 600), "$.project must be one printable line"),
        (deployment("p", status="ok"), "$.status must be one of success, failure"),
        (deployment("p", url="javascript:alert(1)"), "$.url must be an http(s) URL"),
        (deployment("p", commits=[{"sha": "zz", "committed_at": "2026-01-01T00:00:00Z"}]), "$.commits[0].sha"),
        (deployment("p", commits=[{"sha": SHA, "committed_at": "yesterday"}]), "$.commits[0].committed_at"),
        (deployment("p", commits={"sha": SHA}), "$.commits: must be a list"),
        (deployment("p", surprise=1), "$: unknown field 'surprise'"),
        (deployment("p", claimed_at="2026-01-01T00:00:00"), "has no time zone"),
    ],
)
def test_hostile_deployments_are_422_naming_the_field(server: Server, body: Any, problem: str) -> None:
    response = post(server, "/deployments", body)
    assert response.status_code == 422, response.text
    assert problem in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"project": "p", "environment": "prod", "incident": "has space"},
        {"project": "p", "environment": "prod", "incident": "1", "caused_by": "--all"},
        {"project": "p", "environment": "prod", "incident": 1},
        {"project": "p", "environment": "prod"},
        {"project": "p", "environment": "prod", "incident": "1", "extra": "x"},
    ],
)
def test_hostile_incidents_are_422(server: Server, body: dict[str, Any]) -> None:
    assert post(server, "/incidents", body).status_code == 422
    assert post(server, "/incidents/resolve", body).status_code == 422


def test_a_deployment_naming_a_verdict_the_server_does_not_hold_is_422(
    server: Server, make_verdict: Any, tmp_path: Path
) -> None:
    """The API answers 422 with the field in `path` (never a 500) and stores nothing; `deploy record
    --upload` names its own option, the id and the server; the project's verdict is taken."""
    project = unique_project()
    elsewhere = make_verdict(project=unique_project(), branch="main")
    assert server.put(elsewhere).status_code == 201
    for verdict_id in ("0a1b2c3d-4e5f", elsewhere["id"]):
        response = post(server, "/deployments", deployment(project, verdict_id=verdict_id))
        assert response.status_code == 422, response.text
        assert response.json() == {
            "detail": f"$.verdict_id: no verdict {verdict_id!r} of project {project!r} is stored here",
            "path": "verdict_id",
        }
    assert count(server, "deployments", project) == 0
    refused = gatekeeper(
        tmp_path, "deploy", "record", "--environment", "prod", "--project", project, "--commit", SHA,
        "--status", "success", "--no-commits", "--verdict", "0a1b2c3d-4e5f", "--upload", server.url,
        token=server.tokens["bank"],
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr == (
        f"gatekeeper: error: deploy record: --verdict 0a1b2c3d-4e5f: no verdict with this id of project {project} "
        f"is in {server.url}; nothing recorded (give the full id `check` recorded there: a prefix is not enough)\n"
    )
    assert count(server, "deployments", project) == 0
    own = make_verdict(project=project, branch="main")
    assert server.put(own).status_code == 201
    accepted = post(server, "/deployments", deployment(project, verdict_id=own["id"]))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["verdict_id"] == own["id"]


def test_an_oversized_deployment_is_413(server: Server) -> None:
    response = post(server, "/deployments", b" " * (4 * 1024 * 1024 + 1))
    assert response.status_code == 413


# -- the CLI against the server ----------------------------------------------------------------------


def gatekeeper(cwd: Path, *arguments: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    outside = ("GATEKEEPER_", "CI_", "GITLAB", "GITHUB_", "JENKINS")
    env = {key: value for key, value in os.environ.items() if not key.startswith(outside)}
    if token is not None:
        env["GATEKEEPER_TOKEN"] = token
    return subprocess.run([GATEKEEPER, *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_deploy_record_and_incidents_through_upload(server: Server, tmp_path: Path) -> None:
    project = unique_project()
    repo = Repo.init(tmp_path / "repo")
    first = repo.commit("ABC-1 one", a="1")
    second = repo.commit("ABC-2 two", b="2")
    token = server.tokens["bank"]
    base = ["--environment", "prod", "--project", project, "--upload", server.url]
    recorded = gatekeeper(repo.root, "deploy", "record", *base, "--commit", first, "--status", "success",
                          "--pipeline", "1", token=token)  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    assert recorded.stdout.startswith("recorded deployment ")
    assert "1 commit (1 issue key: ABC-1)" in recorded.stdout
    again = gatekeeper(repo.root, "deploy", "record", *base, "--commit", first, "--status", "success",
                       "--pipeline", "1", token=token)  # fmt: skip
    assert again.returncode == 0
    assert again.stdout.startswith("already recorded deployment ")
    # The next deployment ships the commits since the previous one, found on the server.
    nxt = gatekeeper(repo.root, "deploy", "record", *base, "--commit", second[:10], "--status", "success",
                     "--pipeline", "2", "--format", "json", token=token)  # fmt: skip
    assert nxt.returncode == 0, nxt.stderr
    document = json.loads(nxt.stdout)
    assert document["commit"] == second  # the full id from the repository
    assert [commit["sha"] for commit in document["commits"]] == [second]
    assert count(server, "deployments", project) == 2
    opened = gatekeeper(repo.root, "incident", "open", "INC-5", *base, "--caused-by", second, token=token)
    assert opened.returncode == 0, opened.stderr
    assert f"shipped by deployment {document['id'][:12]}" in opened.stdout
    resolved = gatekeeper(repo.root, "incident", "resolve", "INC-5", *base, token=token)
    assert resolved.returncode == 0 and resolved.stdout.startswith("resolved incident INC-5")
    never = gatekeeper(repo.root, "incident", "resolve", "INC-6", *base, token=token)
    assert never.returncode == 2
    assert (
        never.stderr.strip()
        == f"gatekeeper: error: incident resolve: incident INC-6 was never opened in {project} prod ({server.url})"
    )
    refused = gatekeeper(repo.root, "deploy", "record", *base, "--commit", first, "--status", "failure",
                         token=server.tokens["read"])  # fmt: skip
    assert refused.returncode == 2
    assert "403" in refused.stderr and "Traceback" not in refused.stderr


def test_an_unreachable_server_is_exit_4(tmp_path: Path) -> None:
    """Exit 4 as before, with or without a --verdict: only the server can tell whether it holds that verdict."""
    result = gatekeeper(
        tmp_path, "deploy", "record", "--environment", "prod", "--project", "p", "--commit", SHA,
        "--status", "success", "--no-commits", "--verdict", "0a1b2c3d-4e5f", "--upload",
        f"http://127.0.0.1:{free_port()}",
    )  # fmt: skip
    assert result.returncode == 4
    assert result.stderr.startswith("gatekeeper: error: verdict store http://127.0.0.1:")
    assert "cannot reach the store server" in result.stderr and "Traceback" not in result.stderr


def test_the_same_deployment_arriving_at_once_is_stored_once(server: Server) -> None:
    """Eight deliveries of one webhook at the same moment: the database decides, one is new, seven the same."""
    from concurrent.futures import ThreadPoolExecutor

    project = unique_project()
    body = deployment(project, commits=[{"sha": SHA, "committed_at": "2026-03-01T10:00:00Z", "keys": ["ABC-1"]}])
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: post(server, "/deployments", body), range(8)))
    assert sorted(response.status_code for response in responses) == [200] * 7 + [201]
    assert len({response.json()["id"] for response in responses}) == 1
    assert count(server, "deployments", project) == 1
    with ThreadPoolExecutor(8) as pool:
        opened = list(
            pool.map(
                lambda _: post(server, "/incidents", {"project": project, "environment": "prod", "incident": "X-1"}),
                range(8),
            )
        )
    assert sorted(response.status_code for response in opened) == [200] * 7 + [201]
    assert count(server, "incidents", project) == 1
