"""Issue 13, item 1: a forged `created_at` unblocks a release.  Against a real `gatekeeper serve` on
SQLite and on PostgreSQL, with an upload token for `bank/*` as the attacker holds one.

The server orders by its own `received_at`; `created_at` must be RFC 3339 within a window of the
server's clock (`db.MAX_CLAIM_AGE` behind, `db.MAX_CLAIM_AHEAD` ahead), else 422 naming `$.created_at`.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from gatekeeper.server import db
from tests.server.conftest import Server, unique_project
from tests.verdicts import GATEKEEPER


def gatekeeper(*args: str, cwd: Path, token: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")}
    environment["GATEKEEPER_TOKEN"] = token
    return subprocess.run(
        [GATEKEEPER, *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=120, check=False
    )


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z"  # the form a client sends; %Y: these years have 4 digits


def release_check(server: Server, tmp_path: Path, project: str, commit: str) -> tuple[int, dict[str, Any]]:
    release = tmp_path / f"release-{secrets.token_hex(3)}.yaml"
    release.write_text(f"name: r-{secrets.token_hex(4)}\nmembers:\n  - {{project: {project}, commit: {commit}}}\n")
    result = gatekeeper(
        "release", "check", "--file", str(release), "--server", server.url, "--format", "json",
        cwd=tmp_path, token=server.tokens["read"],
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.mark.parametrize(
    ("forged", "why"),
    [
        ("0999-01-01T00:00:00Z", "days before the server's clock"),  # unpadded '999-…' sorted after '2026-…'
        ("9999-12-31T23:59:59Z", "ahead of the server's clock"),  # sorted after every real verdict
    ],
)
def test_a_forged_created_at_is_refused_and_cannot_unblock_a_release(
    server: Server, make_verdict: Any, tmp_path: Path, forged: str, why: str
) -> None:
    project, commit = unique_project(), secrets.token_hex(20)
    real = make_verdict("failing", project=project, commit=commit)
    assert server.put(real, token="bank").status_code == 201
    assert release_check(server, tmp_path, project, commit)[0] == 1

    answer = server.put(make_verdict("passing", project=project, commit=commit, created_at=forged), token="bank")
    assert answer.status_code == 422, answer.text
    assert answer.json()["path"] == "$.created_at"
    assert forged in answer.json()["detail"] and why in answer.json()["detail"]
    code, readiness = release_check(server, tmp_path, project, commit)
    assert (code, readiness["ready"], readiness["members"][0]["verdict_id"]) == (1, False, real["id"])

    # Inside the window a claim of a later time still does not outrank a verdict received after it:
    # the pipeline's rerun fails again, and that failure is the member's latest verdict.
    claim = rfc3339(datetime.now(timezone.utc) + db.MAX_CLAIM_AHEAD - timedelta(hours=1))
    early = make_verdict("passing", project=project, commit=commit, created_at=claim)
    assert server.put(early, token="bank").status_code == 201
    rerun = make_verdict("failing", project=project, commit=commit)
    assert server.put(rerun, token="bank").status_code == 201
    code, readiness = release_check(server, tmp_path, project, commit)
    assert (code, readiness["ready"], readiness["members"][0]["verdict_id"]) == (1, False, rerun["id"])
    latest = server.get("/api/v1/latest", project=project).json()["items"]
    assert [item["id"] for item in latest] == [rerun["id"]]
    listed = server.get("/api/v1/verdicts", project=project).json()["items"]
    assert [item["id"] for item in listed] == [rerun["id"], early["id"], real["id"]]  # as received
    assert listed[1]["created_at"] > listed[0]["received_at"]  # the claim, shown as such


@pytest.mark.parametrize(
    "created_at",
    [
        "2026-12-07T10:00:00",  # no zone
        "2026-12-07 10:00:00Z",  # a space, not T (RFC 3339 allows it only by agreement)
        "2026-12-07T10:00Z",  # no seconds
        "20261207T100000Z",  # ISO 8601 basic form
        "2026-02-30T10:00:00Z",  # no such day
    ],
)
def test_created_at_must_be_rfc_3339(server: Server, make_verdict: Any, created_at: str) -> None:
    answer = server.put(make_verdict(project=unique_project(), created_at=created_at), token="bank")
    assert answer.status_code == 422, answer.text
    assert answer.json()["path"] in ("$.created_at", "$")  # the schema's format check may see it first
    assert "created_at" in answer.text


def test_pages_and_report_show_verdicts_claiming_the_edges_of_the_window(
    server: Server, make_verdict: Any, tmp_path: Path
) -> None:
    """The overview and project pages answered 500, and `report` exited 3, for every reader once one
    verdict dated 0999 was stored; verdicts at either edge of the window render everywhere."""
    project = unique_project()
    now = datetime.now(timezone.utc)
    oldest = make_verdict(project=project, created_at=rfc3339(now - db.MAX_CLAIM_AGE + timedelta(minutes=10)))
    newest = make_verdict(
        "failing", project=project, created_at=rfc3339(now + db.MAX_CLAIM_AHEAD - timedelta(minutes=10))
    )
    fraction = make_verdict(project=project, created_at=rfc3339(now)[:-1] + ".123456789+05:30")
    for verdict in (oldest, newest, fraction):
        assert server.put(verdict, token="bank").status_code == 201, verdict["created_at"]
    assert server.put(make_verdict(project=project, created_at="0999-01-01T00:00:00Z"), token="bank").status_code == 422

    with requests.Session() as pages:
        pages.cookies.set("gatekeeper_session", server.tokens["read"], domain="127.0.0.1", path="/")
        for path, params in (("/", {"project": project}), ("/project", {"name": project})):
            page = pages.get(f"{server.url}{path}", params=params, timeout=30, allow_redirects=False)
            assert page.status_code == 200, page.text[-2000:]
            assert project in page.text
        listing = pages.get(f"{server.url}/project", params={"name": project}, timeout=30).text
        assert all(f"/verdicts/{verdict['id']}" in listing for verdict in (oldest, newest, fraction))
        # The verdict page shows both times in UTC: the claim (given at +05:30) and this server's receipt.
        page = pages.get(f"{server.url}/verdicts/{fraction['id']}", timeout=30).text
        claimed = (now.replace(microsecond=0) - timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
        assert f'{claimed} UTC</time> <span class="muted">(as the uploader says)' in page
        assert (
            f'<time datetime="{now:%Y-%m-%d}T' in page
            and 'UTC</time> <span class="muted">(this server\'s clock)' in page
        )
    report = gatekeeper(
        "report", "--project", project, "--server", server.url, "--since", f"{db.MAX_CLAIM_AGE.days + 1}d",
        "--format", "markdown", cwd=tmp_path, token=server.tokens["read"],
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert "3 verdicts from" in report.stdout and "Latest verdict: **PASS**" in report.stdout  # received last
