"""The code stays as STYLE.md asks: ruff's lint rules and format, and mypy --strict, on every change."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (it comes with gatekeeper's test extras)")
    return found


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "gatekeeper", "tests", "bench", "examples"),
        ("ruff", "format", "--check", "gatekeeper", "tests", "bench", "examples"),
        ("mypy", "gatekeeper"),
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_the_code_is_clean(command: tuple[str, ...]) -> None:
    result = subprocess.run(
        [tool(command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
