"""What `gatekeeper check` and `gatekeeper metrics` import: only what a plain run uses (issue 16).

Every CI job pays for check's imports, and on a report of 100,000 test cases that fixed cost is most of
what keeps `check` from the library's speed.  A feature that is off (a change to judge, a baseline, flaky
history, a quarantine, waivers, a pipeline's parts, a v1 verdict, the store) must not be imported, nor
must the modules only its messages need: each frozen dataclass costs ~1 ms to create (its methods are
generated and compiled), each module-level regex a compile, `difflib` and `html.entities` their tables.
A module-level import added for one of them would quietly slow every run; this catches it.  Checked in a
fresh interpreter, by module name, with no CI variables (a merge request's base would judge a change).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ONE_CASE = '<testsuite name="s" tests="1"><testcase classname="a.B" name="t" time="0.1"/></testsuite>\n'

#: Every gatekeeper module a plain one-case `check --no-store` may import: reading the policy, the JUnit
#: report and the CI context, tracing the commits (git), deciding, building the verdict, printing text.
CHECK_PATH = {
    "gatekeeper",
    "gatekeeper.cli",
    "gatekeeper.commands",
    "gatekeeper.commands.check",
    "gatekeeper.context",
    "gatekeeper.diff",
    "gatekeeper.diff.git",  # the trace runs git
    "gatekeeper.diff.load",  # which change to judge: none here, found without git
    "gatekeeper.engine",
    "gatekeeper.errors",
    "gatekeeper.known",
    "gatekeeper.metrics",
    "gatekeeper.model",
    "gatekeeper.outputs",
    "gatekeeper.outputs.escape",
    "gatekeeper.outputs.text",
    "gatekeeper.packs",
    "gatekeeper.parsers",
    "gatekeeper.parsers._junit_speedups",
    "gatekeeper.parsers._reruns",
    "gatekeeper.parsers._xml",
    "gatekeeper.parsers.detect",
    "gatekeeper.parsers.junit",
    "gatekeeper.policy",
    "gatekeeper.policy.lint",
    "gatekeeper.policy.load",
    "gatekeeper.policy.located",
    "gatekeeper.policy.messages",
    "gatekeeper.policy.model",
    "gatekeeper.policy.problems",
    "gatekeeper.policy.quickcheck",
    "gatekeeper.policy.resources",
    "gatekeeper.status",
    "gatekeeper.trace",
    "gatekeeper.verdict",
    "gatekeeper.waivers",  # the engine applies the policy's waivers (none here) to the findings (none)
    "gatekeeper.words",
}
#: The modules of features a plain run has off: imported where the feature is on, never before.
FEATURES = {
    "gatekeeper.baseline",
    "gatekeeper.change",
    "gatekeeper.newcode",
    "gatekeeper.diff.collect",
    "gatekeeper.diff.paths",
    "gatekeeper.flaky",
    "gatekeeper.quarantine",
    "gatekeeper.verdict_sections",
    "gatekeeper.verdict_v1",
    "gatekeeper.outputs.pipeline",
    "gatekeeper.policy.fetch",
}
#: Standard-library and third-party modules no plain run needs (did-you-mean suggestions, HTML escaping,
#: the schema validator of a policy with a problem, HTTP, the store).
NOT_NEEDED = {"difflib", "html", "html.entities", "jsonschema", "referencing", "requests", "urllib.request"}

PROBE = """
import atexit, sys
listing = sys.argv.pop(1)
atexit.register(lambda: open(listing, "w", encoding="utf-8").write("\\n".join(sorted(sys.modules))))
sys.argv[0] = "gatekeeper"
from gatekeeper.cli import main
main()
"""


def imported_by(tmp_path: Path, *arguments: str) -> set[str]:
    """The modules `gatekeeper ARGUMENTS` has imported when it exits, run in `tmp_path` (no clone), where
    `one.xml` is a one-case JUnit report and `surefire/` a directory of 101 (more than a verdict lists)."""
    (tmp_path / "one.xml").write_text(ONE_CASE, encoding="utf-8")
    (tmp_path / "surefire").mkdir()
    for number in range(101):
        (tmp_path / "surefire" / f"TEST-{number}.xml").write_text(ONE_CASE, encoding="utf-8")
    listing = tmp_path / "modules.txt"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS", "GATEKEEPER_"))
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(listing), *arguments],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: the starter policy's coverage and findings gates fail
    return set(listing.read_text(encoding="utf-8").split())


@pytest.mark.parametrize("reports", ["one.xml", "surefire"])
def test_a_plain_check_imports_only_its_own_path(tmp_path: Path, reports: str) -> None:
    policy = str(ROOT / "rules" / "starter.yaml")
    imported = imported_by(tmp_path, "check", "--policy", policy, "--no-store", reports)
    assert {name for name in imported if name.startswith("gatekeeper")} - CHECK_PATH == set()
    assert imported & (FEATURES | NOT_NEEDED) == set()
    assert not any(name.startswith(("gatekeeper.store", "gatekeeper.sinks", "sqlite3")) for name in imported)


def test_a_check_with_the_store_imports_no_feature_it_has_off(tmp_path: Path) -> None:
    policy = str(ROOT / "rules" / "starter.yaml")
    imported = imported_by(tmp_path, "check", "--policy", policy, "--store", "verdicts.db", "one.xml")
    assert "gatekeeper.store.sqlite" in imported  # (it did record the verdict)
    assert imported & (FEATURES | NOT_NEEDED) == set()


def test_metrics_imports_no_policy_engine_or_verdict(tmp_path: Path) -> None:
    imported = imported_by(tmp_path, "metrics", "--format", "json", "one.xml")
    gatekeeper = {name for name in imported if name.startswith("gatekeeper")}
    assert gatekeeper & {"gatekeeper.policy", "gatekeeper.engine", "gatekeeper.verdict", "gatekeeper.context"} == set()
    assert gatekeeper - CHECK_PATH == {"gatekeeper.commands.metrics"}
    assert imported & (FEATURES | NOT_NEEDED) == set()
