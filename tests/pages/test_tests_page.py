"""The release manager's tests page (issue 18, part 5): a project's flakiest tests and the tests that fail
most over a window, with the quarantine that owns a test; and the verdict page's pipeline parts.  Read in
real Chromium from a real `gatekeeper serve`, the verdicts made by real `check --upload` runs, with test
names, owners and part names that are markup and must stay text."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from gatekeeper.context import Context
from gatekeeper.engine import decide
from gatekeeper.model import Evidence
from gatekeeper.policy import Comparison, Gate, IfAbsent, Policy
from gatekeeper.verdict import build
from gatekeeper.verdict_sections import PartRecord, PipelineRecord
from tests.pages.conftest import _put, screenshot
from tests.pages.test_browser import check_structure, rows
from tests.server.conftest import Server, make_tokens, start_server
from tests.verdicts import GATEKEEPER

#: A test whose class and name are markup: `classname.name` is its id on the page.
HOSTILE_CLASS = 'tests.<b id="bold">shop</b>'
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_ID = f"{HOSTILE_CLASS}.{HOSTILE_NAME}"
HOSTILE_OWNER = '<i id="owner">team-qa</i>'
HOSTILE_REASON = "<img src=x onerror=alert(3)> races the clock"
PLAIN_ID = "tests.test_shop.test_checkout"
PROJECT = "shop/tests"


@dataclass
class Site:
    """A server of this module's own (the shared one's overview counts its projects), its tokens, and the
    verdicts of `PROJECT`'s four runs, oldest first."""

    server: Server
    read_token: str
    upload_token: str
    verdicts: list[dict[str, Any]]

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("tests-page")
    db_url = f"sqlite:///{tmp / 'server.db'}"
    tokens = make_tokens(db_url)
    server = start_server(db_url, tmp)
    try:
        made = Site(server=server, read_token=tokens["read"], upload_token=tokens["admin"], verdicts=[])
        made.verdicts.extend(_seed_tests(made, tmp))
        yield made
    finally:
        server.stop()


def sign_in(page: Any, site: Site, path: str) -> None:
    page.goto(f"{site.url}{path}")
    page.get_by_label("Token").fill(site.read_token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _junit(a_fails: bool, hostile_fails: bool) -> str:
    def case(classname: str, name: str, fails: bool) -> str:
        quoted = classname.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        named = name.replace("<", "&lt;").replace(">", "&gt;")
        body = '<failure message="payment &lt;em&gt;timed out&lt;/em&gt;"/>' if fails else ""
        return f'<testcase classname="{quoted}" name="{named}" time="0.1">{body}</testcase>'

    cases = [
        case("tests.test_shop", "test_checkout", a_fails),
        case(HOSTILE_CLASS, HOSTILE_NAME, hostile_fails),
        case("tests.test_shop", "test_cart", False),
    ]
    return f'<testsuite name="pytest" tests="3">{"".join(cases)}</testsuite>'


def _policy(expires: date) -> str:
    return (
        "policy: shop-tests\ngates:\n  - id: tests-all-pass\n    metric: tests.pass_percent\n    min: 100\n"
        "quarantine:\n"
        f"  - test: {json.dumps('*<script>*')}\n    reason: {json.dumps(HOSTILE_REASON)}\n"
        f"    owner: {json.dumps(HOSTILE_OWNER)}\n    expires: {expires.isoformat()}\n"
    )


def _check_upload(site: Site, tmp: Path, commit: str, report: str) -> dict[str, Any]:
    """`check --upload` as a CI job runs it (the job's name from GitLab's variables), no embedded store."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GATEKEEPER_", "CI_", "GITLAB", "GITHUB"))}
    environment |= {"GATEKEEPER_TOKEN": site.upload_token, "GITLAB_CI": "true", "CI_JOB_NAME": "unit"}
    out = tmp / f"{commit}.json"
    done = subprocess.run(
        [
            *(GATEKEEPER, "check", "--no-store", "--upload", site.url, "--require-upload", "--policy", "policy.yaml"),
            *("--project", PROJECT, "--branch", "main", "--commit", commit, "-o", f"json={out}", report),
        ],
        cwd=tmp,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def _seed_tests(site: Site, tmp: Path) -> list[dict[str, Any]]:
    """Four runs of job `unit`, by hand: checkout fails, passes, fails, passes (3 flips, 2 failures);
    the hostile test fails, passes, fails, fails (2 flips, 3 failures), quarantined throughout."""
    (tmp / "policy.yaml").write_text(_policy(date.today() + timedelta(days=200)))
    runs = [(True, True), (False, False), (True, True), (False, True)]
    verdicts = []
    for number, (a_fails, hostile_fails) in enumerate(runs, start=1):
        (tmp / f"run{number}.xml").write_text(_junit(a_fails, hostile_fails))
        verdicts.append(_check_upload(site, tmp, f"c{number}" * 8, f"run{number}.xml"))
    return verdicts


def test_the_tests_page_ranks_flaky_and_failing_tests_with_their_quarantine(page: Any, site: Site) -> None:
    project, verdicts = PROJECT, site.verdicts
    assert verdicts[0]["context"]["job"] == "unit" and verdicts[0]["metrics"]["tests.quarantined"] == 1
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    sign_in(page, site, f"/project?name={project}")
    page.locator("#tests-link a").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/project/tests?name={project.replace('/', '%2F')}")
    assert "4 verdicts read, 4 of them with test results" in page.locator("#window").inner_text()
    quarantined = f"quarantined by *<script>*\nowner {HOSTILE_OWNER}\n{HOSTILE_REASON}\nuntil "
    flaky = rows(page, "flaky-tests")
    assert [row[:4] for row in flaky] == [[PLAIN_ID, "3", "2", "4"], [HOSTILE_ID, "2", "3", "4"]]
    assert flaky[0][5] == "—" and flaky[1][5].startswith(quarantined)
    # the last failures: checkout's in run 3, the hostile test's in run 4, each with its message
    assert flaky[0][4].endswith("\npayment <em>timed out</em>")
    links = page.eval_on_selector_all("#flaky-tests tbody tr td:nth-child(5) a", "links => links.map(a => a.pathname)")
    assert links == [f"/verdicts/{verdicts[2]['id']}", f"/verdicts/{verdicts[3]['id']}"]
    failing = rows(page, "failing-tests")
    assert [row[:5] for row in failing] == [[HOSTILE_ID, "3", "4", "75%", "2"], [PLAIN_ID, "2", "4", "50%", "3"]]
    # markup in names, owners, reasons and messages is text: no element made, no script run
    assert page.locator("#bold, #owner, main img, main script, main em").count() == 0
    assert dialogs == []
    check_structure(page)
    screenshot(page, "project-tests")

    # the verdict page names the quarantine, its owner and reason, beside the failure it keeps from blocking
    page.locator("#flaky-tests tbody tr").nth(1).get_by_role("link").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/verdicts/{verdicts[3]['id']}")
    listed = {row[0]: row[1] for row in rows(page, "failed-tests")}
    assert listed[HOSTILE_ID].startswith(f"failed\nquarantined: {HOSTILE_OWNER}, {HOSTILE_REASON} (until 20")
    assert page.locator("#bold, #owner, main img").count() == 0 and dialogs == []
    page.go_back()

    page.get_by_role("link", name="7 days").click()
    page.wait_for_load_state()
    assert "Over the last 7 days" in page.locator("#window").inner_text()
    assert len(rows(page, "flaky-tests")) == 2


def test_the_tests_page_refuses_bad_input_and_needs_sign_in(site: Site) -> None:
    with requests.Session() as client:
        client.trust_env = False
        client.cookies.set("gatekeeper_session", site.read_token, domain="127.0.0.1", path="/")
        url = f"{site.url}/project/tests"
        assert client.get(url, params={"name": "no/such"}, timeout=30).status_code == 404
        assert client.get(url, params={"name": PROJECT, "branch": "no-such"}, timeout=30).status_code == 404
        assert client.get(url, params={"name": PROJECT, "days": 0}, timeout=30).status_code == 422
        assert client.get(url, params={"name": PROJECT, "days": 91}, timeout=30).status_code == 422
        assert client.get(url, params={"name": "shop\x00"}, timeout=30).status_code == 422
        html = client.get(url, params={"name": PROJECT, "branch": "main", "days": 90}, timeout=30).text
        # the raw page: every piece of markup a verdict brought arrives escaped
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
        assert "&lt;i id=&#34;owner&#34;&gt;" in html and "<img" not in html
    with requests.Session() as anonymous:
        anonymous.trust_env = False
        answer = anonymous.get(url, params={"name": PROJECT}, allow_redirects=False, timeout=30)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def _pipeline_verdict() -> dict[str, Any]:
    """A pipeline-final's verdict: parts 1/3 and a retried 2/3 (its name markup) merged, 3/3 missing."""
    policy = Policy(
        name="pipeline",
        path="gatekeeper.yaml",
        gates=(Gate(id="tests", condition=Comparison(metric="tests.pass_percent", min=100), if_absent=IfAbsent.SKIP),),
    )
    context = Context(project="bank/pipeline", branch="main", commit="d" * 40, pipeline="777")
    outcome = decide(Evidence(), policy, context, date(2026, 12, 7))
    received = datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)
    parts = (
        PartRecord(
            name="test 1/3",
            sha256="a" * 64,
            bytes=20_480,
            received_at=received.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            tests=1_200,
            files=40,
            findings=3,
        ),
        PartRecord(
            name='<script>alert(4)</script> 2/3<img src=x id="part">',
            sha256="b" * 64,
            bytes=18_000,
            received_at=(received + timedelta(minutes=7)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            replaced=True,
            tests=1_150,
            files=38,
            findings=0,
        ),
        PartRecord(  # the retried job's attempt, which counts
            name='<script>alert(4)</script> 2/3<img src=x id="part">',
            sha256="c" * 64,
            bytes=18_100,
            received_at=(received + timedelta(minutes=11)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            tests=1_160,
            files=38,
            findings=0,
        ),
    )
    pipeline = PipelineRecord(expected=3, missing=("test 3/3",), parts=parts)
    verdict = build(outcome=outcome, policy=policy, context=context, inputs=[], duration_ms=1, pipeline=pipeline)
    return dict(json.loads(json.dumps(verdict.to_json())))


def test_the_verdict_page_shows_a_pipelines_parts(page: Any, site: Site) -> None:
    verdict = _pipeline_verdict()
    assert verdict["parts"][0]["name"] == "test 1/3"  # the schema's field, as uploaded
    _put(site.server, site.upload_token, verdict)
    sign_in(page, site, f"/verdicts/{verdict['id']}")
    # two parts (not three attempts) arrived, and with one missing nothing was merged
    assert page.locator("#pipeline-summary").inner_text() == "2 parts arrived of 3 expected; missing: test 3/3."
    name = '<script>alert(4)</script> 2/3<img src=x id="part">'
    assert rows(page, "parts") == [
        ["test 1/3", "2026-12-07 09:30:00", "counts", "1,200", "40", "3", "20,480", "a" * 12],
        [name, "2026-12-07 09:37:00", "replaced by a later attempt", "1,150", "38", "0", "18,000", "b" * 12],
        [name, "2026-12-07 09:41:00", "retried: this attempt counts", "1,160", "38", "0", "18,100", "c" * 12],
    ]
    assert page.locator("#part, main script").count() == 0
    check_structure(page)
    screenshot(page, "verdict-parts")
    # a verdict of one job has no parts section
    page.goto(f"{site.url}/verdicts/{site.verdicts[0]['id']}")
    assert page.locator("#parts").count() == 0 and page.locator("#gates").count() == 1
