"""Hostile policies (issue 13, items 8 and 9): `extends:` never shows what a file holds, and no policy
makes loading hang, crash or grow.

A merge request can change a pipeline's policy; what the gate prints lands in its CI log.  So every
run here is the real CLI in a subprocess (`rules validate` and `check`), and the secret planted in the
file a policy extends must appear nowhere in what it prints.  Timeouts are only a safety net: the
diamond's cost is asserted by counting file reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.errors import PolicyError
from gatekeeper.policy import MAX_EXTENDS_DEPTH, MAX_POLICY_BYTES, MAX_POLICY_FILES, load, load_policy, located
from tests.conftest import REPO

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
SECRET = "s3cr3t-XYZ"
JUNIT = '<testsuite><testcase classname="a" name="b"/></testsuite>\n'


def gatekeeper(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GATEKEEPER_", "CI", "GITHUB_"))}
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=20, check=False
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def refused(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Exit 2, no traceback, every line one `gatekeeper: error:`; the lines, for what they must say."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert lines, result.stdout
    assert all(line.startswith("gatekeeper: error: ") for line in lines), result.stderr
    assert "Traceback" not in result.stderr
    return lines


# --- item 8: a file that is no policy is refused, quoting nothing of it ----------------------------

#: (name of the extended file, what it holds, what the message says about it).  Each reaches a different
#: error path: the name (no .yaml), the YAML parser (quoting aliases, tags), the shape of the document.
SECRET_FILES = [
    ("credentials", f"token: {SECRET}\n", "a policy file's name ends in .yaml or .yml"),
    ("shadow", f"root:$6${SECRET}$hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n", ".yaml or .yml"),
    ("shadow.yaml", f"root:$6${SECRET}$hash:19000:0:99999:7:::\n", "not a policy: "),
    ("passwd.yaml", f"root:x:0:0:root:/root:/bin/bash\n{SECRET}:x:1000:1000::/home/me:/bin/sh\n", "not a policy: "),
    ("git-credentials.yaml", f"https://me:{SECRET}@git.example.com\n", "and this file holds a single value"),
    ("netrc.yaml", f"machine git.example.com login me password {SECRET}\n", "not a policy: "),
    ("tokens.yaml", f"- {SECRET}\n", "and this file holds a list"),
    ("credentials.yaml", f"token: {SECRET}\n{SECRET}: 1\n", "this one has neither"),
    ("alias.yaml", f"token: *{SECRET}\n", "invalid YAML: found undefined alias"),
    ("tag.yaml", f"token: !{SECRET}!x value\n", "invalid YAML: found undefined tag handle"),
    ("flow.yaml", f"{{token: {SECRET}, [\n", "invalid YAML: "),
    ("quoted.yaml", f'token: "{SECRET}\\q"\n', "invalid YAML: found unknown escape character"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "says"), SECRET_FILES, ids=[case[0] for case in SECRET_FILES])
@pytest.mark.parametrize("command", ["rules validate", "check"])
def test_an_extended_file_is_never_echoed(name: str, content: str, says: str, command: str, tmp_path: Path) -> None:
    write(tmp_path / "secrets" / name, content)
    write(
        tmp_path / "team.yaml",
        f"policy: team\nextends: secrets/{name}\ngates:\n  - {{id: t, metric: tests.total, min: 1}}\n",
    )
    write(tmp_path / "junit.xml", JUNIT)
    args = (
        ["rules", "validate", "team.yaml"]
        if command == "rules validate"
        else ["check", "-p", "team.yaml", "--no-store", "junit.xml"]
    )
    result = gatekeeper(*args, cwd=tmp_path)
    (line,) = refused(result)
    assert SECRET not in result.stdout + result.stderr
    assert name in line and says in line


@pytest.mark.parametrize(("name", "content", "says"), SECRET_FILES[2:], ids=[case[0] for case in SECRET_FILES[2:]])
def test_a_secret_given_as_the_policy_itself_is_never_echoed(
    name: str, content: str, says: str, tmp_path: Path
) -> None:
    """`--policy` may be a file of the merge request too (GATEKEEPER_POLICY, a CI variable)."""
    secret = write(tmp_path / name, content)
    result = gatekeeper("rules", "validate", str(secret), cwd=tmp_path)
    (line,) = refused(result)
    assert SECRET not in result.stdout + result.stderr
    assert line.startswith(f"gatekeeper: error: {secret}:") and says in line


def test_a_file_not_named_yaml_is_refused_by_its_name(tmp_path: Path) -> None:
    """`extends: /etc/shadow` is refused by its name, before any read: readable or not, it says the same."""
    unreadable = write(tmp_path / "shadow", f"root:$6${SECRET}\n")
    unreadable.chmod(0)
    team = write(tmp_path / "team.yaml", f"policy: team\nextends: {unreadable}\n")
    (line,) = refused(gatekeeper("rules", "validate", str(team), cwd=tmp_path))
    assert line == (
        f"gatekeeper: error: {team}:2:10: extends '{unreadable}': no bundled pack of that name, and a policy file's "
        "name ends in .yaml or .yml"
    )


def test_a_policy_file_keeps_its_detailed_messages(tmp_path: Path) -> None:
    """A file that names itself a policy (or lists gates) is a policy: its author is told what is wrong, value
    and all, as before."""
    write(tmp_path / "base.yaml", "gates:\n  - {id: t, metric: tests.total, min: '80%'}\n")
    team = write(tmp_path / "team.yaml", "policy: team\nextends: base.yaml\n")
    lines = refused(gatekeeper("rules", "validate", str(team), cwd=tmp_path))
    assert any("'policy' is required" in line for line in lines)
    assert any("'80%' is not a number (write 80 for 80%)" in line for line in lines)


# --- item 9: loading stays small and fast, whatever the policy ----------------------------------------


def diamond(directory: Path, files: int) -> Path:
    """`files` policies, each extending the next twice (a list of the same two parents), the last one
    holding the gate and a waiver: loaded naively, that is 2**(files - 1) loads of the last one."""
    for number in range(files - 1):
        write(
            directory / f"p{number}.yaml", f"policy: p{number}\nextends: [p{number + 1}.yaml, ./p{number + 1}.yaml]\n"
        )
    write(directory / f"p{files - 1}.yaml", f"""\
policy: p{files - 1}
gates:
  - {{id: tests-present, metric: tests.total, min: 1}}
waivers:
  - match: {{tool: bandit, rule: B101}}
    reason: asserts are expected
""")  # fmt: skip
    return directory / "p0.yaml"


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every policy file read from now on, resolved, in order."""
    reads: list[Path] = []
    real = located.read_policy_text

    def counting(path: Path, name: str) -> str:
        reads.append(path.resolve())
        return real(path, name)

    monkeypatch.setattr(located, "read_policy_text", counting)
    return reads


def test_each_file_of_a_diamond_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _count_reads(monkeypatch)
    policy = load_policy(diamond(tmp_path, 25))
    assert len(reads) == len(set(reads)) == 25
    assert [gate.id for gate in policy.gates] == ["tests-present"]
    assert len(policy.waivers) == 1  # reached through 2**24 paths, still one waiver
    assert len(policy.chain) == 25


def test_a_file_reached_by_several_loads_is_parsed_and_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` with a CAICT level loads the model's five packs too (level N extends N-1): 18 reads of 5
    files, each parsed and checked once in the process (issue 16), every policy the same as parsed afresh."""
    levels = [REPO / "rules" / "caict-cd" / f"level-{level}.yaml" for level in range(1, 6)]
    load._checked.cache_clear()
    fresh = []
    for path in levels:  # each alone, as if nothing had been read before
        fresh.append(load_policy(path))
        load._checked.cache_clear()
    parsed: list[str] = []
    real = located.locate_yaml

    def counting(path: str | Path, text: str, kind: str) -> located.Located:
        parsed.append(str(path))
        return real(path, text, kind)

    monkeypatch.setattr(located, "locate_yaml", counting)
    assert [load_policy(levels[2]), *(load_policy(path) for path in levels)] == [fresh[2], *fresh]
    assert sorted(parsed) == [f"caict-cd/level-{level}" for level in range(1, 6)]


def test_policies_loaded_together_are_each_as_loaded_alone_and_each_file_read_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A maturity model's level packs (gatekeeper.packs.model_levels): level N extends N-1, so one loader
    reads 5 files where five loads read 15 (issue 16)."""
    levels = [REPO / "rules" / "caict-cd" / f"level-{level}.yaml" for level in range(1, 6)]
    alone = tuple(load_policy(path) for path in levels)
    reads = _count_reads(monkeypatch)
    assert load.load_policies(levels) == alone
    assert sorted(reads) == sorted(path.resolve() for path in levels)
    assert load.load_policies([levels[4], levels[0]]) == (alone[4], alone[0])  # the second: read as a parent


def test_a_diamond_of_25_files_validates_on_the_command_line(tmp_path: Path) -> None:
    result = gatekeeper("rules", "validate", str(diamond(tmp_path, 25)), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.endswith("ok (1 gate)\n")


def test_a_chain_deeper_than_the_limit_is_refused(tmp_path: Path) -> None:
    files = MAX_EXTENDS_DEPTH + 1
    for number in range(files):
        parent = f"extends: p{number + 1}.yaml\n" if number + 1 < files else "gates: []\n"
        write(tmp_path / f"p{number}.yaml", f"policy: p{number}\n{parent}")
    (line,) = refused(gatekeeper("rules", "validate", "p0.yaml", cwd=tmp_path))
    last = MAX_EXTENDS_DEPTH - 1
    assert line == (
        f"gatekeeper: error: p{last}.yaml:2:10: extends 'p{last + 1}.yaml' goes more than {MAX_EXTENDS_DEPTH} files "
        "deep; refused"
    )


def test_more_files_than_the_limit_are_refused(tmp_path: Path) -> None:
    parents = [
        write(tmp_path / f"p{number}.yaml", f"policy: p{number}\ngates: []\n").name
        for number in range(MAX_POLICY_FILES + 1)
    ]
    write(tmp_path / "team.yaml", f"policy: team\nextends: [{', '.join(parents)}]\n")
    (line,) = refused(gatekeeper("rules", "validate", "team.yaml", cwd=tmp_path))
    assert line.startswith("gatekeeper: error: team.yaml:2:")
    assert line.endswith(f"extends 'p{MAX_POLICY_FILES}.yaml' goes more than {MAX_POLICY_FILES} files in all; refused")


@pytest.mark.parametrize(
    "nested",
    [
        "[" * 5000 + "]" * 5000,  # flow sequences
        "{a: " * 5000 + "1" + "}" * 5000,  # flow mappings
        "\n  " + "- " * 5000 + "1",  # block sequences, one inside the other on one line
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences"],
)
def test_yaml_nested_5000_deep_is_a_policy_error(nested: str, tmp_path: Path) -> None:
    deep = write(tmp_path / "deep.yaml", f"policy: deep\ngates: {nested}\n")
    (line,) = refused(gatekeeper("rules", "validate", str(deep), cwd=tmp_path))
    assert line.startswith(f"gatekeeper: error: {deep}:")
    assert line.endswith("the policy file is nested more than 64 deep")


def test_a_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    """Nine levels of ten aliases: 10**9 values if expanded; refused at the node limit instead."""
    levels = [f"l0: &l0 [{', '.join(['lol'] * 10)}]"]
    levels += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 10)]
    bomb = write(tmp_path / "bomb.yaml", "policy: lol\n" + "\n".join(levels) + "\n")
    write(tmp_path / "team.yaml", "policy: team\nextends: bomb.yaml\n")
    (line,) = refused(gatekeeper("rules", "validate", "team.yaml", cwd=tmp_path))
    assert line.startswith(f"gatekeeper: error: {bomb.name}:")
    assert "the policy file is too large or too deeply nested" in line


def test_a_policy_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    large = write(tmp_path / "large.yaml", "policy: large\n" + "#" * MAX_POLICY_BYTES + "\n")
    (line,) = refused(gatekeeper("rules", "validate", str(large), cwd=tmp_path))
    assert line == f"gatekeeper: error: {large}: larger than {MAX_POLICY_BYTES} bytes; not a policy"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_an_endless_policy_file_is_refused() -> None:
    """`--policy /dev/zero` would read forever into memory; it is cut at the size limit."""
    with pytest.raises(PolicyError) as raised:
        load_policy("/dev/zero")
    assert raised.value.problems == [f"/dev/zero: larger than {MAX_POLICY_BYTES} bytes; not a policy"]
