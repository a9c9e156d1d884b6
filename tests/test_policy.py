"""Policies: every error names file:line:column in one line; `extends` inherits, overrides and digests.

Invalid policies are data files, tests/data/policies/invalid/*.yaml, so adding a case needs no code:
each starts with comment lines `# expect: [FILE:]LINE:COLUMN: FRAGMENT`, one per problem the loader must
report, in order (FILE, relative to the case, when the problem is in a file it extends).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from gatekeeper.errors import PolicyError
from gatekeeper.policy import Comparison, GateSeverity, Group, IfAbsent, Operator, Policy, load_policy
from gatekeeper.status import ExitStatus

DATA = Path(__file__).parent / "data" / "policies"
INVALID = sorted(DATA.glob("invalid/*.yaml"))
VALID = DATA / "valid"
_EXPECT = re.compile(r"#\s*expect:\s*(?:(?P<file>[^\s:]+\.ya?ml):)?(?P<line>\d+):(?P<column>\d+): (?P<fragment>.+)")


def _expectations(case: Path) -> list[tuple[Path, int, int, str]]:
    expected = []
    for line in case.read_text(encoding="utf-8").splitlines():
        match = _EXPECT.match(line)
        if match:
            where = case.parent / match["file"] if match["file"] else case
            expected.append((where, int(match["line"]), int(match["column"]), match["fragment"].rstrip()))
    return expected


def _problems(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert raised.value.status is ExitStatus.UNDECIDED
    assert str(raised.value) == "\n".join(raised.value.problems)
    return raised.value.problems


def test_every_invalid_case_says_what_it_expects() -> None:
    assert len(INVALID) >= 20
    for case in INVALID:
        assert _expectations(case), f"{case.name}: no `# expect: LINE:COLUMN: fragment` comment"


@pytest.mark.parametrize("case", INVALID, ids=[case.stem for case in INVALID])
def test_invalid_policy(case: Path) -> None:
    problems = _problems(case)
    expected = _expectations(case)
    assert len(problems) == len(expected), "\n".join(problems)
    for problem, (where, line, column, fragment) in zip(problems, expected, strict=True):
        assert "\n" not in problem
        prefix = f"{where}:{line}:{column}: "
        assert problem.startswith(prefix), f"{problem!r} does not start with {prefix!r}"
        assert fragment in problem, f"{problem!r} does not say {fragment!r}"


def test_missing_policy_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    assert _problems(missing) == [f"{missing}: no such policy file"]


def test_a_file_with_nothing_in_it_is_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"")
    assert _problems(empty) == [f"{empty}:1:1: the policy file is empty"]


def test_a_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("policy: caf\xe9\n".encode("latin-1"))
    (problem,) = _problems(latin)
    assert problem.startswith(f"{latin}: cannot read policy:")


def test_a_valid_policy_reads_every_field() -> None:
    policy = load_policy(VALID / "base.yaml")
    assert policy.name == "base"
    assert (policy.model, policy.level) == ("caict-devops-cd", 2)
    assert [g.id for g in policy.gates] == ["tests-present", "tests-all-pass", "line-coverage", "security"]
    line = policy.gates[2]
    assert line.condition == Comparison(metric="coverage.lines.percent", min=70)
    assert line.criterion == "2.3 Unit test line coverage is measured"
    assert line.source == f"{VALID / 'base.yaml'}:14"
    assert policy.gates[1].branches == ("main", "release/*", "!release/legacy-*")
    security = policy.gates[3]
    assert security.severity is GateSeverity.WARN
    assert security.if_absent is IfAbsent.SKIP
    assert security.condition == Group(
        operator=Operator.ANY,
        conditions=(
            Comparison(metric="findings.total", equals=0),
            Group(
                operator=Operator.ALL,
                conditions=(Comparison(metric="findings.critical", max=0), Comparison(metric="findings.high", max=0)),
            ),
        ),
    )
    (waiver,) = policy.waivers
    assert (waiver.tool, waiver.rule, waiver.path) == ("bandit", "B101", "tests/**")
    assert waiver.expires is not None and waiver.expires.isoformat() == "2027-06-30"
    assert waiver.source == f"{VALID / 'base.yaml'}:30"
    assert policy.chain == (str(VALID / "base.yaml"),)


def test_a_single_branch_pattern_is_a_list_of_one(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text("policy: p\ngates:\n  - {id: g, metric: tests.total, min: 1, when: {branch: main}}\n")
    assert load_policy(path).gates[0].branches == ("main",)


# --- extends ---------------------------------------------------------------------------------------


def test_child_overrides_a_gate_in_place_adds_and_removes_gates() -> None:
    child = load_policy(VALID / "child.yaml")
    # tests-present switched off; line-coverage overridden where the parent had it; new gate appended.
    assert [g.id for g in child.gates] == ["tests-all-pass", "line-coverage", "security", "no-flaky-tests"]
    line = child.gates[1]
    assert line.condition.min == 85
    assert line.source.startswith(str(VALID / "child.yaml"))
    assert child.gates[0].source.startswith(str(VALID / "base.yaml"))


def test_child_inherits_model_and_level_unless_it_names_them() -> None:
    child = load_policy(VALID / "child.yaml")
    assert (child.model, child.level) == ("caict-devops-cd", 3)  # level overridden, model inherited
    assert child.name == "child"
    assert child.chain == (str(VALID / "child.yaml"), str(VALID / "base.yaml"))


def test_waivers_add_up_parents_first() -> None:
    child = load_policy(VALID / "child.yaml")
    assert [(w.tool, w.rule) for w in child.waivers] == [("bandit", "B101"), ("semgrep", "python.lang.md5")]
    assert child.waivers[0].source.startswith(str(VALID / "base.yaml"))


def test_a_list_of_parents_applies_in_order(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "policy: a\nmodel: m-a\ngates:\n  - {id: one, metric: tests.total, min: 1}\n"
        "  - {id: two, metric: tests.failed, max: 0}\n"
    )
    (tmp_path / "b.yaml").write_text(
        "policy: b\nmodel: m-b\ngates:\n  - {id: two, metric: tests.failed, max: 5}\n"
        "  - {id: three, metric: tests.errors, max: 0}\n"
    )
    (tmp_path / "c.yaml").write_text("policy: c\nextends: [a.yaml, b.yaml]\n")
    policy = load_policy(tmp_path / "c.yaml")
    assert [gate.id for gate in policy.gates] == ["one", "two", "three"]
    assert policy.gates[1].condition.max == 5  # the later parent wins, in the earlier one's place
    assert policy.model == "m-a"


def test_a_bundled_pack_resolves_by_name() -> None:
    policy = load_policy(VALID / "starter-child.yaml")
    assert policy.chain[1] == "starter"  # a bundled pack by its name, never where it is installed
    ids = [gate.id for gate in policy.gates]
    assert ids == [
        "tests-present",
        "tests-all-pass",
        "line-coverage",
        "no-critical-or-high-findings",
        "few-medium-findings",
        "new-lines-covered",
        "no-new-critical-or-high-findings",
        "no-new-test-failures",
        "no-errors",
    ]
    assert policy.gates[2].condition.min == 75


def test_a_local_file_wins_over_a_bundled_pack_of_the_same_name(tmp_path: Path) -> None:
    local = "policy: local\ngates:\n  - {id: mine, metric: tests.total, min: 2}\n"
    (tmp_path / "starter.yaml").write_text(local)
    (tmp_path / "p.yaml").write_text("policy: p\nextends: starter.yaml\n")
    assert [gate.id for gate in load_policy(tmp_path / "p.yaml").gates] == ["mine"]


def test_digest_is_equal_for_equal_effective_policies() -> None:
    # flat.yaml writes out by hand what child.yaml means through extends.
    child, flat = load_policy(VALID / "child.yaml"), load_policy(VALID / "flat.yaml")
    assert child.as_document() == flat.as_document()
    assert child.digest == flat.digest
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", child.digest)


def test_digest_changes_with_a_threshold(tmp_path: Path) -> None:
    text = (VALID / "flat.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "flat.yaml"
    changed.write_text(text.replace("min: 85", "min: 86"), encoding="utf-8")
    assert load_policy(changed).digest != load_policy(VALID / "flat.yaml").digest


def test_digest_ignores_where_the_policy_lives_and_its_comments(tmp_path: Path) -> None:
    text = (VALID / "flat.yaml").read_text(encoding="utf-8")
    moved = tmp_path / "elsewhere" / "renamed.yaml"
    moved.parent.mkdir()
    moved.write_text("# a comment changes nothing\n" + text, encoding="utf-8")
    assert load_policy(moved).digest == load_policy(VALID / "flat.yaml").digest


def test_digest_is_of_the_document_not_of_the_dataclass() -> None:
    policy = load_policy(VALID / "flat.yaml")
    assert replace(policy, path="x", chain=("x",)).digest == policy.digest
    assert replace(policy, level=5).digest != policy.digest


def test_as_document_is_itself_a_valid_policy(tmp_path: Path) -> None:
    import yaml

    policy = load_policy(VALID / "child.yaml")
    again = tmp_path / "effective.yaml"
    again.write_text(yaml.safe_dump(policy.as_document(), sort_keys=False), encoding="utf-8")
    reloaded = load_policy(again)
    assert reloaded.digest == policy.digest
    assert isinstance(reloaded, Policy)


def test_the_policy_schema_is_a_valid_schema() -> None:
    import json

    from jsonschema import Draft202012Validator

    from gatekeeper.policy import resource_path

    Draft202012Validator.check_schema(json.loads(resource_path("schemas", "policy.schema.json").read_text()))


def test_the_bundled_starter_pack_is_valid() -> None:
    starter = load_policy(Path(__file__).parents[1] / "rules" / "starter.yaml")
    assert starter.name == "starter"
    assert len(starter.gates) == 8
