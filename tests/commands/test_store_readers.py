"""Every command that reads the embedded store meets a file that is not one (random bytes, a store cut short,
one with its pages overwritten) as bad input: exit 2, one line naming the file and what is wrong, never a
traceback or "internal error" (review, session 9: they were exit 3 "DatabaseError: file is not a database")."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from gatekeeper.store.sqlite import SqliteStore
from tests.store import make_verdict
from tests.verdicts import GATEKEEPER

#: Each reader of `--store`, as a user runs it (a release file for `release check`, written by the fixture).
READERS = {
    "verdicts list": ["verdicts", "list"],
    "verdicts list --format json": ["verdicts", "list", "--format", "json"],
    "verdicts show latest": ["verdicts", "show", "latest"],
    "verdicts show prefix": ["verdicts", "show", "11111111"],
    "report": ["report", "--project", "group/app"],
    "release check": ["release", "check", "--file", "release.yaml"],
    "delivery": ["delivery", "--project", "group/app"],
    "explain latest": ["explain", "latest"],
}


def gatekeeper(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")}
    return subprocess.run(
        [GATEKEEPER, *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=120, check=False
    )


def _good_store(path: Path) -> bytes:
    with SqliteStore(path) as store:
        for number in range(40):  # a few pages of verdicts, so damage past the first pages hits a read
            store.add(make_verdict(f"{number + 1:08d}-aaaa", created_at=f"2026-11-{number % 28 + 1:02d}T10:00:00Z"))
    return path.read_bytes()


def _bad_files(directory: Path) -> dict[str, tuple[Path, str]]:
    """The damaged stores and what each should be called."""
    good = _good_store(directory / "good.db")
    random_bytes = directory / "g.bin"
    random_bytes.write_bytes(random.Random(9).randbytes(2000))
    cut = directory / "half.db"
    cut.write_bytes(good[:100])  # `head -c 100 good.db`: a header and nothing behind it
    overwritten = directory / "mid.db"
    overwritten.write_bytes(good[:4096] + b"\xa5" * (len(good) - 4096))  # the schema page and then garbage
    return {
        "random bytes": (random_bytes, "is not an SQLite database"),
        "cut short": (cut, "is corrupt"),
        "pages overwritten": (overwritten, "is corrupt"),
    }


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[Path, str]]]:
    directory = tmp_path_factory.mktemp("damaged")
    (directory / "release.yaml").write_text("name: r1\nmembers:\n  - project: group/app\n    commit: abc1234\n")
    return directory, _bad_files(directory)


@pytest.mark.parametrize("damage", ["random bytes", "cut short", "pages overwritten"])
@pytest.mark.parametrize("reader", list(READERS))
def test_a_damaged_store_is_exit_2_naming_the_file(
    damaged: tuple[Path, dict[str, tuple[Path, str]]], reader: str, damage: str
) -> None:
    directory, files = damaged
    path, problem = files[damage]
    before = path.read_bytes()
    result = gatekeeper(*READERS[reader], "--store", path.name, cwd=directory)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"gatekeeper: error: verdict store {path.name}: {problem}"), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stdout == ""  # nothing half-written
    assert path.read_bytes() == before  # a reader never "repairs" what it cannot read
