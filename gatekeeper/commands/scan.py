"""`gatekeeper scan`: run bandit and semgrep on a source tree, then hand their reports to `check`.

For teams with no security scan in their pipeline yet.  This module runs the scanners and works out
which reports `check` reads; the CLI then runs `check` itself with them, so every option of `check`
means the same here and nothing of its logic is repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gatekeeper import scanners
from gatekeeper.errors import InputError, UsageError
from gatekeeper.policy import load_policy
from gatekeeper.scanners import bandit, semgrep

DEFAULT_REPORTS_DIR = ".gatekeeper/scan"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOptions:
    source: str = "."
    reports_dir: str = DEFAULT_REPORTS_DIR
    policy: str | None = None  # None: the bundled security-only policy
    reports: Sequence[str] = ()  # more reports for `check`, as it takes them ([FORMAT:]PATH, globs)
    semgrep_rules: str | None = None  # None: the bundled rules


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """What `check` runs with after the scan: the policy file and every report argument."""

    policy: str
    reports: tuple[str, ...]
    crash: InputError | None = None  # the first scanner that crashed: `check` records an error verdict


def prepare(options: ScanOptions, err: TextIO) -> Prepared:
    """Load the policy first (a bad one fails before a slow scan), run the scanners, list the reports.

    Without semgrep, bandit runs alone and one warning line says what to install; the verdict's inputs
    then show bandit's report only.
    """
    policy_path = options.policy or str(scanners.SCAN_POLICY)
    policy = load_policy(policy_path)
    if options.source.startswith("-"):
        # The scanners take it after `--` anyway; refused so that no version of them reads it as an option.
        raise UsageError(
            f"{options.source}: a path to scan may not start with '-' (a scanner could take it for an option); "
            f"write ./{options.source}"
        )
    source = Path(options.source)
    if not source.exists():
        raise UsageError(f"{options.source}: no such file or directory to scan")
    rules = Path(options.semgrep_rules) if options.semgrep_rules else scanners.SEMGREP_RULES
    if not rules.is_file():
        raise UsageError(f"{rules}: no such semgrep rules file")
    reports_dir = Path(options.reports_dir)
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{reports_dir}: cannot create the reports directory: {error.strerror}") from None

    program = bandit.locate()  # before anything runs: no bandit is a usage error
    executable = semgrep.locate()
    to_run = [bandit.scanner(program, options.source, reports_dir / "bandit.json")]
    if executable is None:
        (reports_dir / "semgrep.json").unlink(missing_ok=True)  # never read a previous run's as this one's
        err.write(f"gatekeeper: warning: semgrep not found, scanning with bandit only: {semgrep.INSTALL_HINT}\n")
        err.flush()
    else:
        to_run.append(semgrep.scanner(executable, options.source, reports_dir / "semgrep.json", rules))
    written: list[str] = []
    crash: InputError | None = None
    for scanner in to_run:  # a crash of one keeps the other's report: nothing already scanned is lost
        try:
            written.append(f"{scanner.tool}:{scanners.run(scanner)}")
        except InputError as error:
            crash = crash or error
    others = tuple(options.reports) or policy.reports
    return Prepared(policy=policy_path, reports=(*written, *others), crash=crash)
