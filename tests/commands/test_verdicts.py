"""`gatekeeper verdicts list|show` on a real store file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gatekeeper.commands.verdicts import list_verdicts, show_verdict
from gatekeeper.status import ExitStatus
from gatekeeper.store import StoreError
from gatekeeper.store.sqlite import SqliteStore
from tests.store import make_verdict


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ws" / ".gatekeeper" / "verdicts.db"


def one_line(error: pytest.ExceptionInfo[StoreError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.fixture
def filled(db: Path) -> Path:
    with SqliteStore(db) as store:
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
    assert lines[0].split() == ["created", "(UTC)", "status", "project", "branch", "commit", "level", "id"]
    newest = ["2026-11-22", "10:00:00", "pass", "group/app", "main", "0123456789ab", "-", "33333333-ccc"]
    assert lines[1].split() == newest
    assert lines[2].split()[2:5] == ["pass", "group/app", "dev"]
    assert lines[3] == "(2 of 3 shown; --limit N shows more)"


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
