"""Property-based requests generated from the server's own OpenAPI document: none may get a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.server.conftest import Server


def test_no_server_errors(server: Server, tmp_path: Path) -> None:
    st = str(Path(sys.executable).with_name("st"))
    result = subprocess.run(
        [
            st,
            "run",
            f"{server.url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {server.tokens['admin']}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "30",
            "--phases",
            "examples,coverage,fuzzing",
            "--request-timeout",
            "10",
            "--no-color",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
