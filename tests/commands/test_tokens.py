"""`gatekeeper tokens list` tells a live token from an expired or revoked one, as the server does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.verdicts import GATEKEEPER

pytest.importorskip("sqlalchemy", reason="tokens live in the store server's database (gatekeeper[server])")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GATEKEEPER, *args], capture_output=True, text=True, cwd=cwd, timeout=60, check=False)


def _expired_token(database: Path, projects: tuple[str, ...] = ()) -> str:
    """A token that has expired (or, with `projects`, one made as an older gatekeeper let it be made): the
    command refuses a past --expires, so made through the library the server's own tests use."""
    from gatekeeper.server import auth
    from gatekeeper.server.db import open_database

    engine = open_database(f"sqlite:///{database}")
    try:
        token, _secret = auth.create(engine, auth.Scope.READ if not projects else auth.Scope.UPLOAD, projects,
                                     "2000-01-01" if not projects else None)  # fmt: skip
    finally:
        engine.dispose()
    return token.id


def test_tokens_list_shows_each_tokens_state(tmp_path: Path) -> None:
    db = ("--db", f"sqlite:///{tmp_path / 'server.db'}")

    def create(*args: str) -> str:
        made = _cli("tokens", "create", "--scope", "read", *args, *db, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip().split("_")[1]

    live = create("--expires", "2999-01-01")
    expired = _expired_token(tmp_path / "server.db")
    revoked = create()
    assert _cli("tokens", "revoke", revoked, *db, cwd=tmp_path).returncode == 0
    expected = {live: "live", expired: "expired", revoked: "revoked"}

    rows = json.loads(_cli("tokens", "list", "--format", "json", *db, cwd=tmp_path).stdout)
    assert {row["id"]: row["state"] for row in rows} == expected

    table = _cli("tokens", "list", *db, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split()[:3] == ["ID", "SCOPE", "STATE"]
    assert {line.split()[0]: line.split()[2] for line in lines} == expected


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--project", ""], "--project: an empty (or blank) pattern matches no project"),
        (["--project", "   "], "--project: an empty (or blank) pattern matches no project"),
        (["--project", "bank/*", "--project", ""], "--project: an empty (or blank) pattern matches no project"),
        (["--project", " bank/*"], "--project ' bank/*': has leading or trailing whitespace"),
        (["--expires", "2020-01-01"], "--expires '2020-01-01' is in the past: the token would be born expired"),
        (["--expires", "2026-01-01T00:00:00+14:00"], "--expires '2026-01-01T00:00:00+14:00' is in the past"),
    ],
)
def test_a_token_that_could_never_work_is_refused(tmp_path: Path, arguments: list[str], message: str) -> None:
    """Review, session 9: `--project ''` made a token listed as `*` that got 403 for every project, and
    `--expires 2020-01-01` one born expired, both with exit 0."""
    database = tmp_path / "server.db"
    made = _cli("tokens", "create", "--scope", "upload", *arguments, "--db", f"sqlite:///{database}", cwd=tmp_path)
    assert made.returncode == 2, made.stdout
    assert made.stderr.startswith(f"gatekeeper: error: {message}"), made.stderr
    assert len(made.stderr.splitlines()) == 1 and made.stdout == ""
    assert not database.exists()  # refused before the database is opened


def test_a_token_made_with_an_empty_pattern_is_listed_as_it_is(tmp_path: Path) -> None:
    """One made before the refusal: it lets in only verdicts of no project, so it is not listed as `*` (any)."""
    database = tmp_path / "server.db"
    token = _expired_token(database, projects=("", "bank/*"))
    table = _cli("tokens", "list", "--db", f"sqlite:///{database}", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    [row] = [line for line in table.stdout.splitlines() if line.startswith(token)]
    assert row.split()[-1] == "'',bank/*"


@pytest.mark.parametrize("command", [["list"], ["list", "--format", "json"], ["revoke", "0123456789ab"]])
def test_reading_tokens_never_creates_a_database(tmp_path: Path, command: list[str]) -> None:
    """Review, session 9: `tokens list --db sqlite:////tmp/x/nodir/x.db` (a typo) made the directory and a
    143 KB database and listed nothing, exit 0.  Only `tokens create` (and `serve`) make one."""
    missing = tmp_path / "nodir" / "x.db"
    result = _cli("tokens", *command, "--db", f"sqlite:///{missing}", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"gatekeeper: error: database {missing} does not exist"), result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
    assert not (tmp_path / "nodir").exists()

    made = _cli("tokens", "create", "--scope", "read", "--db", f"sqlite:///{missing}", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    listed = _cli("tokens", "list", "--db", f"sqlite:///{missing}", cwd=tmp_path)
    assert listed.returncode == 0 and made.stdout.split("_")[1] in listed.stdout
