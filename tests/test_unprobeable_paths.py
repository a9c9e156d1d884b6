"""Paths the OS refuses to look at (a name over 255 bytes, a symlink loop), given to every command that
probes a user's path: exit 2, one line naming the path (shortened when huge) and the OS's reason, never an
internal error (exit 3), never "no such file" or "no verdicts recorded yet".

Python 3.11's `Path.exists()` and `is_dir()` raise for a name too long and call a symlink loop absent;
`Path.resolve()` raises RuntimeError on a loop.  Through the installed console script, as CI runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.errors import MAX_SHOWN_PATH
from tests.test_bad_input import gatekeeper

JUNIT = '<testsuite name="s"><testcase name="a"/></testsuite>'
LONG = "z" * 300  # one name component over the 255 bytes every common file system allows
TOO_LONG = "File name too long"
LOOP = "Too many levels of symbolic links"


def _workspace(tmp_path: Path) -> Path:
    """A policy, a report, and l1/l2 (`.yaml`, `.db`, `.xml`) linked to each other in a loop."""
    (tmp_path / "p.yaml").write_text("policy: p\ngates: []\n", encoding="utf-8")
    (tmp_path / "junit.xml").write_text(JUNIT, encoding="utf-8")
    for suffix in ("yaml", "db", "xml", "json"):
        (tmp_path / f"l2.{suffix}").symlink_to(f"l1.{suffix}")
        (tmp_path / f"l1.{suffix}").symlink_to(f"l2.{suffix}")
    (tmp_path / "extends-long.yaml").write_text(f"policy: e\nextends: {LONG}.yaml\ngates: []\n", encoding="utf-8")
    (tmp_path / "extends-loop.yaml").write_text("policy: e\nextends: l1.yaml\ngates: []\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text("name: r1\nmembers:\n  - {project: p, commit: abcdef1}\n", encoding="utf-8")
    return tmp_path


CHECK = ("check", "-p", "p.yaml", "--no-store")
CASES = [
    # (arguments, what the error line names, the OS's reason)
    pytest.param((*CHECK, f"{LONG}.xml"), "zzz", TOO_LONG, id="check-report"),
    pytest.param((*CHECK, f"{LONG}*.xml"), "zzz", TOO_LONG, id="check-glob"),
    pytest.param((*CHECK, f"junit:{LONG}.xml"), "zzz", TOO_LONG, id="check-forced-format"),
    pytest.param((*CHECK, "l1.xml"), "l1.xml", LOOP, id="check-report-loop"),
    pytest.param(("metrics", f"{LONG}.xml"), "zzz", TOO_LONG, id="metrics"),
    pytest.param(("metrics", "l1.xml"), "l1.xml", LOOP, id="metrics-loop"),
    pytest.param(("check", "-p", f"{LONG}.yaml", "--no-store", "junit.xml"), "zzz", TOO_LONG, id="policy"),
    pytest.param(("check", "-p", "l1.yaml", "--no-store", "junit.xml"), "l1.yaml", LOOP, id="policy-loop"),
    pytest.param(("check", "-p", "extends-long.yaml", "--no-store", "junit.xml"), "zzz", TOO_LONG, id="extends"),
    pytest.param(("check", "-p", "extends-loop.yaml", "--no-store", "junit.xml"), "l1.yaml", LOOP, id="extends-loop"),
    pytest.param(("rules", "validate", "l1.yaml"), "l1.yaml", LOOP, id="rules-validate-loop"),
    pytest.param(("verdicts", "list", "--store", f"{LONG}.db"), "zzz", TOO_LONG, id="verdicts-list"),
    pytest.param(("verdicts", "list", "--store", "l1.db"), "l1.db", LOOP, id="verdicts-list-loop"),
    pytest.param(("verdicts", "list", "--store", "l1.db", "--format", "json"), "l1.db", LOOP, id="verdicts-json-loop"),
    pytest.param(("verdicts", "show", "latest", "--store", "l1.db"), "l1.db", LOOP, id="verdicts-show-loop"),
    pytest.param(("report", "--project", "p", "--store", f"{LONG}.db"), "zzz", TOO_LONG, id="report"),
    pytest.param(("report", "--project", "p", "--store", "l1.db"), "l1.db", LOOP, id="report-loop"),
    pytest.param(("delivery", "--project", "p", "--store", f"{LONG}.db"), "zzz", TOO_LONG, id="delivery"),
    pytest.param(("delivery", "--project", "p", "--store", "l1.db"), "l1.db", LOOP, id="delivery-loop"),
    pytest.param(("explain", f"{LONG}.json"), "zzz", TOO_LONG, id="explain"),
    pytest.param(("explain", "l1.json"), "l1.json", LOOP, id="explain-loop"),
    pytest.param(("explain", "latest", "--store", "l1.db"), "l1.db", LOOP, id="explain-store-loop"),
    pytest.param(("release", "check", "--file", "r.yaml", "--store", "l1.db"), "l1.db", LOOP, id="release-loop"),
    pytest.param(("release", "check", "--file", "r.yaml", "--store", f"{LONG}.db"), "zzz", TOO_LONG, id="release"),
]


@pytest.mark.parametrize(("arguments", "names", "reason"), CASES)
def test_a_path_the_os_refuses_is_exit_2_naming_it_and_why(
    tmp_path: Path, arguments: tuple[str, ...], names: str, reason: str
) -> None:
    run = gatekeeper(*arguments, cwd=_workspace(tmp_path))
    assert "Traceback" not in run.stdout + run.stderr
    assert run.code == 2, run
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    line = lines[0]
    assert line.startswith("gatekeeper: error: "), line
    assert names in line and reason in line, line
    assert "internal error" not in line and "no such" not in line and "no verdicts" not in line, line
    if reason == TOO_LONG and f"{LONG}.yaml" not in arguments:  # (a policy's problems lead with its name whole)
        assert LONG not in line, "a huge name is shortened"


def test_a_huge_path_is_named_by_its_two_ends() -> None:
    from gatekeeper.errors import shown_path

    shown = shown_path(f"{LONG}.xml")
    assert len(shown) == MAX_SHOWN_PATH and shown.startswith("zzz") and shown.endswith("z.xml") and "…" in shown
    assert shown_path("reports/junit.xml") == "reports/junit.xml"


@pytest.mark.parametrize(("store", "reason"), [(f"{LONG}.db", TOO_LONG), ("l1.db", LOOP)], ids=["long", "loop"])
def test_check_decides_and_warns_when_its_store_cannot_be_looked_at(tmp_path: Path, store: str, reason: str) -> None:
    """A store never changes the decision: the gate's exit code stands, one warning says why nothing was recorded."""
    run = gatekeeper("check", "-p", "p.yaml", "--project", "p", "--store", store, "junit.xml", cwd=_workspace(tmp_path))
    assert "Traceback" not in run.stdout + run.stderr
    assert run.code == 0, run
    assert "warning: verdict not recorded" in run.stderr and reason in run.stderr, run.stderr
