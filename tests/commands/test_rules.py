"""`gatekeeper rules validate|show|list`.

Semantic cases are data files, tests/data/policies/semantic/*.yaml, in the convention of
tests/data/policies/invalid/ (see tests/test_policy.py): `# expect: [FILE:]LINE:COLUMN: FRAGMENT` lines,
one per problem `rules validate` must report, in order.  They are validated as of TODAY.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from gatekeeper.commands.rules import list_packs, show, validate
from gatekeeper.engine import applies
from gatekeeper.errors import PolicyError
from gatekeeper.packs import rules_directory
from gatekeeper.policy import Comparison, Gate, load_policy, never_applies
from gatekeeper.status import ExitStatus
from tests.conftest import REPO
from tests.test_policy import _expectations

SEMANTIC = Path(__file__).resolve().parents[1] / "data" / "policies" / "semantic"
CASES = sorted(SEMANTIC.glob("*.yaml"))
TODAY = date(2026, 6, 1)
PACKS = sorted(rules_directory().rglob("*.yaml"))
GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS"))}
    environment.pop("GATEKEEPER_STORE", None)
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


# --- validate --------------------------------------------------------------------------------------


def test_every_semantic_case_says_what_it_expects() -> None:
    assert len(CASES) >= 12
    for case in CASES:
        assert _expectations(case), f"{case.name}: no `# expect: LINE:COLUMN: fragment` comment"


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_semantic_case(case: Path) -> None:
    out = io.StringIO()
    with pytest.raises(PolicyError) as raised:
        validate([str(case)], TODAY, out)
    assert raised.value.status is ExitStatus.UNDECIDED
    assert out.getvalue() == ""
    problems = raised.value.problems
    expected = _expectations(case)
    assert len(problems) == len(expected), "\n".join(problems)
    for problem, (where, line, column, fragment) in zip(problems, expected, strict=True):
        assert "\n" not in problem
        prefix = f"{where}:{line}:{column}: "
        assert problem.startswith(prefix), f"{problem!r} does not start with {prefix!r}"
        assert fragment in problem, f"{problem!r} does not say {fragment!r}"


@pytest.mark.parametrize("case", ["expired-waiver.yaml", "expired-waiver-in-parent.yaml", "unreachable-when-glob.yaml"])
def test_author_checks_do_not_stop_a_policy_from_loading(case: str) -> None:
    """An expired waiver just stops applying in `check`; only `rules validate` calls it an error."""
    load_policy(SEMANTIC / case)


def test_an_expired_waiver_is_not_expired_the_day_it_expires() -> None:
    out = io.StringIO()
    assert validate([str(SEMANTIC / "expired-waiver.yaml")], date(2026, 3, 31), out) is ExitStatus.PASS
    assert out.getvalue() == f"{SEMANTIC / 'expired-waiver.yaml'}: ok (1 gate)\n"


@pytest.mark.parametrize(
    ("patterns", "reachable"),
    [
        (["main"], True),
        (["!main"], True),
        (["main", "!main"], False),
        (["!*"], False),
        (["!**"], False),
        (["release/*", "!release/legacy-*"], True),
        (["release/1.*", "!release/*"], False),
        (["release/*", "!release/*"], False),
        (["release/*", "!*"], False),
        (["hotfix-*", "!hotfix-?"], True),  # hotfix-12 matches the first, not the second
        (["hotfix-?", "!hotfix-*"], False),
        (["main", "develop", "!main"], True),
        (["[ab]*", "!a*"], True),  # a class in an include is never guessed to be covered
        (["Main", "!main"], True),  # branch names are case-sensitive, as in engine.applies
    ],
)
def test_never_applies_agrees_with_the_engine(patterns: list[str], reachable: bool) -> None:
    assert (never_applies(patterns) is None) is reachable
    gate = Gate(id="g", condition=Comparison(metric="tests.total", min=1), branches=tuple(patterns))
    samples = ["main", "Main", "develop", "release/1.2", "release/legacy-1", "hotfix-1", "hotfix-12", "b1", "x/y"]
    assert any(applies(gate, branch) for branch in samples) is reachable


@pytest.mark.parametrize("pack", PACKS, ids=[p.relative_to(rules_directory()).as_posix() for p in PACKS])
def test_every_bundled_pack_validates(pack: Path) -> None:
    out = io.StringIO()
    assert validate([str(pack)], date.today(), out) is ExitStatus.PASS
    policy = load_policy(pack)
    expected = f"{len(policy.gates)} gates" + (f", level {policy.level} of {policy.model}" if policy.model else "")
    assert out.getvalue() == f"{pack}: ok ({expected})\n"


def test_validate_reports_the_good_files_and_every_problem_of_the_bad_ones() -> None:
    good = rules_directory() / "starter.yaml"
    bad = [SEMANTIC / "duplicate-id.yaml", SEMANTIC / "several.yaml"]
    out = io.StringIO()
    with pytest.raises(PolicyError) as raised:
        validate([str(bad[0]), str(good), str(bad[1])], TODAY, out)
    assert out.getvalue() == f"{good}: ok (8 gates)\n"
    assert len(raised.value.problems) == 1 + 4
    assert raised.value.problems[0].startswith(f"{bad[0]}:")
    assert all(problem.startswith(f"{bad[1]}:") for problem in raised.value.problems[1:])


def test_validate_on_the_command_line(tmp_path: Path) -> None:
    starter = str(rules_directory() / "starter.yaml")
    stale = str(SEMANTIC / "expired-waiver.yaml")
    result = _run("rules", "validate", "--today", "2026-06-01", starter, stale, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == f"{starter}: ok (8 gates)\n"
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"gatekeeper: error: {stale}:12:14: waivers.0.expires: the waiver expired on 2026-03-31")
    result = _run("rules", "validate", "--today", "2026-03-31", starter, stale, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert "--today" not in _run("rules", "validate", "--help", cwd=tmp_path).stdout


def test_check_still_runs_with_an_expired_waiver_and_the_verdict_says_so(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "policy: stale\ngates:\n  - {id: no-high, metric: findings.high, max: 0}\n"
        "waivers:\n  - match: {tool: bandit, rule: B602}\n    reason: reviewed shell calls\n    expires: 2026-03-31\n"
    )
    verdict = tmp_path / "verdict.json"
    bandit = str(REPO / "examples" / "failing" / "reports" / "bandit.json")
    result = _run(
        "check", "-p", str(policy), bandit, "--no-store", "--today", "2026-06-01", "-o", f"json={verdict}", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr  # decided (the findings count again), not a policy error
    (expired,) = json.loads(verdict.read_text())["waivers"]["expired"]
    assert (expired["expires"], expired["findings"]) == ("2026-03-31", 2)


# --- show ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pack", PACKS, ids=[p.relative_to(rules_directory()).as_posix() for p in PACKS])
def test_show_prints_a_policy_that_loads_to_the_same_digest(pack: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    assert show(str(pack), None, out) is ExitStatus.PASS
    shown = tmp_path / "effective.yaml"
    shown.write_text(out.getvalue(), encoding="utf-8")
    original, reloaded = load_policy(pack), load_policy(shown)
    assert reloaded.digest == original.digest
    assert reloaded.as_document() == original.as_document()
    header = [line for line in out.getvalue().splitlines() if line.startswith("#")]
    assert f"# digest: {original.digest} (what verdicts record as policy.digest)" in header
    for file in original.chain:
        assert f"#   {file}" in header


@pytest.mark.parametrize("branch", ["main", "feature/login", "release/2.0"])
def test_show_with_a_branch_keeps_only_the_gates_that_apply(branch: str, tmp_path: Path) -> None:
    pack = rules_directory() / "caict-cd" / "level-4.yaml"
    out = io.StringIO()
    show(str(pack), branch, out)
    shown = tmp_path / "effective.yaml"
    shown.write_text(out.getvalue(), encoding="utf-8")
    original = load_policy(pack)
    expected = [gate.id for gate in original.gates if applies(gate, branch)]
    assert [gate.id for gate in load_policy(shown).gates] == expected
    assert f"# branch {branch}: only the {len(expected)} of {len(original.gates)} gates" in out.getvalue()
    assert f"# digest: {original.digest}" in out.getvalue()  # the whole effective policy's, as verdicts record


def test_show_filters_out_a_deploy_branch_gate_on_a_feature_branch(tmp_path: Path) -> None:
    pack = rules_directory() / "caict-cd" / "level-3.yaml"
    everywhere, feature = io.StringIO(), io.StringIO()
    show(str(pack), None, everywhere)
    show(str(pack), "feature/x", feature)
    assert "deploy-branch-evidence" in everywhere.getvalue()
    assert "deploy-branch-evidence" not in feature.getvalue()


def test_show_of_a_bad_policy_raises_its_problems() -> None:
    with pytest.raises(PolicyError) as raised:
        show(str(SEMANTIC / "duplicate-id.yaml"), None, io.StringIO())
    assert raised.value.problems[0].startswith(f"{SEMANTIC / 'duplicate-id.yaml'}:10:9: ")


def test_show_on_the_command_line_round_trips(tmp_path: Path) -> None:
    child = tmp_path / "team.yaml"
    child.write_text(
        "policy: team\nextends: caict-cd/level-3\ngates:\n"
        '  - {id: line-coverage, metric: coverage.lines.percent, min: 80, criterion: "测试 / tests ≥ 80%"}\n'
    )
    result = _run("rules", "show", str(child), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "测试 / tests ≥ 80%" in result.stdout  # unicode kept as written
    shown = tmp_path / "shown.yaml"
    shown.write_text(result.stdout, encoding="utf-8")
    assert load_policy(shown).digest == load_policy(child).digest


# --- list ------------------------------------------------------------------------------------------


def _pack_names() -> set[str]:
    return {path.relative_to(rules_directory()).with_suffix("").as_posix() for path in PACKS}


def test_list_names_every_pack() -> None:
    out = io.StringIO()
    assert list_packs("table", out) is ExitStatus.PASS
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["extends:", "policy", "model", "level", "gates"]
    assert {line.split()[0] for line in lines[1:]} == _pack_names()
    assert "caict-cd/level-3  caict-cd-level-3  caict-devops-cd  3      8" in lines  # commits-traced (issue 19)
    assert any(line.split() == ["starter", "starter", "-", "-", "8"] for line in lines)


def test_list_json() -> None:
    out = io.StringIO()
    list_packs("json", out)
    rows = json.loads(out.getvalue())
    assert {row["name"] for row in rows} == _pack_names()
    level3 = next(row for row in rows if row["name"] == "caict-cd/level-3")
    assert level3 == {
        "name": "caict-cd/level-3",
        "path": str(rules_directory() / "caict-cd" / "level-3.yaml"),
        "policy": "caict-cd-level-3",
        "model": "caict-devops-cd",
        "level": 3,
        "gates": len(load_policy(rules_directory() / "caict-cd" / "level-3.yaml").gates),
    }


def test_every_listed_pack_can_be_extended_by_its_name(tmp_path: Path) -> None:
    result = _run("rules", "list", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for row in json.loads(result.stdout):
        child = tmp_path / "child.yaml"
        child.write_text(f"policy: child\nextends: {row['name']}\n")
        assert len(load_policy(child).gates) == row["gates"]
