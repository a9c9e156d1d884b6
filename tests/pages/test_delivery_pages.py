"""The delivery pages in real headless Chromium against a real `gatekeeper serve`: the hand-counted history
of tests/test_dora.py, moved so that its window ends 5 days ago, read through a 20-day window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from gatekeeper.store.codec import utc_text
from tests import test_dora as history
from tests.pages.conftest import screenshot
from tests.pages.test_browser import check_structure, rows
from tests.server.conftest import Server, start_server
from tests.test_dora_stores import fill

PROJECT = history.P


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    import subprocess

    from gatekeeper.server import db
    from tests.verdicts import GATEKEEPER

    tmp = tmp_path_factory.mktemp("delivery-pages")
    db_url = f"sqlite:///{tmp / 'server.db'}"
    engine = db.open_database(db_url)
    # SINCE moves to 20 days ago: the 20-day window holds D1-D5 and the incidents, not D0.
    shift = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=20) - history.SINCE
    fill(engine, shift)
    # D4 also lists a commit dated 2 hours after D4 (a clock ahead): left out of the lead time, said so.
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO deployment_commits (deployment_id, sha, committed_at, keys) VALUES ('D4', :sha, :at, '')"
            ),
            {"sha": "f1" * 20, "at": utc_text(history.D4.deployed_at + shift + timedelta(hours=2))},
        )
    engine.dispose()
    token = subprocess.run(
        [GATEKEEPER, "tokens", "create", "--scope", "read", "--db", db_url],
        capture_output=True,
        text=True,
        cwd=tmp,
        check=True,
        timeout=60,
    ).stdout.split()[-1]
    server = start_server(db_url, tmp)
    try:
        yield server, token
    finally:
        server.stop()


def sign_in(page: Any, url: str, token: str, path: str) -> None:
    page.goto(f"{url}{path}")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_the_four_keys_page(served: tuple[Server, str], page: Any) -> None:
    server, token = served
    sign_in(page, server.url, token, f"/delivery?project={PROJECT}&days=20")
    assert page.locator("h1").inner_text() == f"Delivery of {PROJECT} to prod"
    check_structure(page)
    keys = {row[0]: row[1:] for row in rows(page, "keys")}
    assert keys["Change failure rate"][0] == "60%"
    assert keys["Change failure rate"][2] == "1 failed + 2 that caused an incident, of 5 deployments"
    assert keys["Change failure rate"][1] == "low (46-100%)"
    assert keys["Lead time for changes"][0] == "median 12.5 h, p90 24.0 h"  # as without D4's commit of later
    assert keys["Lead time for changes"][2] == (
        "6 changes (commit to its first successful deployment); 1 commit dated after its deployment left out"
    )
    assert keys["Lead time for changes"][1] == "elite (One day)"
    assert keys["Time to restore"][0] == "median 13.0 h"
    assert keys["Time to restore"][2] == "2 of 3 incidents restored, 1 open"
    assert keys["Deployment frequency"][2] == "4 successful deployments"
    assert page.locator("#bucket").inner_text().startswith("Four Keys bucket: low")
    assert page.locator("#ungated").inner_text() == "2 of 5 deployments deployed without a passing gate."
    advice = page.locator("#advice li").all_inner_texts()
    assert advice[0].startswith("3 of 5 deployments (60%) failed (1) or caused an incident (2)")
    assert any(line.startswith("2 of 5 deployments (40%) went out without a passing gate verdict") for line in advice)
    # The command in the advice is a <code> element, its backticks gone.
    assert page.locator("#advice li code").all_inner_texts() == ["deploy record --verdict ID"]
    assert not any("`" in line for line in advice)
    assert "the default" not in page.locator("#window").inner_text()  # 20 days was asked for
    listed = rows(page, "deployment-list")
    assert len(listed) == 6 and all(len(row) == 6 for row in listed)  # the list is every deployment, D0 too
    flagged = [row[1] for row in listed if "deployed without a passing gate" in row[4]]
    assert flagged == [history.C5.sha[:12], history.C3.sha[:12], history.C0.sha[:12]]  # D4, D2, D0
    assert page.locator("svg").count() == 4  # the trend charts, each named (check_structure)
    screenshot(page, "delivery")
    # One deployment: D4 shipped the revert of PROJ-3, which no passing verdict names.
    page.locator("#deployment-list tbody tr").nth(1).locator("a").first.click()
    page.wait_for_load_state()
    check_structure(page)
    assert rows(page, "key-list") == [["PROJ-3", "no passing verdict", history.C5.sha[:12]]]
    assert "1 with no passing verdict: PROJ-3" in page.locator("#keys-summary").inner_text()
    screenshot(page, "deployment")


def test_the_page_defaults_to_the_cli_window_and_says_so(served: tuple[Server, str], page: Any) -> None:
    server, token = served
    sign_in(page, server.url, token, f"/delivery?project={PROJECT}")
    window = page.locator("#window").inner_text()
    assert window.startswith("Window: the last 30 days (")
    assert "UTC, the default, as gatekeeper delivery)" in window
    assert page.locator("#window code").inner_text() == "gatekeeper delivery"
    assert page.locator('#window a[aria-current="page"]').inner_text() == "30 days"


def test_a_one_day_window_is_one_day(served: tuple[Server, str]) -> None:
    server, token = served
    response = requests.get(
        f"{server.url}/delivery?project={PROJECT}&days=1", cookies={"gatekeeper_session": token}, timeout=30
    )
    assert response.status_code == 200
    assert 'id="window">Window: the last 1 day (' in response.text and "last 1 days" not in response.text
    assert "to prod, last 1 day</caption>" in response.text


def test_code_spans_in_advice_are_escaped_first(page: Any) -> None:
    """advice_html (the /delivery page's and `report`'s) escapes, then makes `code` spans <code>: markup
    around or inside a span stays text, and nothing runs."""
    from gatekeeper.outputs.delivery import advice_html

    hostile = (
        '<img src=x onerror="window.pwned=1"> run `<script>window.pwned=2</script>` '
        "then `a & b \" ' <b>` and a lone ` tick"
    )
    page.set_content(f"<!doctype html><title>t</title><ul id='advice'><li>{advice_html(hostile)}</li></ul>")
    assert page.evaluate("window.pwned") is None
    assert page.locator("#advice img, #advice script, #advice b").count() == 0
    assert page.locator("#advice code").all_inner_texts() == ["<script>window.pwned=2</script>", "a & b \" ' <b>"]
    assert page.locator("#advice li").inner_text() == (
        '<img src=x onerror="window.pwned=1"> run <script>window.pwned=2</script> then a & b " \' <b> and a lone ` tick'
    )


def test_the_pages_refuse_what_is_not_theirs(served: tuple[Server, str]) -> None:
    server, token = served
    cookies = {"gatekeeper_session": token}
    for path, status in (
        (f"/delivery?project={PROJECT}&environment=nowhere", 404),
        (f"/delivery?project={PROJECT}&environment=%3Cscript%3E", 400),
        ("/delivery?project=unknown", 404),
        (f"/delivery?project={PROJECT}&days=0", 422),
        (f"/delivery?project={PROJECT}&cursor=bogus", 400),
        ("/deployments/%3Cscript%3E", 404),
        ("/deployments/D999", 404),
    ):
        response = requests.get(f"{server.url}{path}", cookies=cookies, timeout=30)
        assert response.status_code == status, (path, response.status_code)
        assert "<script>" not in response.text
    assert requests.get(f"{server.url}/delivery?project=x", timeout=30, allow_redirects=False).status_code == 303


def test_older_deployments_page_by_cursor(served: tuple[Server, str], tmp_path: Path) -> None:
    server, token = served
    from gatekeeper.server.web import delivery_routes

    first = requests.get(
        f"{server.url}/delivery?project={PROJECT}&days=20", cookies={"gatekeeper_session": token}, timeout=30
    )
    assert first.status_code == 200 and "Older deployments" not in first.text  # 6 deployments: one page
    assert (
        delivery_routes.delivery_url(PROJECT, "prod", 20) == "/delivery?project=bank%2Fledger&environment=prod&days=20"
    )


def test_the_four_keys_gauges_are_scraped(served: tuple[Server, str]) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    server, token = served
    response = requests.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name.startswith("gatekeeper_delivery_")
    }
    prod = (("environment", "prod"), ("project", PROJECT))
    # The last 30 days hold all of the history (moved to end 5 days ago), D0 included: 6 deployments.
    assert samples[("gatekeeper_delivery_change_failure_ratio", prod)] == pytest.approx(3 / 6)
    assert samples[("gatekeeper_delivery_deployments_per_day", prod)] == pytest.approx(5 / 30)
    assert samples[("gatekeeper_delivery_deployments_without_passing_gate", prod)] == 3
    assert samples[("gatekeeper_delivery_time_to_restore_seconds", prod)] == pytest.approx(13 * 3600)
    lead = ("gatekeeper_delivery_lead_time_seconds", (*prod, ("quantile", "0.5")))
    assert samples[(lead[0], tuple(sorted(lead[1])))] == pytest.approx(21 * 3600)
    staging = (("environment", "staging"), ("project", PROJECT))
    assert samples[("gatekeeper_delivery_change_failure_ratio", staging)] == 1.0


def test_delivery_from_the_server(served: tuple[Server, str]) -> None:
    import json
    import os
    import subprocess

    from tests.verdicts import GATEKEEPER

    server, token = served
    command = [GATEKEEPER, "delivery", "--server", server.url, "--project", PROJECT, "--days", "20"]
    env = os.environ | {"GATEKEEPER_TOKEN": token}
    completed = subprocess.run([*command, "--format", "json"], capture_output=True, text=True, env=env, timeout=60)
    assert completed.returncode == 0, completed.stderr
    prod, staging = json.loads(completed.stdout)["environments"]
    assert (prod["environment"], staging["environment"]) == ("prod", "staging")
    assert (prod["deployments"], prod["failed"], prod["caused_incident"], prod["ungated"]) == (5, 1, 2, 2)
    assert prod["lead_time_median_seconds"] == pytest.approx(12.5 * 3600)
    assert prod["restore_median_seconds"] == pytest.approx(13 * 3600)
    assert prod["recommendations"][0].startswith("3 of 5 deployments (60%) failed (1) or caused an incident (2)")
    text = subprocess.run([*command, "--environment", "prod"], capture_output=True, text=True, env=env, timeout=60)
    assert text.returncode == 0 and text.stdout.startswith(f"{PROJECT} to prod, last 20 days (")
    refused = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"GATEKEEPER_TOKEN": "x"})
    assert refused.returncode == 2 and "401" in refused.stderr and "Traceback" not in refused.stderr


def test_the_four_keys_api_refuses_bad_requests(served: tuple[Server, str]) -> None:
    server, token = served
    api = f"{server.url}/api/v1/delivery/four-keys"
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(api, params={"project": PROJECT}, timeout=30).status_code == 401
    for params in (
        {"project": PROJECT, "environment": "<prod>"},
        {"project": PROJECT, "days": "0"},
        {"project": PROJECT, "days": "367"},
        {"project": "a\x00b"},
        {},
    ):
        response = requests.get(api, params=params, headers=headers, timeout=30)
        assert response.status_code == 422, (params, response.status_code)
    empty = requests.get(api, params={"project": "nobody"}, headers=headers, timeout=30)
    assert empty.status_code == 200 and empty.json() == {"project": "nobody", "days": 30, "environments": []}
