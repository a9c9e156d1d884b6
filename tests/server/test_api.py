"""The API contract on both databases: idempotent upload, conflicts, queries, latest, history, /metrics."""

from __future__ import annotations

import json
import secrets
from typing import Any

import requests

from tests.server.conftest import Server, on_day, unique_project


def test_put_twice_stores_once(server: Server, make_verdict: Any) -> None:
    verdict = make_verdict(project=unique_project(), branch="main")
    before = server.rows()
    first = server.put(verdict)
    again = server.put(verdict)
    assert (first.status_code, first.json()) == (201, {"id": verdict["id"], "created": True})
    assert (again.status_code, again.json()) == (200, {"id": verdict["id"], "created": False})
    # The same document spelled differently (key order, whitespace) is the same verdict.
    reordered = json.dumps(dict(reversed(list(verdict.items()))), indent=2)
    spelled = requests.put(
        f"{server.url}/api/v1/verdicts/{verdict['id']}", data=reordered, headers=server.headers("admin"), timeout=30
    )
    assert spelled.status_code == 200
    assert server.rows() == before + 1


def test_different_body_under_same_id_is_a_conflict(server: Server, make_verdict: Any) -> None:
    verdict = make_verdict(project=unique_project(), branch="main")
    assert server.put(verdict).status_code == 201
    before = server.rows(), server.rows("verdict_metrics")
    changed = {**verdict, "reason": "something else"}
    assert server.put(changed).status_code == 409
    assert (server.rows(), server.rows("verdict_metrics")) == before
    stored = server.get(f"/api/v1/verdicts/{verdict['id']}")
    assert stored.status_code == 200
    assert stored.json() == verdict


def test_get_unknown_is_404(server: Server) -> None:
    assert server.get("/api/v1/verdicts/no-such-verdict-1").status_code == 404


def test_queries_filter_and_paginate(server: Server, make_verdict: Any) -> None:
    project = unique_project()
    uploaded = []
    for day in range(1, 8):
        kind = "failing" if day % 3 == 0 else "passing"
        verdict = make_verdict(
            kind,
            created_at=on_day(day),
            project=project,
            branch="main" if day % 2 else "dev",
            commit=f"c{day}",
            pipeline=str(100 + day),
        )
        assert server.put(verdict).status_code == 201
        uploaded.append(verdict)
    newest_first = [v["id"] for v in reversed(uploaded)]

    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"project": project, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = server.get("/api/v1/verdicts", **params).json()
        pages.append([item["id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == newest_first

    def ids(**filters: Any) -> list[str]:
        response = server.get("/api/v1/verdicts", project=project, **filters)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    by_day = {day: v["id"] for day, v in enumerate(uploaded, start=1)}
    assert ids(branch="dev") == [by_day[6], by_day[4], by_day[2]]
    assert ids(status="fail") == [by_day[6], by_day[3]]
    assert ids(commit="c5") == [by_day[5]]
    assert ids(pipeline="104") == [by_day[4]]
    assert ids(since=on_day(6, "")) == [by_day[7], by_day[6]]
    assert ids(until=on_day(2, "")) == [by_day[1]]
    assert ids(since=on_day(3, "T00:00:00+00:00"), until=on_day(4, "T23:00:00Z")) == [by_day[4], by_day[3]]
    summary = server.get("/api/v1/verdicts", project=project, limit=1).json()["items"][0]
    assert summary == {
        "id": by_day[7],
        "created_at": on_day(7, "T10:00:00.000000Z"),
        "status": "pass",
        "project": project,
        "branch": "main",
        "commit": "c7",
        "pipeline": "107",
        "policy_name": "caict-cd-level-3",
        "level_achieved": summary["level_achieved"],
        "received_at": summary["received_at"],  # the server's clock, at the upload
    }
    assert len(summary["received_at"]) == 27 and summary["received_at"] > summary["created_at"]
    assert server.get("/api/v1/verdicts", since="yesterday").status_code == 422
    assert server.get("/api/v1/verdicts", cursor="bm90IGEgY3Vyc29y").status_code == 422
    assert server.get("/api/v1/verdicts", limit=501).status_code == 422


def test_id_prefix_lists_the_ids_that_start_with_it(server: Server, make_verdict: Any) -> None:
    stem = f"p{secrets.token_hex(4)}-"
    suffixes = ["z9", "z9-x", "z9a", "zA", "Z9", "y"]
    for day, suffix in enumerate(suffixes, start=1):
        verdict = make_verdict(created_at=on_day(day), project=unique_project())
        verdict["id"] = stem + suffix
        assert server.put(verdict).status_code == 201

    def ids(prefix: str, **params: Any) -> list[str]:
        response = server.get("/api/v1/verdicts", id_prefix=stem + prefix, **params)
        assert response.status_code == 200, response.text
        return [item["id"].removeprefix(stem) for item in response.json()["items"]]

    # Newest first, as every list; case and the character after the prefix ('9' + 1 is ':') matter.
    assert ids("z9") == ["z9a", "z9-x", "z9"]
    assert ids("z") == ["zA", "z9a", "z9-x", "z9"]
    assert ids("Z") == ["Z9"]
    assert ids("z9-x") == ["z9-x"]
    assert ids("x") == []
    assert ids("") == ["y", "Z9", "zA", "z9a", "z9-x", "z9"]
    first = server.get("/api/v1/verdicts", id_prefix=stem + "z", limit=3).json()
    rest = server.get("/api/v1/verdicts", id_prefix=stem + "z", cursor=first["next_cursor"]).json()
    assert [item["id"] for item in first["items"] + rest["items"]] == [stem + s for s in ("zA", "z9a", "z9-x", "z9")]
    assert server.get("/api/v1/verdicts", id_prefix="a" * 65).status_code == 422


def test_latest_per_project_and_branch(server: Server, make_verdict: Any) -> None:
    project = unique_project()
    older = make_verdict(created_at=on_day(2, "T00:00:00Z"), project=project, branch="main")
    newer = make_verdict("failing", created_at=on_day(3, "T00:00:00Z"), project=project, branch="main")
    dev = make_verdict(created_at=on_day(1, "T00:00:00Z"), project=project, branch="dev")
    for verdict in (newer, older, dev):  # arrival decides (issue 13): created_at is the client's claim
        assert server.put(verdict).status_code == 201
    items = server.get("/api/v1/latest", project=project).json()["items"]
    assert {(i["branch"], i["id"]) for i in items} == {("main", older["id"]), ("dev", dev["id"])}
    only_main = server.get("/api/v1/latest", project=project, branch="main").json()["items"]
    assert [i["id"] for i in only_main] == [older["id"]]


def test_metric_history_oldest_first(server: Server, make_verdict: Any) -> None:
    project = unique_project()
    verdicts = [
        make_verdict(
            "failing" if n == 1 else "passing", created_at=on_day(n, "T00:00:00Z"), project=project, branch="main"
        )
        for n in (1, 2, 3)
    ]
    for verdict in verdicts:  # in the order received, which is the history's order
        assert server.put(verdict).status_code == 201
    history = server.get("/api/v1/metrics/history", project=project, branch="main", metric="tests.total").json()
    assert [p["verdict_id"] for p in history["items"]] == [v["id"] for v in verdicts]
    assert [p["value"] for p in history["items"]] == [v["metrics"]["tests.total"] for v in verdicts]
    newest_two = server.get("/api/v1/metrics/history", project=project, metric="tests.total", limit=2).json()
    assert [p["verdict_id"] for p in newest_two["items"]] == [v["id"] for v in verdicts[1:]]
    since = server.get("/api/v1/metrics/history", project=project, metric="tests.total", since=on_day(3, ""))
    assert [p["verdict_id"] for p in since.json()["items"]] == [verdicts[2]["id"]]


def test_prometheus_metrics_after_uploads(server: Server, make_verdict: Any) -> None:
    project = unique_project()
    failing = make_verdict("failing", created_at=on_day(2, "T00:00:00Z"), project=project, branch="main")
    passing = make_verdict("passing", created_at=on_day(1, "T00:00:00Z"), project=project, branch="main")
    assert server.put(passing).status_code == 201
    assert server.put(failing).status_code == 201  # received last: its values are the latest
    assert server.put(passing).status_code == 200  # a repeat is not counted again, nor the latest again
    text = server.get("/metrics").text
    assert f'gatekeeper_verdicts_total{{project="{project}",status="fail"}} 1.0' in text
    assert f'gatekeeper_verdicts_total{{project="{project}",status="pass"}} 1.0' in text
    assert 'gatekeeper_gate_failures_total{gate="tests-all-pass"}' in text
    tests_total = failing["metrics"]["tests.total"]
    assert (
        f'gatekeeper_metric_value{{branch="main",metric="tests.total",project="{project}"}} {float(tests_total)}'
    ) in text
    assert "gatekeeper_request_duration_seconds_bucket{" in text
    assert 'route="/api/v1/verdicts/{verdict_id}"' in text


def test_health_and_openapi(server: Server) -> None:
    assert server.get("/healthz").json() == {"status": "ok"}
    assert server.get("/readyz").json() == {"status": "ready"}
    document = server.get("/api/v1/openapi.json").json()
    assert "/api/v1/verdicts/{verdict_id}" in document["paths"]
    assert "put" in document["paths"]["/api/v1/verdicts/{verdict_id}"]


def test_concurrent_puts_of_one_id_store_it_once(server: Server, make_verdict: Any) -> None:
    """Retries racing each other: the database, not a read-then-write, decides who stores it."""
    from concurrent.futures import ThreadPoolExecutor

    verdicts = [make_verdict(project=unique_project(), branch="main") for _ in range(4)]
    before = server.rows()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda n: server.put(verdicts[n % 4]).status_code, range(32)))
    assert sorted(statuses) == [200] * 28 + [201] * 4
    assert server.rows() == before + 4
