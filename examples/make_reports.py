"""Regenerate every bundled example report by running the real tools on examples/sample.

gatekeeper's own test data must come from real runs of pytest, coverage, bandit and semgrep, so a fresh
clone can rebuild it and anyone can check that a report says what the tool said.  Run it from anywhere:

    .venv/bin/python examples/make_reports.py                  # uses examples/.venv-semgrep if present
    .venv/bin/python examples/make_reports.py --setup-semgrep  # first creates that venv (pip install semgrep)

pytest, coverage and bandit run with the interpreter running this script (bandit needs `bandit[sarif]`).
semgrep pins its own click, so it lives in its own virtualenv and is only ever run as a program; when it is
absent the script says so and keeps the semgrep reports already there.  Every tool runs from
examples/sample, so paths in the reports are relative (`src/ledger/accounts.py`); timestamps and
durations are kept as the tools wrote them.  Running it again replaces the reports.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
SAMPLE = EXAMPLES / "sample"
RULES = EXAMPLES / "semgrep-rules.yaml"
SEMGREP_VENV = EXAMPLES / ".venv-semgrep"
SCRIPTS = "Scripts" if os.name == "nt" else "bin"

#: pytest exit codes that mean "the tests ran" (all passed / some failed); anything else is a broken run.
PYTEST_RAN = (0, 1)
#: The line pytest closes with, e.g. "==== 2 failed, 34 passed, 1 skipped in 1.10s ====".
PYTEST_SUMMARY = re.compile(r"^=+ (?P<summary>\d+ \w+.* in [\d.]+s.*?) =+$", re.MULTILINE)

#: Files each tool writes, removed before a run so nothing stale survives.
COVERAGE_AND_TEST_REPORTS = (
    "junit.xml",
    "pytest-summary.txt",
    ".coverage",
    "coverage.json",
    "coverage.xml",
    "coverage.lcov",
)
BANDIT_REPORTS = ("bandit.json", "bandit.sarif")
SEMGREP_REPORTS = ("semgrep.json", "semgrep.sarif")


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """One example project: a selection of the sample package's code and tests."""

    name: str
    expect_tests_pass: bool
    #: Source files left out of coverage, bandit and semgrep, relative to examples/sample.
    sources_left_out: tuple[str, ...] = ()
    #: Test files pytest does not collect.
    tests_left_out: tuple[str, ...] = ()

    @property
    def reports(self) -> Path:
        return EXAMPLES / self.name / "reports"


PROJECTS = (
    # The ledger as released: the legacy importer and its tests are not part of it.
    Project(
        name="passing",
        expect_tests_pass=True,
        sources_left_out=("src/ledger/legacy.py",),
        tests_left_out=("tests/test_legacy.py",),
    ),
    # The migration branch: the legacy importer is in, with its security problems and failing tests.
    Project(name="failing", expect_tests_pass=False),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup-semgrep", action="store_true", help=f"create {_rel(SEMGREP_VENV)} first")
    parser.add_argument("--semgrep", type=Path, help="semgrep executable to use instead of the venv's")
    args = parser.parse_args(argv)

    if args.setup_semgrep:
        setup_semgrep()
    semgrep: Path | None = args.semgrep or SEMGREP_VENV / SCRIPTS / "semgrep"
    if semgrep is not None and not semgrep.exists():
        print(
            f"semgrep not found at {_rel(semgrep)}: keeping the previous semgrep reports"
            " (run with --setup-semgrep to install it in its own venv)"
        )
        semgrep = None

    surprises: list[str] = []
    for project in PROJECTS:
        print(f"\n== examples/{project.name} ==")
        project.reports.mkdir(parents=True, exist_ok=True)
        passed = run_tests_with_coverage(project)
        if passed != project.expect_tests_pass:
            outcome = "passed" if passed else "failed"
            surprises.append(f"examples/{project.name}: the tests {outcome}, which this example must not")
        run_bandit(project)
        if semgrep is not None:
            run_semgrep(project, semgrep)

    print()
    for surprise in surprises:
        print(f"warning: {surprise}")
    print("done: reports in " + ", ".join(f"{_rel(p.reports)}/" for p in PROJECTS))
    return 1 if surprises else 0


def run_tests_with_coverage(project: Project) -> bool:
    """pytest under `coverage run --branch`, then every coverage report; True if all tests passed."""
    out = project.reports
    _remove(out, COVERAGE_AND_TEST_REPORTS)
    data_file = f"--data-file={_from_sample(out / '.coverage')}"
    omit = [f"--omit={','.join(project.sources_left_out)}"] if project.sources_left_out else []
    ignore = [f"--ignore={p}" for p in project.tests_left_out]
    command = [
        *_python("coverage"), "run", "--branch", data_file, *omit,
        "-m", "pytest", f"--junitxml={_from_sample(out / 'junit.xml')}", "-o", "junit_family=xunit2", *ignore,
    ]  # fmt: skip
    result = _run(command, capture=True, ok=PYTEST_RAN)
    summary = PYTEST_SUMMARY.findall(result.stdout)
    if not summary:
        raise SystemExit(f"error: no pytest summary line in the output of: {shlex.join(command)}")
    (out / "pytest-summary.txt").write_text(summary[-1] + "\n", encoding="utf-8")
    _relativise_skip_locations(out / "junit.xml")
    for kind, name in (("json", "coverage.json"), ("xml", "coverage.xml"), ("lcov", "coverage.lcov")):
        _run([*_python("coverage"), kind, data_file, "-o", _from_sample(out / name)])
    return result.returncode == 0


def run_bandit(project: Project) -> None:
    """bandit JSON and SARIF over the project's sources; --exit-zero because findings are the point."""
    _remove(project.reports, BANDIT_REPORTS)
    exclude = ["-x", ",".join(project.sources_left_out)] if project.sources_left_out else []
    for kind, name in (("json", "bandit.json"), ("sarif", "bandit.sarif")):
        output = _from_sample(project.reports / name)
        _run([*_python("bandit"), "-r", "src", *exclude, "-f", kind, "-o", output, "-q", "--exit-zero"])


def run_semgrep(project: Project, semgrep: Path) -> None:
    """One semgrep scan writing both JSON and SARIF, so the two reports hold the same findings."""
    _remove(project.reports, SEMGREP_REPORTS)
    # semgrep anchors an --exclude path at the scan root (src/), so name the file itself.
    exclude = [f"--exclude={Path(p).name}" for p in project.sources_left_out]
    command = [
        str(semgrep), "scan", "--config", _from_sample(RULES),
        # Without these two, semgrep phones home and hangs ~98 s offline on its version check.
        "--metrics=off", "--disable-version-check",
        # Inside a git work tree semgrep scans only tracked files; the sample must be scanned either way.
        "--no-git-ignore",
        "--quiet", *exclude,
        "--json", "--output", _from_sample(project.reports / "semgrep.json"),
        "--sarif-output", _from_sample(project.reports / "semgrep.sarif"),
        "src",
    ]  # fmt: skip
    environment = {"SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0"}
    _run(command, env=environment)


def _relativise_skip_locations(junit: Path) -> None:
    """pytest writes a skipped test's location as an absolute path (`/home/me/…/tests/x.py:74: reason`).

    This is the one edit made to any tool's output: that prefix becomes relative, as every other path in
    the reports already is, so reports do not carry the machine they were made on.
    """
    prefix = f"{SAMPLE}{os.sep}"
    text = junit.read_text(encoding="utf-8")
    if prefix in text:
        junit.write_text(text.replace(prefix, ""), encoding="utf-8")


def setup_semgrep() -> None:
    """semgrep in its own venv: it pins click, which must not leak into gatekeeper's environment."""
    if not (SEMGREP_VENV / SCRIPTS / "semgrep").exists():
        python = SEMGREP_VENV / SCRIPTS / "python"
        _run([sys.executable, "-m", "venv", str(SEMGREP_VENV)], cwd=EXAMPLES)
        _run([str(python), "-m", "pip", "install", "--quiet", "semgrep"], cwd=EXAMPLES)
    else:
        print(f"semgrep already installed in {_rel(SEMGREP_VENV)}")


def _python(module: str) -> list[str]:
    """A tool run as `python -m` with this interpreter, which must have it (and bandit's SARIF extra)."""
    needed = [module, "sarif_om", "jschema_to_python"] if module == "bandit" else [module]
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        extra = "bandit[sarif]" if module == "bandit" else module
        raise SystemExit(f"error: {', '.join(missing)} missing in {sys.executable}: pip install '{extra}'")
    return [sys.executable, "-m", module]


def _run(
    command: Sequence[str],
    *,
    cwd: Path = SAMPLE,
    capture: bool = False,
    ok: Sequence[int] = (0,),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one tool, saying what runs (paths shown relative to the repository); stop on a broken run."""
    shown = [_rel(Path(part)) if Path(part).is_absolute() else part for part in command]
    print(f"$ (cd {_rel(cwd)} && {shlex.join(shown)})", flush=True)
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    result = subprocess.run(command, cwd=cwd, env=environment, text=True, capture_output=capture, check=False)
    if capture:
        print(result.stdout, end="")
        print(result.stderr, end="", file=sys.stderr)
    if result.returncode not in ok:
        raise SystemExit(f"error: exit code {result.returncode} from: {shlex.join(shown)}")
    if result.returncode != 0:
        print(f"(exit code {result.returncode}, as expected for this project: carrying on)")
    return result


def _remove(directory: Path, names: Sequence[str]) -> None:
    for name in names:
        (directory / name).unlink(missing_ok=True)


def _from_sample(path: Path) -> str:
    """A path as the tools see it from examples/sample, so nothing of this machine ends up in reports."""
    return os.path.relpath(path, SAMPLE)


def _rel(path: Path) -> str:
    """A path for messages: relative to the repository root where it lies inside it."""
    try:
        return path.relative_to(EXAMPLES.parent).as_posix()
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
