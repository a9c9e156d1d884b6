"""bandit: Python security linting, run as `python -m bandit` from the `scan` extra, else from PATH."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from gatekeeper.errors import UsageError
from gatekeeper.scanners import Scanner

TOOL = "bandit"
#: semgrep's default ignores (.semgrepignore when a project has none), so both tools read the same files:
#: environments, build output, vendored code and tests; and any installed packages (site-packages), as
#: in a semgrep virtualenv beside the project's.
EXCLUDED = (".git", ".venv", "venv", ".env", ".tox", ".nox", "node_modules", "build", "dist", "vendor",
            "test", "tests", ".gatekeeper", "site-packages")  # fmt: skip


def locate() -> tuple[str, ...]:
    """The bandit program: this interpreter's module if installed (gatekeeper[scan]), else one on PATH."""
    if importlib.util.find_spec("bandit") is not None:
        return (sys.executable, "-m", "bandit")
    found = shutil.which("bandit")
    if found is None:
        raise UsageError("bandit is not installed: pip install 'gatekeeper[scan]' (or put bandit on PATH)")
    return (found,)


def scanner(program: tuple[str, ...], source: str, report: Path) -> Scanner:
    """Recursive JSON scan of `source`; --exit-zero, so any status but 0 means bandit itself failed.

    `source` comes after `--` and the report path after `=`: no path is ever read as an option.
    """
    excluded = ",".join(f"*/{name}/*" for name in EXCLUDED)
    command = (
        *program, "-r", f"--exclude={excluded}", "--format=json", f"--output={report}", "-q", "--exit-zero",
        "--", source,
    )  # fmt: skip
    return Scanner(tool=TOOL, command=command, report=report)
