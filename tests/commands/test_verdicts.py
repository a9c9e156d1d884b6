"""`gatekeeper verdicts list|show` on a real store file."""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gatekeeper.commands.verdicts import list_verdicts, show_verdict
from gatekeeper.status import ExitStatus
from gatekeeper.store import StoreError
from gatekeeper.store.sqlite import SqliteStore
from tests.store import make_verdict
from tests.verdicts import GATEKEEPER


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ws" / ".gatekeeper" / "verdicts.db"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")}
    return subprocess.run(
        [GATEKEEPER, *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=120, check=False
    )


def one_line(error: pytest.ExceptionInfo[StoreError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def recorded_at(*times: str) -> Callable[[], datetime]:
    """A store clock that records each verdict at the next of these times (UTC)."""
    moments = iter(times)
    return lambda: datetime.fromisoformat(next(moments)).replace(tzinfo=timezone.utc)


@pytest.fixture
def filled(db: Path) -> Path:
    with SqliteStore(
        db, clock=recorded_at("2026-11-20 10:00:05", "2026-11-21 10:00:05", "2026-11-22 10:00:05")
    ) as store:
        store.add(make_verdict("11111111-aaaa", created_at="2026-11-20T10:00:00Z", status="fail"))
        store.add(make_verdict("22222222-bbbb", created_at="2026-11-21T10:00:00Z", branch="dev"))
        store.add(make_verdict("33333333-cccc", created_at="2026-11-22T10:00:00Z", level_achieved=None))
    return db


def test_list_on_a_missing_store_says_nothing_is_recorded(db: Path) -> None:
    out = io.StringIO()
    assert list_verdicts(db, None, None, None, 50, "table", out) is ExitStatus.PASS
    assert out.getvalue() == f"no verdicts recorded yet (store: {db})\n"
    assert not db.exists()
    out = io.StringIO()
    assert list_verdicts(db, None, None, None, 50, "json", out) is ExitStatus.PASS
    assert json.loads(out.getvalue()) == []


def test_list_table(filled: Path) -> None:
    out = io.StringIO()
    assert list_verdicts(filled, "group/app", None, None, 2, "table", out) is ExitStatus.PASS
    lines = out.getvalue().splitlines()
    header = ["recorded", "(UTC)", "created", "(UTC)", "status", "project", "branch", "commit", "level", "id"]
    assert lines[0].split() == header
    newest = "2026-11-22 10:00:05  2026-11-22 10:00:00  pass    group/app  main    0123456789ab  -      33333333-ccc"
    assert lines[1] == newest
    assert lines[2].split()[4:7] == ["pass", "group/app", "dev"]
    assert lines[3] == "(2 of 3 shown; --limit N shows more)"


def test_the_list_shows_the_order_it_is_in(db: Path) -> None:
    """Newest first by when the store recorded each verdict, and that time is shown: a verdict that claims an
    older creation time (uploaded late, a runner's clock behind) sits first without looking out of order
    (review, session 9: only the claim was shown, so the list looked unsorted)."""
    times = recorded_at("2026-12-07 09:00:00", "2026-12-07 10:00:00", "2026-12-07 11:00:00")
    with SqliteStore(db, clock=times) as store:
        store.add(make_verdict("aaaaaaaa-0001", created_at="2026-12-07T08:59:00Z"))
        store.add(make_verdict("aaaaaaaa-0002", created_at="2026-12-07T09:59:00Z"))
        store.add(make_verdict("aaaaaaaa-0003", created_at="2026-01-01T00:00:00Z"))  # a late upload's claim
    out = io.StringIO()
    list_verdicts(db, None, None, None, 50, "table", out)
    rows = [line.split() for line in out.getvalue().splitlines()[1:]]
    assert [row[:4] for row in rows] == [
        ["2026-12-07", "11:00:00", "2026-01-01", "00:00:00"],
        ["2026-12-07", "10:00:00", "2026-12-07", "09:59:00"],
        ["2026-12-07", "09:00:00", "2026-12-07", "08:59:00"],
    ]
    out = io.StringIO()
    list_verdicts(db, None, None, None, 50, "json", out)
    listed = json.loads(out.getvalue())
    assert [(row["received_at"], row["created_at"]) for row in listed] == [
        ("2026-12-07T11:00:00.000000Z", "2026-01-01T00:00:00.000000Z"),
        ("2026-12-07T10:00:00.000000Z", "2026-12-07T09:59:00.000000Z"),
        ("2026-12-07T09:00:00.000000Z", "2026-12-07T08:59:00.000000Z"),
    ]


def test_since_takes_what_report_takes(tmp_path: Path) -> None:
    """`verdicts list --since 30d` as `report --since 30d` (review, session 9: exit 2, blaming the store)."""
    store = tmp_path / "verdicts.db"
    now = datetime.now(timezone.utc)
    with SqliteStore(store) as opened:
        for days in (40, 20, 1):
            claimed = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
            opened.add(make_verdict(f"bbbbbbbb-{days:04d}", created_at=claimed))
    for since in ("30d", "4w", (now - timedelta(days=30)).date().isoformat()):
        listed = cli("verdicts", "list", "--store", str(store), "--since", since, "--format", "json", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert [row["id"] for row in json.loads(listed.stdout)] == ["bbbbbbbb-0001", "bbbbbbbb-0020"]
    report = cli("report", "--project", "group/app", "--store", str(store), "--since", "30d", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "2 verdicts" in report.stdout


@pytest.mark.parametrize("since", ["30x", "soon", "2026-13-01", "0001-01-01T00:00+05:00"])
@pytest.mark.parametrize("store", ["verdicts.db", "missing.db"])
def test_a_bad_since_names_the_option_not_the_store(tmp_path: Path, since: str, store: str) -> None:
    with SqliteStore(tmp_path / "verdicts.db") as opened:
        opened.add(make_verdict("cccccccc-0001"))
    listed = cli("verdicts", "list", "--store", store, "--since", since, cwd=tmp_path)
    assert listed.returncode == 2, listed.stdout
    assert listed.stderr.startswith(f"gatekeeper: error: --since {since!r}: "), listed.stderr
    assert len(listed.stderr.splitlines()) == 1 and "verdict store" not in listed.stderr


def test_list_json_and_filters(filled: Path) -> None:
    out = io.StringIO()
    list_verdicts(filled, None, "main", "fail", 50, "json", out)
    [summary] = json.loads(out.getvalue())
    assert summary["id"] == "11111111-aaaa"
    assert summary["created_at"] == "2026-11-20T10:00:00.000000Z"
    assert set(summary) == {
        "id",
        "created_at",
        "status",
        "project",
        "branch",
        "commit",
        "pipeline",
        "policy_name",
        "level_achieved",
        "received_at",  # when the store recorded it (issue 13): what the list is ordered by
    }
    out = io.StringIO()
    list_verdicts(filled, "nobody", None, None, 50, "table", out)
    assert out.getvalue() == f"no verdicts match these filters (store: {filled})\n"


def test_show_json_prints_the_stored_verdict(filled: Path) -> None:
    out = io.StringIO()
    assert show_verdict(filled, "222222", "json", out) is ExitStatus.PASS
    assert json.loads(out.getvalue()) == make_verdict("22222222-bbbb", created_at="2026-11-21T10:00:00Z", branch="dev")
    out = io.StringIO()
    show_verdict(filled, "latest", "json", out, branch="main")
    assert json.loads(out.getvalue())["id"] == "33333333-cccc"


def test_show_text_is_the_text_output_without_terminal_escapes(filled: Path) -> None:
    verdict = make_verdict("44444444-dddd", created_at="2026-11-23T10:00:00Z", status="fail")
    verdict["gates"][0].update(status="fail", message="9 of 10 passed\n\x1b[31mred\x1b[0m")
    with SqliteStore(filled) as store:
        store.add(verdict)
    out = io.StringIO()
    show_verdict(filled, "latest", "text", out)
    text = out.getvalue()
    assert text.startswith("FAIL  all blocking gates held\n")
    assert "project group/app  branch main  commit 0123456789ab" in text
    assert "tests-all-pass  9 of 10 passed" in text
    assert "\x1b" not in text  # a report's text never reaches the terminal as escape codes


def test_show_errors(filled: Path, tmp_path: Path) -> None:
    with pytest.raises(StoreError) as error:
        show_verdict(tmp_path / "missing.db", "latest", "json", io.StringIO())
    assert "does not exist" in one_line(error)
    with pytest.raises(StoreError) as error:
        show_verdict(filled, "latest", "json", io.StringIO(), project="nobody")
    assert "no verdicts recorded yet for project nobody" in one_line(error)
    with pytest.raises(StoreError):
        show_verdict(filled, "99999999", "text", io.StringIO())
