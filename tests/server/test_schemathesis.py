"""Property-based requests generated from the server's own OpenAPI document: none may get a 5xx.

Two runs per database: every operation, and the reads (lists, filters, cursors, ids, history,
releases) with more examples each, since they take the most free-form parameters.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import Server

RUNS = {
    "every-operation": ["--max-examples", "30", "--seed", "1"],
    "reads": ["--include-method", "GET", "--max-examples", "50", "--seed", "2"],
}


@pytest.mark.parametrize("run", list(RUNS))
def test_no_server_errors(server: Server, tmp_path: Path, run: str) -> None:
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
            "--phases",
            "examples,coverage,fuzzing",
            "--request-timeout",
            "10",
            "--no-color",
            *RUNS[run],
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
