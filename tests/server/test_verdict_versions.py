"""The store server takes verdicts of both schema versions on upload (issue 14, item 2): v2 as `check`
writes it today, and v1 as the release before wrote it (tests/data/verdicts/v1), each stored and given
back as uploaded; a document that mixes them (a v1 gate with a condition, a v2 gate without) is 422."""

from __future__ import annotations

import copy
import html
import json
import uuid
from typing import Any

import requests

from tests.conftest import REPO
from tests.server.conftest import Server, on_day

V1 = REPO / "tests" / "data" / "verdicts" / "v1"


def _v1(name: str) -> dict[str, Any]:
    verdict: dict[str, Any] = json.loads((V1 / name / "verdict.json").read_text(encoding="utf-8"))
    return verdict | {"id": str(uuid.uuid4()), "created_at": on_day(5)}


def test_a_v1_and_a_v2_verdict_are_both_stored_as_uploaded(server: Server, make_verdict: Any) -> None:
    v2 = make_verdict(kind="failing", project="versions", branch="main")
    assert v2["schema"] == "gatekeeper.verdict/v2"
    assert all("condition" in gate and "if_absent" in gate for gate in v2["gates"])
    pages = requests.Session()
    pages.cookies.set("gatekeeper_session", server.tokens["read"], domain="127.0.0.1", path="/")
    for verdict in (_v1("example-failing"), _v1("ratchet-fell-too-far"), v2):
        response = server.put(verdict)
        assert response.status_code == 201, response.text
        stored = server.get(f"/api/v1/verdicts/{verdict['id']}")
        assert (stored.status_code, stored.json()) == (200, verdict)
        page = pages.get(f"{server.url}/verdicts/{verdict['id']}", timeout=30)  # the page reads both
        assert page.status_code == 200, page.text
        assert all(html.escape(gate["id"]) in page.text for gate in verdict["gates"])


def test_a_verdict_that_mixes_the_versions_is_refused(server: Server, make_verdict: Any) -> None:
    v1_with_condition = _v1("coverage-below-min")
    v1_with_condition["gates"][0]["condition"] = {"metric": "coverage.lines.percent", "min": 80}
    v2_without = make_verdict(kind="passing")
    del v2_without["gates"][0]["condition"]
    v2_bad_condition = copy.deepcopy(make_verdict(kind="passing"))
    v2_bad_condition["gates"][0]["condition"] = {"metric": "tests.total", "min": 1, "equals": 3}
    for verdict in (v1_with_condition, v2_without, v2_bad_condition):
        response = server.put(verdict)
        assert response.status_code == 422, response.text
        assert server.get(f"/api/v1/verdicts/{verdict['id']}").status_code == 404
