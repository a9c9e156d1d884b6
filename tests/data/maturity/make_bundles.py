"""Regenerate the maturity evidence bundles by running the real tools on variants of examples/sample.

The maturity table test (tests/test_maturity.py) must stand on what pytest, coverage.py and bandit really
write, so this script makes every report from scratch and anyone can rebuild and check them:

    .venv/bin/python tests/data/maturity/make_bundles.py

Each variant is a copy of examples/sample with files left out or added (the story of one commit), run
once: `coverage run --branch -m pytest --junitxml`, `coverage xml`, `bandit -r src -f json`.  Each
bundle folder gets the reports it names under `reports/`, and, where it has one, `baseline.json`: the
verdict `gatekeeper check` gives on another bundle's reports (what a team archives from its main branch).
The `expected.yaml` beside them is written by hand — it is the specification, so this script never
touches it.  Paths in the reports are relative to the sample (`src/ledger/accounts.py`); timestamps,
durations and host names are as the tools wrote them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SAMPLE = REPO / "examples" / "sample"
GATEKEEPER = Path(sys.executable).with_name("gatekeeper")
#: The policy baseline verdicts are made with; maturity is assessed over all five packs whatever it is.
BASELINE_POLICY = "rules/caict-cd/level-1.yaml"
REPORTS = {"junit": "junit.xml", "coverage": "coverage.xml", "bandit": "bandit.json"}
LEGACY = ("src/ledger/legacy.py", "tests/test_legacy.py")

ARCHIVE = '''\
"""Account snapshots for the auditors' replay tool, which reads only pickles."""

from __future__ import annotations

import pickle

from ledger.accounts import Account


def snapshot(account: Account) -> bytes:
    return pickle.dumps(account)


def restore(blob: bytes) -> Account:
    """Blobs come from our own archive bucket; bandit still (rightly) flags the unpickling."""
    account = pickle.loads(blob)
    if not isinstance(account, Account):
        raise TypeError("not an account snapshot")
    return account
'''
ARCHIVE_TESTS = """\
from __future__ import annotations

import pickle

import pytest

from ledger.accounts import Ledger
from ledger.archive import restore, snapshot


def test_a_snapshot_restores_the_account() -> None:
    account = Ledger().open("DE01", "Ada")
    assert restore(snapshot(account)) == account


def test_restore_refuses_anything_else() -> None:
    with pytest.raises(TypeError):
        restore(pickle.dumps({"number": "DE01"}))
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    """One commit of the sample: which files it lacks and which it adds."""

    name: str
    left_out: tuple[str, ...] = ()
    added: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundle:
    """One evidence bundle: a variant's reports (some of them) and, optionally, a baseline verdict."""

    name: str
    variant: str
    reports: tuple[str, ...] = ("junit", "coverage", "bandit")
    baseline_from: str | None = None  # the bundle whose reports give the baseline verdict


VARIANTS = {
    variant.name: variant
    for variant in (
        # The migration branch: the legacy importer and its tests, two of which fail.
        Variant(name="migration"),
        # The ledger as released (examples/passing): no legacy importer.
        Variant(name="released", left_out=LEGACY),
        # The legacy importer merged without its tests: the tests pass, the scan sees shell=True and eval.
        Variant(name="legacy-untested", left_out=("tests/test_legacy.py",)),
        # The statement tests deleted: coverage falls by about ten points.
        Variant(name="statements-untested", left_out=(*LEGACY, "tests/test_statements.py")),
        # A new, fully tested snapshot module that unpickles: one medium finding (bandit B301).
        Variant(
            name="archive",
            left_out=LEGACY,
            added={"src/ledger/archive.py": ARCHIVE, "tests/test_archive.py": ARCHIVE_TESTS},
        ),
    )
}

BUNDLES = (
    Bundle(name="level-0-failing-tests", variant="migration"),
    Bundle(name="level-1-tests-only", variant="released", reports=("junit",)),
    Bundle(name="level-2-high-findings", variant="legacy-untested"),
    Bundle(name="level-3-coverage-fell", variant="statements-untested", baseline_from="level-5-released"),
    Bundle(name="level-3-medium-finding-on-main", variant="archive"),
    Bundle(name="level-4-slow-feedback", variant="released", baseline_from="level-5-released"),
    Bundle(name="level-4-new-finding-on-feature-branch", variant="archive", baseline_from="level-5-released"),
    Bundle(name="level-5-released", variant="released", baseline_from="level-3-coverage-fell"),
)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="maturity-") as scratch:
        made = {name: run_variant(variant, Path(scratch) / name) for name, variant in VARIANTS.items()}
        for bundle in BUNDLES:
            target = HERE / bundle.name / "reports"
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            for kind in bundle.reports:
                shutil.copyfile(made[bundle.variant] / REPORTS[kind], target / REPORTS[kind])
    for bundle in BUNDLES:
        baseline = HERE / bundle.name / "baseline.json"
        baseline.unlink(missing_ok=True)
        if bundle.baseline_from is not None:
            write_baseline(bundle.baseline_from, baseline)
    print("done: " + ", ".join(bundle.name for bundle in BUNDLES))
    return 0


def run_variant(variant: Variant, workdir: Path) -> Path:
    """Copy the sample, apply the variant, run the tools; the directory holding the reports."""
    shutil.copytree(SAMPLE, workdir, ignore=shutil.ignore_patterns(".ruff_cache", "__pycache__", ".coverage*"))
    for relative in variant.left_out:
        (workdir / relative).unlink()
    for relative, text in variant.added.items():
        (workdir / relative).write_text(text, encoding="utf-8")
    print(f"\n== {variant.name} ==", flush=True)
    # pytest exits 1 when tests fail: the migration variant's reports are about exactly that.
    run(workdir, [sys.executable, "-m", "coverage", "run", "--branch", "-m", "pytest", "-q",
                  "--junitxml=junit.xml", "-o", "junit_family=xunit2"], ok=(0, 1))  # fmt: skip
    run(workdir, [sys.executable, "-m", "coverage", "xml", "-o", "coverage.xml"])
    run(workdir, [sys.executable, "-m", "bandit", "-r", "src", "-f", "json", "-o", "bandit.json", "-q",
                  "--exit-zero"])  # fmt: skip
    _relativise(workdir / "junit.xml", workdir)
    return workdir


def write_baseline(source: str, target: Path) -> None:
    """The verdict of `source`'s reports on main: what a team archives from its main branch's last build."""
    reports = (HERE / source / "reports").relative_to(REPO).as_posix()
    command = [
        str(GATEKEEPER), "check", "-p", BASELINE_POLICY, reports, "--format", "json", "--no-store",
        "--project", "ledger", "--branch", "main",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, env=_environment(), capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):
        raise SystemExit(f"error: exit code {result.returncode} from gatekeeper: {result.stderr}")
    target.write_text(result.stdout, encoding="utf-8")
    print(f"{target.relative_to(REPO)}: the verdict of {reports}")


def run(cwd: Path, command: Sequence[str], ok: Sequence[int] = (0,)) -> None:
    print("$ " + " ".join(Path(part).name if part == sys.executable else part for part in command), flush=True)
    result = subprocess.run(command, cwd=cwd, env=_environment(), check=False)
    if result.returncode not in ok:
        raise SystemExit(f"error: exit code {result.returncode} from {command[2]}")


def _environment() -> dict[str, str]:
    """No CI, coverage or pytest settings of the caller leak into the runs."""
    prefixes = ("COVERAGE_", "PYTEST_", "GITHUB_", "GITLAB", "CI_", "JENKINS", "GATEKEEPER_")
    environment = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    return {**environment, "PYTHONDONTWRITEBYTECODE": "1"}


def _relativise(junit: Path, root: Path) -> None:
    """pytest writes a skipped test's location as an absolute path; it becomes relative, like every other."""
    text = junit.read_text(encoding="utf-8")
    prefix = f"{root.resolve()}{os.sep}"
    if prefix in text:
        junit.write_text(text.replace(prefix, ""), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
