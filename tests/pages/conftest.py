"""A real `gatekeeper serve` seeded with real verdicts, and real headless Chromium to read its pages.

Verdicts come from `gatekeeper check` on the bundled example reports (in a GitLab CI environment, so
they carry a job URL), under a policy whose waivers expire soon and late; the many rows pagination
needs are copies of those with other ids, projects and times, uploaded through the API.  Chromium is
Debian's (/usr/bin/chromium), driven by Playwright; never a downloaded browser.
"""

from __future__ import annotations

import copy
import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.server.conftest import Server, start_server
from tests.verdicts import GATEKEEPER, REPO, check_example

CHROMIUM = Path("/usr/bin/chromium")
#: Screenshots of every page the tests load, for people to look at (tests/output/ is git-ignored).
SCREENSHOTS = REPO / "tests" / "output" / "screenshots"
LAPTOP = {"width": 1366, "height": 768}
JOB_URL = "https://gitlab.example.com/bank/ledger/-/jobs/9001"
#: Other projects, one verdict each: with bank/ledger's two branches, more pairs than one overview page.
OTHER_PROJECTS = 55
#: Verdicts of bank/ledger on main: more than one page of its verdict list.
LEDGER_VERDICTS = 60
#: The pass rate of a run the charts must draw apart from 100%.
NEAR_PERCENT = 99.93


@dataclass
class Seeded:
    """The running server, its tokens, and the ids and facts the tests check pages against."""

    server: Server
    read_token: str
    upload_token: str
    latest_failing: dict[str, Any]
    feature: dict[str, Any]
    level1: dict[str, Any]
    near: dict[str, Any]
    soon: date
    late: date
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url


def _tokens(db_url: str, tmp: Path) -> dict[str, str]:
    """Tokens made with the real CLI, as a release manager's admin would."""
    made = {}
    for scope in ("admin", "read", "upload"):
        result = subprocess.run(
            [GATEKEEPER, "tokens", "create", "--scope", scope, "--db", db_url],
            capture_output=True,
            text=True,
            cwd=tmp,
            check=True,
            timeout=60,
        )
        made[scope] = result.stdout.strip().splitlines()[-1]
    return made


def _gitlab(project: str, branch: str, commit: str, pipeline: str) -> dict[str, str]:
    return {
        "GITLAB_CI": "true",
        "CI_PROJECT_PATH": project,
        "CI_COMMIT_BRANCH": branch,
        "CI_COMMIT_SHA": commit,
        "CI_PIPELINE_ID": pipeline,
        "CI_JOB_NAME": "quality-gate",
        "CI_JOB_URL": JOB_URL,
    }


def _variant(template: dict[str, Any], created_at: datetime, **context: Any) -> dict[str, Any]:
    verdict = copy.deepcopy(template)
    verdict["id"] = str(uuid.uuid4())
    verdict["created_at"] = created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    verdict["context"].update(context)
    return verdict


def _put(server: Server, token: str, verdict: dict[str, Any]) -> None:
    response = requests.put(
        f"{server.url}/api/v1/verdicts/{verdict['id']}",
        data=json.dumps(verdict),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def _define_releases(db_url: str, documents: dict[str, dict[str, Any]]) -> None:
    """Releases stored through the release module (its API and CLI have tests of their own)."""
    from gatekeeper.release import release_from_document
    from gatekeeper.server.db import open_database
    from gatekeeper.server.releases import put_release

    engine = open_database(db_url)
    try:
        for name, document in documents.items():
            put_release(engine, release_from_document(document, name=name))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    tmp = tmp_path_factory.mktemp("pages")
    db_url = f"sqlite:///{tmp / 'server.db'}"
    tokens = _tokens(db_url, tmp)
    today = datetime.now(timezone.utc).date()
    soon, late = today + timedelta(days=10), today + timedelta(days=200)
    policy = tmp / "ledger.yaml"
    policy.write_text(
        "policy: ledger-main\nextends: caict-cd/level-3\nwaivers:\n"
        f"  - match: {{tool: bandit, rule: B324}}\n    reason: md5 only names cache files\n"
        f"    owner: team-ledger\n    expires: {soon.isoformat()}\n"
        f"  - match: {{tool: bandit, rule: B101, path: 'tests/**'}}\n    reason: asserts are expected in tests\n"
        f"    owner: team-ledger\n    expires: {late.isoformat()}\n"
    )
    level3 = REPO / "rules" / "caict-cd" / "level-3.yaml"
    failing = check_example(tmp, "failing", policy=policy, env=_gitlab("bank/ledger", "main", "f" * 40, "101"))
    passing = check_example(tmp, "passing", policy=level3, env=_gitlab("bank/ledger", "main", "a" * 40, "100"))
    level1 = check_example(
        tmp,
        "passing",
        policy=REPO / "rules" / "caict-cd" / "level-1.yaml",
        env=_gitlab("bank/cards", "main", "c" * 40, "300"),
    )
    server = start_server(db_url, tmp)
    try:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        admin = tokens["admin"]
        # bank/ledger on main: older verdicts alternate, the newest is the real failing one
        for index in range(LEDGER_VERDICTS - 1, 0, -1):
            template = passing if index % 2 else failing
            verdict = _variant(template, now - timedelta(hours=index), commit=f"{index:040x}", pipeline=str(index))
            _put(server, admin, verdict)
        latest_failing = _variant(failing, now - timedelta(minutes=5))
        _put(server, admin, latest_failing)
        # before it on the feature branch, a run that passed 99.93% of its tests (one failure in 1,430)
        near = _variant(passing, now - timedelta(hours=4), branch="feature/faster-import", commit="e" * 40)
        near["metrics"]["tests.pass_percent"] = NEAR_PERCENT
        _put(server, admin, near)
        feature = _variant(passing, now - timedelta(hours=3), branch="feature/faster-import", commit="b" * 40)
        _put(server, admin, feature)
        _put(server, admin, level1)
        for index in range(OTHER_PROJECTS):
            _put(
                server,
                admin,
                _variant(
                    passing,
                    now - timedelta(days=1, minutes=index),
                    project=f"team-{index:02d}/service",
                    commit=f"{index:02d}" * 20,
                ),
            )
        releases = {
            "2026.12": {
                "level": 3,
                "members": [
                    {"project": "bank/ledger", "commit": "b" * 40},
                    {"project": "team-00/service", "commit": "00" * 20},
                ],
            },
            "2026.11-hotfix": {
                "level": 3,
                "members": [
                    {"project": "bank/ledger", "commit": "f" * 40},
                    {"project": "bank/cards", "commit": "c" * 40},
                    {"project": "bank/payments", "commit": "d" * 40},
                ],
            },
        }
        _define_releases(db_url, releases)
        yield Seeded(
            server=server,
            read_token=tokens["read"],
            upload_token=tokens["upload"],
            latest_failing=latest_failing,
            feature=feature,
            level1=level1,
            near=near,
            soon=soon,
            late=late,
        )
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (`.ci/run` does) to run the browser tests")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) at laptop size."""
    context = browser.new_context(viewport=LAPTOP)
    context.set_default_timeout(20_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Any, seeded: Seeded, path: str = "/") -> None:
    page.goto(f"{seeded.url}{path}")
    assert "/login" in page.url
    page.get_by_label("Token").fill(seeded.read_token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def screenshot(page: Any, name: str, height: int | None = None) -> Path:
    """The whole page, or with `height` its top only (as the README shows it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if height is None:
        page.screenshot(path=str(path), full_page=True)
    else:
        page.screenshot(
            path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": LAPTOP["width"], "height": height}
        )
    assert path.stat().st_size > 10_000
    return path
