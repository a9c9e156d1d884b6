"""Security scanners `gatekeeper scan` runs on a source tree when a team has none in its pipeline yet.

Each scanner is an external program (bandit, semgrep), run as a user would run it, writing its own JSON
report, which `check` then reads like any other report.  A scanner module (`bandit`, `semgrep`) knows
how to find its program and what to call it with; this module runs one and tells a scan that finished
(with or without findings) from a scanner that crashed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gatekeeper.errors import InputError

#: Bundled files: the semgrep rules and the policy `scan` applies when given none.
HERE = Path(__file__).resolve().parent
SEMGREP_RULES = HERE / "semgrep-rules.yaml"
SCAN_POLICY = HERE / "scan-policy.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class Scanner:
    """One scanner ready to run: its command line, the report it writes, and the exit statuses of a scan
    that finished (bandit exits 1 on findings unless told otherwise; semgrep 0)."""

    tool: str  # also the report's format name, as `check` takes it (bandit, semgrep)
    command: tuple[str, ...]
    report: Path
    finished: frozenset[int] = frozenset({0})
    environment: Mapping[str, str] = field(default_factory=dict)


def run(scanner: Scanner) -> Path:
    """Run the scanner in the current directory (so report paths are relative to it); return its report.

    A scanner that cannot start, exits with any other status, or writes no report is an input error
    naming the tool, the program and the last thing it said: the gate cannot decide without its scan.
    """
    scanner.report.unlink(missing_ok=True)  # a stale report must never pass for this run's
    program = scanner.command[0]
    try:
        result = subprocess.run(
            scanner.command,
            env={**os.environ, **scanner.environment},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
    except OSError as error:
        raise InputError(program, f"{scanner.tool} could not be started: {error.strerror}") from None
    if result.returncode not in scanner.finished:
        said = _reported_error(scanner.report) or _last_line(result.stderr) or _last_line(result.stdout) or "no output"
        raise InputError(program, f"{scanner.tool} crashed (exit status {result.returncode}): {said}")
    if not scanner.report.is_file() or scanner.report.stat().st_size == 0:
        raise InputError(program, f"{scanner.tool} finished but wrote no report to {scanner.report}")
    return scanner.report


def _reported_error(report: Path) -> str:
    """The last error a JSON report lists (semgrep writes its fatal errors there, not on stderr)."""
    import json

    try:
        if report.stat().st_size > _ERROR_REPORT_LIMIT:
            return ""
        errors = json.loads(report.read_text(encoding="utf-8", errors="replace")).get("errors")
    except (OSError, ValueError, AttributeError):
        return ""
    if not isinstance(errors, list) or not errors or not isinstance(errors[-1], dict):
        return ""
    last = errors[-1]
    said = next((last[key] for key in ("message", "long_msg", "short_msg", "reason") if last.get(key)), "")
    return _last_line(str(said))


#: A report this large is not a crash's; it is not read for an error message.
_ERROR_REPORT_LIMIT = 1 << 20


def _last_line(text: str) -> str:
    """The last non-blank line a tool printed: where tracebacks and CLI errors say what went wrong."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
