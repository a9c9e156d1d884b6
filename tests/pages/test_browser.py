"""The release manager's pages in real headless Chromium against a real, seeded `gatekeeper serve`."""

from __future__ import annotations

import copy
import itertools
import re
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gatekeeper.store.sqlite import SqliteStore
from tests.pages.conftest import (
    JOB_URL,
    LAPTOP,
    LEDGER_VERDICTS,
    NEAR_PERCENT,
    OTHER_PROJECTS,
    Seeded,
    screenshot,
    sign_in,
)
from tests.verdicts import GATEKEEPER, check_example


def rows(page: Any, table: str) -> list[list[str]]:
    """A table's body as text, cell by cell (row headers included)."""
    cells: list[list[str]] = page.eval_on_selector_all(
        f"#{table} tbody tr",
        "rows => rows.map(row => Array.from(row.querySelectorAll('th, td')).map(cell => cell.innerText.trim()))",
    )
    return cells


STRUCTURE = """() => ({
    lang: document.documentElement.lang,
    h1: document.querySelectorAll('h1').length,
    main: document.querySelectorAll('main').length,
    uncaptioned: Array.from(document.querySelectorAll('table')).filter(t => !t.caption).length,
    unscoped: Array.from(document.querySelectorAll('th')).filter(th => !th.getAttribute('scope')).length,
    unlabelled: Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
        .filter(c => c.labels.length === 0).length,
    unnamed_charts: Array.from(document.querySelectorAll('svg')).filter(svg =>
        svg.getAttribute('role') !== 'img' || !svg.querySelector('title') || !svg.querySelector('desc')).length,
    scripts: document.querySelectorAll('script').length,
})"""


def check_structure(page: Any) -> None:
    """What assistive technology relies on: one h1 in one main, captioned tables with scoped headers,
    labelled controls, named charts, and no script at all."""
    found = page.evaluate(STRUCTURE)
    assert found == {
        "lang": "en",
        "h1": 1,
        "main": 1,
        "uncaptioned": 0,
        "unscoped": 0,
        "unlabelled": 0,
        "unnamed_charts": 0,
        "scripts": 0,
    }, page.url


#: Where each point of a chart's first series is drawn on screen (centre y, in CSS pixels), oldest first.
POINT_HEIGHTS = """chart => Array.from(document.querySelectorAll(`#chart-${chart} g.series-0 circle`))
    .map(circle => { const box = circle.getBoundingClientRect(); return box.top + box.height / 2; })"""


def test_pages_need_sign_in_and_a_reading_token(page: Any, seeded: Seeded) -> None:
    page.goto(f"{seeded.url}/verdicts/{seeded.latest_failing['id']}")
    assert urlsplit(page.url).path == "/login"
    assert parse_qs(urlsplit(page.url).query)["next"] == [f"/verdicts/{seeded.latest_failing['id']}"]
    check_structure(page)
    screenshot(page, "login")

    page.get_by_label("Token").fill("gk_000000000000_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That token is not a live token.")
    page.get_by_label("Token").fill(seeded.upload_token)
    page.get_by_role("button", name="Sign in").click()
    assert "its scope is upload" in page.get_by_role("alert").inner_text()

    page.get_by_label("Token").fill(seeded.read_token)
    page.get_by_role("button", name="Sign in").click()
    assert urlsplit(page.url).path == f"/verdicts/{seeded.latest_failing['id']}"  # back where it was going
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == ("gatekeeper_session", True, "Strict")

    page.get_by_role("button", name="Sign out").click()
    assert urlsplit(page.url).path == "/login"
    page.goto(f"{seeded.url}/")
    assert urlsplit(page.url).path == "/login"


def test_overview_shows_every_project_and_branch_paginated(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded)
    assert page.title() == "Overview · gatekeeper"
    table = rows(page, "overview")
    assert len(table) == 50
    by_pair = {(row[0], row[1]): row for row in table}
    main = by_pair[("bank/ledger", "main")]
    assert main[2] == "FAIL"  # the newest verdict failed
    assert main[3] == "none"  # maturity level achieved: level 0 is no level reached
    # the last 20 verdicts: 10 passing copies and 10 failing (the newest among them)
    assert main[4] == "50% (10 of 20)"
    assert re.fullmatch(r"\d+ min ago", main[5])
    assert by_pair[("bank/ledger", "feature/faster-import")][2:4] == ["PASS", "3"]
    assert by_pair[("bank/cards", "main")][2] == "PASS"
    assert re.fullmatch(r"2\d h ago", by_pair[("team-00/service", "main")][5])
    check_structure(page)
    screenshot(page, "overview")
    screenshot(page, "overview-top", height=LAPTOP["height"])

    page.get_by_role("link", name="Next page →").click()
    second = rows(page, "overview")
    assert len(second) == OTHER_PROJECTS + 3 - 50
    assert not {tuple(row[:2]) for row in second} & set(by_pair)
    assert page.get_by_role("link", name="Next page →").count() == 0
    page.get_by_role("link", name="← Previous page").click()
    assert rows(page, "overview")[0][0] == table[0][0]

    page.get_by_label("Projects starting with").fill("bank/")
    page.get_by_role("button", name="Filter").click()
    assert sorted((row[0], row[1]) for row in rows(page, "overview")) == [
        ("bank/cards", "main"),
        ("bank/ledger", "feature/faster-import"),
        ("bank/ledger", "main"),
    ]

    page.get_by_role("link", name="bank/ledger").first.click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("bank/ledger")


def test_project_page_charts_trends_and_pages_its_verdicts(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "/project?name=bank/ledger&branch=main")
    assert page.get_by_role("heading", level=1).inner_text() == "bank/ledger on main"
    charts = page.get_by_role("img")
    assert charts.count() == 4
    names = [charts.nth(index).get_attribute("aria-labelledby") for index in range(4)]
    assert names == [
        "status-title status-desc",
        "tests-title tests-desc",
        "coverage-title coverage-desc",
        "findings-title findings-desc",
    ]
    description = page.locator("#tests-desc").text_content()
    assert description is not None and f"{LEDGER_VERDICTS} verdicts" in description
    assert "Latest: pass % 91.9." in description  # the newest verdict: 34 of 37 tests passed
    # the status strip: a step per verdict, alternating pass and fail, the newest failing at level 0
    statuses = page.eval_on_selector_all("#chart-status g.step", "steps => steps.map(s => s.dataset.status)")
    assert len(statuses) == LEDGER_VERDICTS and statuses[-1] == "fail" and set(statuses) == {"pass", "fail"}
    strip = page.locator("#status-desc").text_content()
    assert strip is not None and strip.endswith("Latest: fail, level 0.")
    # one step per verdict: the points sit evenly apart, though the newest came 55 minutes after the one before
    xs = page.eval_on_selector_all(
        "#chart-tests g.series-0 circle", "cs => cs.map(c => c.getBoundingClientRect().left)"
    )
    gaps = [b - a for a, b in itertools.pairwise(xs)]
    assert len(xs) == LEDGER_VERDICTS and max(gaps) - min(gaps) < 0.5
    assert page.locator("#chart-findings polyline").count() == 4
    # the data table behind each chart, oldest first
    page.get_by_text("Security findings by severity as a table").click()
    findings = rows(page, "chart-findings")
    assert len(findings) == LEDGER_VERDICTS
    assert findings[-1][1:] == ["0", "2", "3", "4"]  # critical, high (one waived), medium, low
    check_structure(page)
    screenshot(page, "project")

    first = rows(page, "verdict-list")
    assert len(first) == 50
    assert page.locator("#verdict-list caption").inner_text().startswith(f"{LEDGER_VERDICTS} verdicts of bank/ledger")
    assert first[0][1] == "FAIL"
    assert first[0][3] == "f" * 12 and first[0][5] == "none"  # the short commit; level 0 is no level reached
    page.get_by_role("link", name="Older verdicts →").click()
    rest = rows(page, "verdict-list")
    assert len(rest) == LEDGER_VERDICTS - 50
    assert rest[0][0] < first[-1][0]  # older, with no overlap
    assert page.get_by_role("link", name="Older verdicts →").count() == 0

    page.get_by_role("link", name="feature/faster-import").click()
    assert [row[2] for row in rows(page, "verdict-list")] == ["feature/faster-import"] * 2


def test_all_branches_page_charts_the_default_branch_only_and_says_so(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "/project?name=bank/ledger")
    assert page.get_by_role("heading", level=2).first.inner_text() == "Trends over the newest 100 verdicts on main"
    assert page.locator("#trends-note").inner_text().startswith("The trends show main only")
    statuses = page.eval_on_selector_all("#chart-status g.step", "steps => steps.map(s => s.dataset.status)")
    assert len(statuses) == LEDGER_VERDICTS  # not the feature branch's two verdicts besides
    assert page.locator("#verdict-list caption").inner_text().startswith(f"{LEDGER_VERDICTS + 2} verdicts")


def test_a_99_93_percent_run_is_drawn_below_a_100_percent_run(page: Any, seeded: Seeded) -> None:
    """On the feature branch (a 99.93% run, then a 100% run) the tests chart's axis starts at 99.9,
    says so, and the two points are drawn at visibly different heights."""
    sign_in(page, seeded, "/project?name=bank/ledger&branch=feature/faster-import")
    near, full = page.evaluate(POINT_HEIGHTS, "tests")
    assert near - full > 40  # CSS pixels: 99.93 sits 30% up a 99.9-100 axis, 100 at its top
    assert page.locator("#chart-tests text.scale").text_content() == "y axis from 99.9 to 100, not from 0"
    assert "Scale: y axis from 99.9 to 100, not from 0." in (page.locator("#tests-desc").text_content() or "")
    labels = page.eval_on_selector_all("#chart-tests text.step", "ts => ts.map(t => t.textContent)")
    assert len(labels) == 2 and all(re.fullmatch(r"\d{4}-\d\d-\d\d\d\d:\d\d:\d\d", label) for label in labels)
    check_structure(page)
    screenshot(page, "project-near-100")


def test_html_report_in_chromium(page: Any, tmp_path: Path) -> None:
    """`gatekeeper report --format html` (the installed console script) as a reader opens it: no script,
    the same accessible charts, and a 99.93% run drawn apart from a 100% run."""
    store = tmp_path / "verdicts.db"
    check_example(tmp_path, "failing", "--project", "bank/ledger", "--branch", "feature/retry", store=store)
    passing = check_example(tmp_path, "passing", "--project", "bank/ledger", "--branch", "main", store=store)
    with SqliteStore(store) as opened:
        for seconds, percent in ((1, NEAR_PERCENT), (2, 100.0)):  # seconds apart: the same minute as a rule
            run = copy.deepcopy(passing)
            run["id"] = str(uuid.uuid4())
            run["created_at"] = (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            )
            run["metrics"]["tests.pass_percent"] = percent
            opened.add(run)
    target = tmp_path / "report.html"
    result = subprocess.run(
        [
            GATEKEEPER,
            "report",
            "--project",
            "bank/ledger",
            "--store",
            str(store),
            "--format",
            "html",
            "-o",
            str(target),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    page.goto(target.as_uri())
    assert page.get_by_role("heading", level=1).inner_text() == "Quality report: bank/ledger on main"
    note = page.locator("#branch-note").inner_text()
    assert note.startswith("Branch main only") and "feature/retry (1)" in note  # the failing run is not drawn
    assert page.get_by_role("img").count() == 4
    first, near, full = page.evaluate(POINT_HEIGHTS, "tests")  # 100%, 99.93%, 100%: one step each
    assert near - full > 40 and first == full  # CSS pixels: 99.93% well below 100%
    assert page.locator("#chart-tests text.scale").text_content() == "y axis from 99.9 to 100, not from 0"
    statuses = page.eval_on_selector_all("#chart-status g.step", "steps => steps.map(s => s.dataset.status)")
    assert statuses == ["pass", "pass", "pass"]
    check_structure(page)
    screenshot(page, "report")


def test_verdict_page_shows_gates_context_and_expiring_waivers(page: Any, seeded: Seeded) -> None:
    verdict = seeded.latest_failing
    sign_in(page, seeded, f"/verdicts/{verdict['id']}")
    assert page.locator("#reason").inner_text() == verdict["reason"]
    gates = {row[0].split("\n")[0]: row for row in rows(page, "gates")}
    assert set(gates) == {gate["id"] for gate in verdict["gates"]}
    tests_gate = gates["tests-all-pass"]
    assert tests_gate[1:6] == ["FAIL", "tests.pass_percent", "91.9", "≥ 100", "block"]
    assert "automated test results" in tests_gate[6]  # the criterion it evidences
    assert gates["line-coverage"][1:5] == ["PASS", "coverage.lines.percent", "83.8", "≥ 50"]

    link = page.get_by_role("link", name=JOB_URL)
    assert link.get_attribute("href") == JOB_URL
    context = page.locator("#context").inner_text()
    assert "f" * 40 in context and "101 · job quality-gate" in context and "(gitlab)" in context

    waivers = rows(page, "waivers")
    soon = next(row for row in waivers if "md5 only names cache files" in row)
    late = next(row for row in waivers if "asserts are expected in tests" in row)
    assert soon[0] == "applied" and soon[4] == f"{seeded.soon.isoformat()} (expires in 10 d)"
    assert soon[5] == "1"  # the waived MD5 finding
    assert late[4] == f"{seeded.late.isoformat()} (expires in 200 d)"
    expiring = page.locator("#expiring").inner_text()
    assert "1 applied waiver expires within 30 days" in expiring and "md5 only names cache files" in expiring
    assert "asserts are expected" not in expiring

    inputs = rows(page, "inputs")
    assert sorted(row[1] for row in inputs) == ["bandit", "cobertura", "junit"]
    levels = rows(page, "levels")
    assert [row[0] for row in levels] == ["1", "2", "3", "4", "5"]
    assert "tests-all-pass" in levels[1][2]
    check_structure(page)
    screenshot(page, "verdict")
    screenshot(page, "verdict-top", height=1500)

    page.get_by_role("link", name="bank/ledger", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "bank/ledger on main"


def test_release_pages_show_what_blocks_a_release(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "/releases")
    releases = {row[0]: row for row in rows(page, "releases")}
    assert releases["2026.12"][1:5] == ["READY", "3", "2", "0"]
    assert releases["2026.11-hotfix"][1:5] == ["BLOCKED", "3", "3", "3"]
    check_structure(page)
    screenshot(page, "releases")

    page.get_by_role("link", name="2026.11-hotfix").click()
    assert page.locator("#decision").inner_text().startswith("Blocked: 3 of 3 members are not clear")
    members = {row[0]: row for row in rows(page, "members")}
    ledger, cards, payments = members["bank/ledger"], members["bank/cards"], members["bank/payments"]
    assert ledger[2] == "FAILED" and "gate tests-all-pass failed" in ledger[5]
    assert cards[2] == "WEAKER-LEVEL" and re.search(r"policy level 1 < required 3", cards[5])
    assert payments[2] == "MISSING" and payments[3] == "—" and "no verdict for commit" in payments[5]
    check_structure(page)
    screenshot(page, "release-blocked")
    page.get_by_role("link", name="fail", exact=True).click()  # the member's verdict
    assert urlsplit(page.url).path == f"/verdicts/{seeded.latest_failing['id']}"

    page.goto(f"{seeded.url}/releases/2026.12")
    assert page.locator("#decision").inner_text().startswith("Ready: all 2 members are clear")
    assert [row[2] for row in rows(page, "members")] == ["CLEAR", "CLEAR"]
