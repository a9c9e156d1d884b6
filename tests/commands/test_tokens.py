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


def test_tokens_list_shows_each_tokens_state(tmp_path: Path) -> None:
    db = ("--db", f"sqlite:///{tmp_path / 'server.db'}")

    def create(*args: str) -> str:
        made = _cli("tokens", "create", "--scope", "read", *args, *db, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip().split("_")[1]

    live = create("--expires", "2999-01-01")
    expired = create("--expires", "2000-01-01")
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
