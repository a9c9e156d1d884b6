"""What the pages answer to what is not theirs to show: bad query parameters get the site's own HTML error
page (the JSON API keeps its JSON errors), a project with no deployments an empty delivery page, and
names stored with control characters never reach the HTML raw."""

from __future__ import annotations

import copy
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from gatekeeper.server.web import present
from tests.pages.conftest import Seeded, _put, screenshot, sign_in
from tests.pages.test_browser import check_structure

#: What no HTML page may carry raw (https://html.spec.whatwg.org/#preprocessing-the-input-stream): C0 controls
#: but tab, newline and carriage return, DEL, C1 controls, lone surrogates, noncharacters.
NOT_HTML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


def get(seeded: Seeded, path: str, *, signed_in: bool = True) -> requests.Response:
    cookies = {"gatekeeper_session": seeded.read_token} if signed_in else {}
    return requests.get(f"{seeded.url}{path}", cookies=cookies, allow_redirects=False, timeout=30)


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/project/tests?name=bank/ledger&days=999", "days: must be at most 90"),
        ("/project/tests?name=bank/ledger&days=abc", "days: must be a whole number"),
        ("/project?name=%00", "name: must not hold a NUL character"),
        ("/project", "name: is missing"),
        ("/delivery?project=x&days=abc", "days: must be a whole number"),
        ("/delivery?project=bank/ledger&days=0", "days: must be at least 1"),
        ("/?page=0", "page: must be at least 1"),
        ("/releases?page=x", "page: must be a whole number"),
        (f"/project?name={'x' * 1001}", "name: must be at most 1000 characters"),
    ],
)
def test_bad_query_parameters_get_an_html_error_page(seeded: Seeded, path: str, said: str) -> None:
    response = get(seeded, path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<h1>Bad link</h1>" in response.text and "Back to the overview" in response.text
    assert said in response.text, response.text
    assert "Sign out" in response.text  # signed in: the site's navigation


def test_a_bad_query_parameter_is_escaped_on_the_page_and_needs_no_sign_in_to_be_refused(seeded: Seeded) -> None:
    response = get(seeded, "/login?next=%3Cscript%3E%00", signed_in=False)
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    assert "next: must not hold a NUL character" in response.text
    assert "<script>" not in response.text and "Sign out" not in response.text
    response = get(seeded, "/project?name=%00", signed_in=False)  # never a redirect to /login and back
    assert response.status_code == 422 and "Sign out" not in response.text


def test_the_json_api_keeps_its_json_errors(seeded: Seeded) -> None:
    response = requests.get(
        f"{seeded.url}/api/v1/verdicts?limit=abc",
        headers={"Authorization": f"Bearer {seeded.read_token}"},
        timeout=30,
    )
    assert response.status_code == 422 and response.headers["content-type"].startswith("application/")
    assert response.json()


def test_the_error_page_in_a_browser(seeded: Seeded, page: Any) -> None:
    sign_in(page, seeded, "/releases")
    page.goto(f"{seeded.url}/project/tests?name=bank/ledger&days=999")
    check_structure(page)
    assert page.locator("h1").inner_text() == "Bad link"
    assert "days: must be at most 90" in page.locator("main").inner_text()
    screenshot(page, "bad-link")


def test_a_project_with_verdicts_and_no_deployments_has_an_empty_delivery_page(seeded: Seeded, page: Any) -> None:
    response = get(seeded, "/delivery?project=bank/ledger")
    assert response.status_code == 200, response.text
    assert get(seeded, "/delivery?project=bank/ledger&environment=prod").status_code == 200
    assert get(seeded, "/delivery?project=no/such").status_code == 404  # neither verdicts nor deployments
    sign_in(page, seeded, "/delivery?project=bank/ledger")
    check_structure(page)
    assert page.locator("h1").inner_text() == "Delivery of bank/ledger"
    said = page.locator("main").inner_text()
    assert "No deployments of bank/ledger are recorded yet." in said
    assert "gatekeeper deploy record" in said
    assert page.get_by_role("link", name="verdicts of bank/ledger").count() == 1


def test_control_characters_in_stored_names_never_reach_the_html(seeded: Seeded) -> None:
    verdict = copy.deepcopy(seeded.feature)
    verdict["id"] = str(uuid.uuid4())
    # an old verdict of a project that has a newer one, so the other tests' pages do not change
    verdict["created_at"] = (datetime.now(timezone.utc) - timedelta(days=301)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    verdict["context"].update(project="team-53/service", job="build\x1b[31m red\x07", branch="main\x85\x9b")
    verdict["reason"] = (
        "tab\tand newline\nkept, \x00\x08\x0b\x0c\x1f\x7f\uffff not"  # (a lone surrogate is refused on upload)
    )
    _put(seeded.server, seeded.upload_token, verdict)
    for path in (
        f"/verdicts/{verdict['id']}",
        "/project?name=team-53/service",
        "/project?name=team-53/service&branch=main%C2%85%C2%9B",
    ):
        response = get(seeded, path)
        assert response.status_code == 200, (path, response.text)
        assert not NOT_HTML.search(response.text), (path, NOT_HTML.findall(response.text))
    page = get(seeded, f"/verdicts/{verdict['id']}").text
    assert "build\\x1b[31m red\\x07" in page  # shown escaped, so a reader sees the name held them


def test_the_page_text_helper() -> None:
    assert present.shown("ok\tand\nkept\r") == "ok\tand\nkept\r"
    assert present.shown("\x1b[1m\x07\x85\x7f") == "\\x1b[1m\\x07\\x85\\x7f"
    assert present.shown("lone \ud800 and \uffff") == "lone \ufffd and \ufffd"
    assert present.shown("名前\u00a0ok\u202e") == "名前\u00a0ok\u202e"  # valid in HTML: kept
    assert present.shown(3) == 3 and present.shown(None) is None
