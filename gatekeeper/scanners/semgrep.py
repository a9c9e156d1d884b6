"""semgrep: pattern-based scanning with the rules bundled in this package, offline.

semgrep pins its own click, so it never joins gatekeeper's environment: it is found through
$GATEKEEPER_SEMGREP (the executable), on PATH, or in a virtualenv beside the one running gatekeeper
(`.venv-semgrep` or `venv-semgrep`).  It runs with metrics and the version check off (each would
otherwise phone home; offline, the version check hangs for ~98 s) and no login.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from gatekeeper.errors import UsageError
from gatekeeper.scanners import Scanner

TOOL = "semgrep"
ENV_VAR = "GATEKEEPER_SEMGREP"
SIBLING_VENVS = (".venv-semgrep", "venv-semgrep")
INSTALL_HINT = (
    "pip install semgrep in its own virtualenv (it pins click) and put it on PATH "
    f"or set {ENV_VAR} to its semgrep executable"
)
_SCRIPTS = "Scripts" if os.name == "nt" else "bin"
_OFFLINE = {"SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0"}


def locate() -> Path | None:
    """$GATEKEEPER_SEMGREP, else semgrep on PATH, else in a sibling virtualenv; None if there is none.

    A $GATEKEEPER_SEMGREP that names nothing runnable is a usage error, not a silent fallback.
    """
    named = os.environ.get(ENV_VAR)
    if named:
        path = Path(named)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise UsageError(f"{ENV_VAR}={named}: no such executable")
        return path
    found = shutil.which(TOOL)
    if found is not None:
        return Path(found)
    environments = Path(sys.prefix).resolve().parent
    for venv in SIBLING_VENVS:
        candidate = environments / venv / _SCRIPTS / TOOL
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def scanner(executable: Path, source: str, report: Path, rules: Path) -> Scanner:
    """JSON scan of `source` with `rules`; rule ids kept as written (semgrep otherwise prefixes the rules
    file's directory, which would make ids, waivers and fingerprints depend on where gatekeeper is).
    `source` comes after `--` and the other paths after `=`: no path is ever read as an option."""
    command = (
        str(executable), "scan", f"--config={rules}", "--no-rewrite-rule-ids",
        "--metrics=off", "--disable-version-check",
        "--json", f"--output={report}", "--quiet", "--", source,
    )  # fmt: skip
    return Scanner(tool=TOOL, command=command, report=report, environment=_OFFLINE)
