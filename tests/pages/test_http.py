"""The pages over plain HTTP: what a browser test cannot easily see (headers, redirects, refusals)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import requests

from gatekeeper.model import Decision
from gatekeeper.policy import Operator
from gatekeeper.server.web import present
from gatekeeper.verdict import parse
from tests.outputs.cases import CASES
from tests.pages.conftest import Seeded, _put


def session(seeded: Seeded, token: str | None = None) -> requests.Session:
    client = requests.Session()
    client.trust_env = False
    if token is not None:
        client.cookies.set("gatekeeper_session", token, domain="127.0.0.1", path="/")
    return client


def test_pages_send_a_strict_content_security_policy(seeded: Seeded) -> None:
    with session(seeded, seeded.read_token) as client:
        response = client.get(f"{seeded.url}/", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in response.text


def test_sign_in_redirects_only_to_this_site(seeded: Seeded) -> None:
    with session(seeded) as client:
        for target, expected in (("//evil.example/x", "/"), ("https://evil.example/", "/"), ("/releases", "/releases")):
            response = client.post(
                f"{seeded.url}/login",
                data={"token": seeded.read_token, "next": target},
                allow_redirects=False,
                timeout=30,
            )
            assert response.status_code == 303
            assert response.headers["location"] == expected


def test_wrong_tokens_are_refused_with_401_and_no_cookie(seeded: Seeded) -> None:
    with session(seeded) as client:
        for token in ("", "gk_123456789abc_wrong", seeded.upload_token):
            response = client.post(f"{seeded.url}/login", data={"token": token}, allow_redirects=False, timeout=30)
            assert response.status_code == 401
            assert "set-cookie" not in response.headers
    # a cookie with an upload token opens no page either
    with session(seeded, seeded.upload_token) as client:
        response = client.get(f"{seeded.url}/releases", allow_redirects=False, timeout=30)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Freleases"


def test_unknown_things_are_404_pages_and_bad_links_400(seeded: Seeded) -> None:
    with session(seeded, seeded.read_token) as client:
        assert client.get(f"{seeded.url}/verdicts/no-such-id", timeout=30).status_code == 404
        assert client.get(f"{seeded.url}/project", params={"name": "no/such"}, timeout=30).status_code == 404
        assert client.get(f"{seeded.url}/releases/no-such-release", timeout=30).status_code == 404
        bad = client.get(f"{seeded.url}/project", params={"name": "bank/ledger", "cursor": "garbage"}, timeout=30)
        assert bad.status_code == 400 and "not one we made" in bad.text


def test_a_verdict_cannot_smuggle_markup_or_script_links(seeded: Seeded) -> None:
    verdict = copy.deepcopy(seeded.feature)
    verdict["id"] = str(uuid.uuid4())
    # an old verdict of a project that has a newer one, so the other tests' pages do not change
    verdict["created_at"] = (datetime.now(timezone.utc) - timedelta(days=300)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    verdict["context"].update(project="team-54/service", job="<img src=x onerror=alert(1)>", url="javascript:alert(1)")
    verdict["reason"] = "<script>alert(1)</script>"
    _put(seeded.server, seeded.upload_token, verdict)
    with session(seeded, seeded.read_token) as client:
        page = client.get(f"{seeded.url}/verdicts/{verdict['id']}", timeout=30).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert 'href="javascript:' not in page and "(not a web link)" in page


def test_presentation_helpers() -> None:
    assert present.link("https://ci.example/job/1") == "https://ci.example/job/1"
    assert present.link("javascript:alert(1)") is None and present.link("//x") is None and present.link(None) is None
    today = date(2026, 11, 25)
    assert present.waiver_expiry("2026-12-05", today).text == "expires in 10 d"
    assert present.waiver_expiry("2026-12-05", today).soon
    assert not present.waiver_expiry("2027-06-30", today).soon
    assert present.waiver_expiry("2026-11-20", today).text == "expired 5 d ago"
    assert present.waiver_expiry(None, today).text == "no expiry"
    gate = parse(CASES["failing"](), "case").gates[0]
    assert present.threshold(replace(gate, operator=Operator.AT_LEAST, threshold=80.0)) == "≥ 80"
    assert present.threshold(replace(gate, operator=Operator.MAX_DECREASE, threshold=1)) == "falls at most 1"
    assert present.threshold(replace(gate, operator=Operator.ALL, threshold=None)) == "all of its conditions"
    assert present.threshold(replace(gate, operator=None, threshold=None)) == "—"
    assert present.shown(Decision.PASS) == "pass" and present.shown(3) == 3
    assert present.number(83.756) == "83.8" and present.number(1234) == "1,234" and present.number(None) == "—"
