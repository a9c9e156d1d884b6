"""`gatekeeper report` on a real embedded store filled by real `gatekeeper check` runs (and on a real server)."""

from __future__ import annotations

import copy
import io
import os
import re
import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.commands.report import ReportOptions, run
from gatekeeper.errors import UsageError
from gatekeeper.since import parse_since
from gatekeeper.status import ExitStatus
from gatekeeper.store.sqlite import SqliteStore
from tests.verdicts import GATEKEEPER, check_example

SVG = "{http://www.w3.org/2000/svg}"


def gatekeeper(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")} | (env or {})
    return subprocess.run(
        [GATEKEEPER, *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=120, check=False
    )


def check(kind: str, cwd: Path, *args: str) -> dict[str, Any]:
    """A real verdict of bank/ledger on main, recorded in `cwd`'s store as `check` does by default."""
    store = cwd / ".gatekeeper" / "verdicts.db"
    return check_example(cwd, kind, "--project", "bank/ledger", "--branch", "main", *args, store=store)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with a failing then a passing verdict from `check`, and an old copy outside 30 days."""
    directory = tmp_path_factory.mktemp("report")
    failing = check("failing", directory, "--commit", "1" * 40)
    check("passing", directory, "--commit", "2" * 40)
    old = copy.deepcopy(failing)
    old["id"] = str(uuid.uuid4())
    old["created_at"] = (datetime.now(timezone.utc) - timedelta(days=45)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    old["context"]["commit"] = "0" * 40
    with SqliteStore(directory / ".gatekeeper" / "verdicts.db") as store:
        store.add(old)
    return directory


def options(workspace: Path, **changes: Any) -> ReportOptions:
    values: dict[str, Any] = {
        "project": "bank/ledger",
        "branch": None,
        "since": "30d",
        "output_format": "html",
        "output": None,
        "store": str(workspace / ".gatekeeper" / "verdicts.db"),
    }
    return ReportOptions(**(values | changes))


class Outline(HTMLParser):
    """Headings, table captions and SVG titles of an HTML document, and whether its tags balance."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "circle", "rect", "line", "polyline", "path"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.texts: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID:
            assert self.open.pop() == tag

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] in ("h1", "h2", "caption", "title", "figcaption", "span"):
            self.texts.setdefault(self.open[-1], []).append(data.strip())


def test_html_report_has_the_charts_the_figures_and_the_verdicts(workspace: Path) -> None:
    out = io.StringIO()
    assert run(options(workspace), out) is ExitStatus.PASS
    html = out.getvalue()
    outline = Outline()
    outline.feed(html)
    assert outline.open == []  # every element closed
    assert outline.texts["h1"] == ["Quality report: bank/ledger"]
    assert outline.texts["title"][1:] == [
        "Status and level achieved",
        "Tests passing",
        "Coverage",
        "Security findings by severity",
    ]
    assert "Verdicts, newest first" in outline.texts["caption"]
    assert outline.texts["span"] == ["PASS"]  # the latest verdict's status
    assert "2 verdicts from" in html and "UTC, level 3 achieved." in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4  # the status strip and three trends
    assert 'data-status="fail"' in html and 'data-status="pass"' in html  # one step per verdict, oldest first
    assert html.index('data-status="fail"') < html.index('data-status="pass"')
    assert '<td class="num">91.9</td>' in html and '<td class="num">100</td>' in html  # pass % of both runs
    assert "1" * 12 in html and "2" * 12 in html and "0" * 12 not in html  # the 45-day-old verdict is out


def test_markdown_report_writes_its_charts_next_to_it(workspace: Path, tmp_path: Path) -> None:
    target = tmp_path / "ledger.md"
    out = io.StringIO()
    assert run(options(workspace, output_format="markdown", output=str(target), since="60d"), out) is ExitStatus.PASS
    assert out.getvalue() == f"wrote {target}\n"
    text = target.read_text()
    assert text.startswith("# Quality report: bank/ledger\n")
    assert "| 1 | 0 | 2 | 0 |" in text  # pass, warn, fail, error over 60 days
    for key in ("status", "tests", "coverage", "findings"):
        assert f"](ledger.{key}.svg)" in text
        root = ET.parse(tmp_path / f"ledger.{key}.svg").getroot()
        assert root.tag == f"{SVG}svg" and root.find(f"{SVG}title") is not None
    assert "| verdict time (UTC) | branch | commit | critical | high | medium | low |" in text
    assert text.count("| 0 | 3 | 3 | 4 |") == 2  # the failing run and its old copy: 3 high, 3 medium, 4 low
    assert "`" + "0" * 12 + "`" in text


def test_markdown_on_standard_output_keeps_the_figures_as_tables(workspace: Path) -> None:
    result = gatekeeper("report", "--project", "bank/ledger", "--branch", "main", "--format", "markdown", cwd=workspace)
    assert result.returncode == 0, result.stderr
    assert "Charts are written next to the report with `-o FILE`" in result.stdout
    assert ".svg)" not in result.stdout
    assert "| verdict time (UTC) | branch | commit | lines % | branches % |" in result.stdout
    assert "Latest verdict: **PASS**" in result.stdout and "UTC, level 3 achieved." in result.stdout


def test_without_branch_the_report_keeps_to_the_default_branch_and_says_so(workspace: Path, tmp_path: Path) -> None:
    """A feature branch's verdicts are not drawn into main's trends; each chart row names its branch and commit."""
    shutil.copytree(workspace / ".gatekeeper", tmp_path / ".gatekeeper")
    with SqliteStore(tmp_path / ".gatekeeper" / "verdicts.db") as store:
        newest = store.get(store.list(project="bank/ledger", limit=1)[0].id)
        for index in range(2):  # more verdicts on the feature branch than on main, and the newest
            feature = copy.deepcopy(newest)
            feature["id"] = str(uuid.uuid4())
            feature["created_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            feature["context"].update(branch="feature/faster-import", commit=f"{index + 7}" * 40)
            feature["metrics"]["tests.pass_percent"] = 99.93
            store.add(feature)
    result = gatekeeper("report", "--project", "bank/ledger", "--format", "markdown", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("# Quality report: bank/ledger on main\n")
    assert "Branch main only, the project's default branch" in text
    assert "also has verdicts on feature/faster-import (2): give --branch" in text
    assert "feature/faster-import |" not in text and "99.9" not in text  # no row of the feature branch
    assert "2 verdicts from" in text
    tests_table = text[text.index("### Tests passing") : text.index("### Coverage")]
    assert "| verdict time (UTC) | branch | commit | pass % |" in tests_table
    assert re.search(r"\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| main \| `1{12}` \| 91.9 \|", tests_table)
    assert re.search(r"\| main \| `2{12}` \| 100 \|", tests_table)

    assert "| main | `111111111111` |" in text  # the one short form of a commit (outputs.words)
    feature_only = gatekeeper(
        "report", "--project", "bank/ledger", "--branch", "feature/faster-import", "--format", "markdown", cwd=tmp_path
    )
    assert feature_only.returncode == 0, feature_only.stderr
    assert "only, the project's default branch" not in feature_only.stdout
    assert "| feature/faster-import | `777777777777` | 99.9 |" in feature_only.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "bank/nothing"], "no verdicts of project 'bank/nothing' since"),
        (["--project", "bank/ledger", "--branch", "dev"], "no verdicts of project 'bank/ledger' on branch 'dev'"),
        (["--project", "bank/ledger", "--since", "last tuesday"], "--since 'last tuesday': give an age"),
        (["--project", "bank/ledger", "--store", "missing.db"], "missing.db: does not exist"),
        (["--project", "bank/ledger", "-o", "no/such/dir/r.html"], "no/such/dir/r.html: cannot write the report"),
    ],
)
def test_bad_requests_are_one_line_and_exit_2(workspace: Path, args: list[str], message: str) -> None:
    result = gatekeeper("report", *args, cwd=workspace)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_since_takes_ages_and_dates() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    assert parse_since("30d", now) == datetime(2026, 10, 26, 12, 0, tzinfo=timezone.utc)
    assert parse_since("12h", now) == datetime(2026, 11, 25, 0, 0, tzinfo=timezone.utc)
    assert parse_since("2w", now) == datetime(2026, 11, 11, 12, 0, tzinfo=timezone.utc)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=timezone.utc)
    with pytest.raises(UsageError):
        parse_since("soon", now)


def test_report_from_a_store_server(workspace: Path, tmp_path: Path) -> None:
    """The same report from verdicts uploaded to a real `gatekeeper serve`."""
    pytest.importorskip("fastapi", reason="the store server needs gatekeeper[server]")
    from tests.server.conftest import make_tokens, start_server

    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    tokens = make_tokens(db_url)
    server = start_server(db_url, tmp_path)
    try:
        with SqliteStore(workspace / ".gatekeeper" / "verdicts.db", create=False) as store:
            for summary in store.list(limit=None):
                assert server.put(store.get(summary.id), token=tokens["admin"]).status_code == 201
        result = gatekeeper(
            "report",
            "--project",
            "bank/ledger",
            "--server",
            server.url,
            "--format",
            "markdown",
            cwd=tmp_path,
            env={"GATEKEEPER_TOKEN": tokens["read"]},
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert "2 verdicts from" in result.stdout and f"from {server.url}" in result.stdout
    assert "| 1 | 0 | 1 | 0 |" in result.stdout
