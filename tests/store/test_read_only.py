"""Reading commands read an embedded store on a read-only mount: they open it read-only and create no
-wal, -shm or journal file beside it.

Tests run as root in CI, where chmod stops no write, and the interpreter lives under /root, which an
unprivileged user cannot run; so the store's directory is made read-only for real: bind-mounted
read-only in a mount namespace of the command's own (`unshare --mount`), or, where the sandbox forbids
that, the command runs as root without its capabilities (`setpriv --bounding-set=-all`), for whom a
directory of mode 555 and a file of mode 444 are read-only as for anyone.  Before, the reader opened
the file for writing and failed with "cannot be opened" or "is read-only for this user"."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.verdicts import GATEKEEPER, check_example

_MOUNT = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'


def _bind_read_only(directory: Path) -> list[str]:
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _MOUNT, "sh", str(directory)]


def _modes_without_capabilities(directory: Path) -> list[str]:
    _modes(directory)
    return ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


def _modes(directory: Path) -> list[str]:
    """Mode 555 and 444: enough for anyone but root."""
    for path in directory.iterdir():
        path.chmod(0o444)
    directory.chmod(0o555)
    return []


def _read_only_prefix(directory: Path) -> list[str]:
    """A command prefix under which `directory` cannot be written: the first way that, tried on an empty
    directory, lets a command run but not write there."""
    for way in (_bind_read_only, _modes_without_capabilities, _modes):
        with tempfile.TemporaryDirectory() as probe:
            prefix = way(Path(probe))
            try:
                runs = subprocess.run([*prefix, "true"], capture_output=True, timeout=30, check=False)
                writes = subprocess.run([*prefix, "touch", f"{probe}/x"], capture_output=True, timeout=30, check=False)
            except FileNotFoundError:  # no unshare or setpriv here
                continue
            finally:
                Path(probe).chmod(0o755)
            if runs.returncode == 0 and writes.returncode != 0:
                return way(directory)
    pytest.skip("no way to make a directory read-only here (mount namespace, capabilities or modes)")


def test_reading_commands_read_a_store_on_a_read_only_mount(tmp_path: Path) -> None:
    shelf = tmp_path / "shelf"
    store = shelf / "verdicts.db"
    commit = "3f2a9c1d7e4b5a6c8d9e0f1a2b3c4d5e6f708192"
    verdict = check_example(tmp_path, "passing", "--project", "bank/ledger", "--commit", commit, store=store)
    release = tmp_path / "release.yaml"
    release.write_text(f'name: "2026.12"\nmembers:\n  - {{project: bank/ledger, commit: "{commit}"}}\n')
    defined = subprocess.run(
        [GATEKEEPER, "release", "define", str(release), "--store", str(store)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert defined.returncode == 0, defined.stderr
    before = sorted(path.name for path in shelf.iterdir())
    assert before == ["verdicts.db"]  # the writers closed it cleanly: no -wal or -shm left

    reads = {
        "verdicts list": ["verdicts", "list"],
        "verdicts show": ["verdicts", "show", verdict["id"][:8], "--format", "json"],
        "report": ["report", "--project", "bank/ledger", "--format", "markdown", "--since", "2000-01-01"],
        "release check": ["release", "check", "--release", "2026.12"],
    }
    prefix = _read_only_prefix(shelf)
    outputs = {}
    for name, args in reads.items():
        command = [*prefix, GATEKEEPER, *args, "--store", str(store)]
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
        assert result.returncode == 0, f"{name}: {result.stderr}"
        outputs[name] = result.stdout
    assert verdict["id"][:12] in outputs["verdicts list"]
    assert f'"id": "{verdict["id"]}"' in outputs["verdicts show"]
    assert "bank/ledger" in outputs["report"]
    assert "READY" in outputs["release check"]
    assert sorted(path.name for path in shelf.iterdir()) == before


def test_a_reader_of_an_older_store_migrates_it_first(tmp_path: Path) -> None:
    """Read-only is for a store at this schema; an older one is brought up to date as a writer would,
    so a reader after an upgrade still reads it."""
    import json
    import sqlite3

    from gatekeeper.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore
    from tests.store.test_sqlite import make_verdict

    db = tmp_path / "verdicts.db"
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("BEGIN")
    for statement in (statement for migration in MIGRATIONS[:2] for statement in migration):
        connection.execute(statement)
    connection.execute(
        'INSERT INTO verdicts (id, created_at, status, project, branch, "commit", pipeline, policy_name,'
        " level_achieved, body) VALUES ('old', '2026-11-20T10:00:00.000000Z', 'pass', 'group/app', 'main',"
        " 'c1', '4711', 'p', 3, ?)",
        (json.dumps(make_verdict("old")),),
    )
    connection.execute("PRAGMA user_version = 2")
    connection.execute("COMMIT")
    connection.close()

    with SqliteStore(db, create=False) as reader:
        assert [summary.id for summary in reader.list()] == ["old"]
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        connection.close()
