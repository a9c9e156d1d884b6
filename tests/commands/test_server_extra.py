"""Without the optional extra gatekeeper[server], `serve` and every `tokens` command say how to get it
(exit 2, one line, the same words), never an internal error.  The extra's packages are hidden from a real
`gatekeeper` process by a finder that refuses them, as in an environment that never installed them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

#: Runs the CLI with the server's packages missing: importing any of them fails as if not installed.
HIDDEN = """
import sys
from importlib.abc import MetaPathFinder

class Missing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"sqlalchemy", "fastapi", "starlette", "uvicorn", "alembic"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Missing())
from gatekeeper.cli import main
sys.argv = ["gatekeeper", *sys.argv[1:]]
main()
"""

HINT = "the server needs the optional extra: pip install 'gatekeeper[server]'"


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(("serve",), id="serve"),
        pytest.param(("tokens", "list"), id="tokens-list"),
        pytest.param(("tokens", "create", "--scope", "read"), id="tokens-create"),
        pytest.param(("tokens", "revoke", "0123456789ab"), id="tokens-revoke"),
    ],
)
def test_without_the_server_extra_each_server_command_says_how_to_get_it(
    tmp_path: Path, arguments: tuple[str, ...]
) -> None:
    database = f"sqlite:///{tmp_path / 'server.db'}"
    completed = subprocess.run(
        [sys.executable, "-c", HIDDEN, *arguments, "--db", database],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in completed.stdout + completed.stderr
    assert completed.returncode == 2, completed
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(f"gatekeeper: error: {HINT}"), lines[0]
    assert not (tmp_path / "server.db").exists(), "nothing is created without the extra"
