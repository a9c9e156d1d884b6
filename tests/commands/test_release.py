"""`gatekeeper release define|check` on a real embedded store, with verdicts `gatekeeper check` recorded
from the bundled examples under the bundled caict-cd packs; and the release file's errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.errors import InputError, PolicyError
from gatekeeper.release import Member, MemberState, Release, assess, assess_member, load_release
from gatekeeper.verdict import parse
from tests.verdicts import GATEKEEPER, REPO, check_example

EXAMPLES = REPO / "examples"
#: The members' commits, in full (as check records them in a clone, and a release names them).
LEDGER = "aaa1111" + "0" * 33
API = "ccc3333" + "0" * 33
WARN = "eee5555" + "0" * 33
BROKEN = "fff6666" + "0" * 33


def gatekeeper(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GATEKEEPER, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


def record(store: Path, policy: str, kind: str, *context: str) -> None:
    """`gatekeeper check` on a bundled example, recording its verdict in `store`."""
    check_example(store.parent, kind, *context, policy=policy, store=store)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with: bank/ledger@aaa1111 passing level 3; bank/web pipeline 4711 failing level 3;
    bank/api@ccc3333 passing, but under level 2; bank/warn@eee5555 warning under a level-3 team policy;
    bank/broken@fff6666 undecided (a malformed report)."""
    workspace = tmp_path_factory.mktemp("release")
    store = workspace / "verdicts.db"
    level3, level2 = str(REPO / "rules/caict-cd/level-3.yaml"), str(REPO / "rules/caict-cd/level-2.yaml")
    record(store, level3, "passing", "--project", "bank/ledger", "--commit", LEDGER)
    record(store, level3, "failing", "--project", "bank/web", "--pipeline", "4711")
    record(store, level2, "passing", "--project", "bank/api", "--commit", API)
    team = workspace / "team.yaml"
    team.write_text(
        "policy: team\nextends: caict-cd/level-3\ngates:\n"
        "  - {id: near-total-coverage, metric: coverage.lines.percent, min: 99.9, severity: warn}\n"
    )
    record(store, str(team), "passing", "--project", "bank/warn", "--commit", WARN)
    broken = workspace / "broken.xml"
    broken.write_text("<testsuite><testcase")
    result = gatekeeper("check", "-p", level3, "--store", str(store), "--project", "bank/broken",
                        "--commit", BROKEN, f"junit:{broken}", cwd=workspace)  # fmt: skip
    assert result.returncode == 2, result.stderr
    return store


def release_file(directory: Path, *members: str, level: int | None = 3, name: str = "2026.12") -> Path:
    """A release file; each member is `project@commit` or `project#pipeline`."""
    lines = [f'name: "{name}"', f"level: {'null' if level is None else level}", "members:"]
    for member in members:
        if "@" in member:
            project, commit = member.split("@")
            lines.append(f"  - {{project: {project}, commit: {commit}}}")
        else:
            project, pipeline = member.split("#")
            lines.append(f"  - {{project: {project}, pipeline: {pipeline}}}")
    path = directory / f"release-{len(list(directory.glob('release-*')))}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def check_file(
    recorded: Path, tmp_path: Path, *members: str, level: int | None = 3
) -> subprocess.CompletedProcess[str]:
    path = release_file(tmp_path, *members, level=level)
    return gatekeeper("release", "check", "--file", str(path), "--store", str(recorded), cwd=tmp_path)


def test_ready_when_every_member_is_clear(recorded: Path, tmp_path: Path) -> None:
    result = check_file(recorded, tmp_path, f"bank/ledger@{LEDGER}", f"bank/warn@{WARN}")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "READY    release 2026.12: all 2 members clear (required policy level 3)"
    assert lines[1].split()[:5] == ["clear", "bank/ledger", "commit", LEDGER[:12], "pass"]
    assert lines[2].split()[:5] == ["clear", "bank/warn", "commit", WARN[:12], "warn"]  # warn is clear
    assert lines[3:] == ["  issue keys (1): EXAMPLE-1"]  # nothing blocks (the examples' clone names EXAMPLE-1)


def test_blocked_by_a_failed_gate(recorded: Path, tmp_path: Path) -> None:
    result = check_file(recorded, tmp_path, f"bank/ledger@{LEDGER}", "bank/web#4711")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "BLOCKED  release 2026.12: 1 of 2 members blocked (required policy level 3)"
    assert lines[2].split()[:5] == ["failed", "bank/web", "pipeline", "4711", "fail"]
    assert lines[3].strip() == (
        "gate tests-all-pass failed: test pass rate 91.9% < 100% (34 of 37 tests that ran passed)"
    )
    assert lines[4].strip() == "gate no-critical-or-high-findings failed: high findings 3 > 0"


def test_blocked_by_a_missing_verdict(recorded: Path, tmp_path: Path) -> None:
    result = check_file(recorded, tmp_path, f"bank/ledger@{LEDGER}", "bank/docs@ddd444", "bank/web#9999")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("BLOCKED  release 2026.12: 2 of 3 members blocked")
    assert lines[2].split() == ["missing", "bank/docs", "commit", "ddd444", "-", "-", "-"]
    assert lines[3].strip() == "no verdict for commit ddd444"
    assert lines[5].strip() == "no verdict for pipeline 9999"
    # The same commit of another project is not this member's verdict.
    assert check_file(recorded, tmp_path, f"bank/web@{LEDGER}").returncode == 1


def test_blocked_by_a_verdict_under_a_weaker_policy_level(recorded: Path, tmp_path: Path) -> None:
    result = check_file(recorded, tmp_path, f"bank/api@{API}")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[1].split()[:7] == ["weaker-level", "bank/api", "commit", API[:12], "pass", "level", "2"]
    assert lines[2].strip() == "policy level 2 < required 3"
    # The same verdict is clear for a release that requires level 2, or no level.
    assert check_file(recorded, tmp_path, f"bank/api@{API}", level=2).returncode == 0
    assert check_file(recorded, tmp_path, f"bank/api@{API}", level=None).returncode == 0


def test_an_undecided_verdict_blocks(recorded: Path, tmp_path: Path) -> None:
    result = check_file(recorded, tmp_path, f"bank/broken@{BROKEN}")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[1].split()[:2] == ["error", "bank/broken"]
    assert lines[2].strip().startswith("the gate could not decide:")
    assert "broken.xml" in lines[2]


def test_the_latest_verdict_of_a_member_decides(recorded: Path, tmp_path: Path) -> None:
    store = tmp_path / "verdicts.db"
    shutil.copy(recorded, store)
    level3 = str(REPO / "rules/caict-cd/level-3.yaml")
    assert check_file(store, tmp_path, f"bank/ledger@{LEDGER}").returncode == 0
    record(store, level3, "failing", "--project", "bank/ledger", "--commit", LEDGER)  # a re-run that failed
    assert check_file(store, tmp_path, f"bank/ledger@{LEDGER}").returncode == 1
    record(store, level3, "passing", "--project", "bank/ledger", "--commit", LEDGER)  # and fixed again
    assert check_file(store, tmp_path, f"bank/ledger@{LEDGER}").returncode == 0


def test_define_then_check_by_name_and_json(recorded: Path, tmp_path: Path) -> None:
    store = tmp_path / "verdicts.db"
    shutil.copy(recorded, store)
    path = release_file(tmp_path, f"bank/ledger@{LEDGER}", f"bank/api@{API}", name="r1")
    defined = gatekeeper("release", "define", str(path), "--store", str(store), cwd=tmp_path)
    assert defined.returncode == 0, defined.stderr
    assert defined.stdout == f"release r1 defined in {store} (2 members, required policy level 3)\n"
    checked = gatekeeper("release", "check", "--release", "r1", "--store", str(store), "--format", "json", cwd=tmp_path)
    assert checked.returncode == 1
    document = json.loads(checked.stdout)
    assert (document["release"], document["level"], document["ready"]) == ("r1", 3, False)
    assert document["blockers"] == [f"bank/api commit {API}: policy level 2 < required 3"]
    assert [member["state"] for member in document["members"]] == ["clear", "weaker-level"]
    assert document["members"][0]["verdict_id"]
    # Redefining under the same name replaces the members: now it is ready.
    path.write_text(f"name: r1\nlevel: 2\nmembers:\n  - {{project: bank/api, commit: {API}}}\n")
    again = gatekeeper("release", "define", str(path), "--store", str(store), cwd=tmp_path)
    assert again.stdout.startswith("release r1 redefined")
    assert gatekeeper("release", "check", "--release", "r1", "--store", str(store), cwd=tmp_path).returncode == 0


def test_an_unknown_release_or_store_cannot_decide(recorded: Path, tmp_path: Path) -> None:
    result = gatekeeper("release", "check", "--release", "nope", "--store", str(recorded), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"gatekeeper: error: verdict store {recorded}: no release named 'nope' "
        "(define it with `gatekeeper release define FILE`)\n"
    )
    missing = tmp_path / "none.db"
    path = release_file(tmp_path, f"bank/ledger@{LEDGER}")
    result = gatekeeper("release", "check", "--file", str(path), "--store", str(missing), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "does not exist" in result.stderr
    assert not missing.exists()
    neither = gatekeeper("release", "check", "--store", str(recorded), cwd=tmp_path)
    assert neither.returncode == 2 and "--release NAME or --file FILE" in neither.stderr


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: r\nlevel: 3: 4\n", "2:9: invalid YAML: mapping values are not allowed here"),
        ("", "1:1: the release file is empty"),
        ("name: r\nlevel: 3\n", "1:1: members must be a non-empty list"),
        ("name: r\nmembers:\n  - {project: a, commit: b, pipeline: c}\n", "3:5: a member names exactly one"),
        ("name: r\nmembers:\n  - {commit: b}\n", "3:5: a member needs a project"),
        ("name: r\nmembers:\n  - {project: a, commit: 1234567}\n", "3:26: commit 1234567 is a number to YAML"),
        ("name: 2026.12\nmembers:\n  - {project: a, commit: b}\n", "1:7: name 2026.12 is a number to YAML"),
        # names are in URLs and file names: ASCII only, and the message says so (a CJK name is letters too)
        (
            'name: "发布-1"\nmembers:\n  - {project: a, commit: b}\n',
            "1:7: name '发布-1' must be 1-100 ASCII letters, digits, '.', '_', '+' or '-', "
            "starting with a letter or digit",
        ),
        ('name: "-r"\nmembers:\n  - {project: a, commit: b}\n', "1:7: name '-r' must be 1-100 ASCII letters"),
        ('name: "r\\n"\nmembers:\n  - {project: a, commit: b}\n', "1:7: name 'r\\n' must be 1-100 ASCII letters"),
        ("name: r\nlevel: 6\nmembers:\n  - {project: a, commit: b}\n", "2:8: level must be a maturity level"),
        (
            "name: r\nmembers:\n  - {project: a, commit: b}\n  - {project: a, commit: b}\n",
            "4:5: a commit b is listed twice",
        ),
        ("name: r\nowner: me\nmembers:\n  - {project: a, commit: b}\n", "2:1: unknown key 'owner'"),
        (
            '{"name": "r", "members": [{"project": "a", "tag": "v1"}]}',
            "1:27: a member names exactly one of commit and pipeline",
        ),
    ],
)
def test_a_bad_release_file_is_one_line_and_exit_2(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "release.yaml"
    path.write_text(text)
    result = gatekeeper("release", "check", "--file", str(path), "--store", str(tmp_path / "none.db"), cwd=tmp_path)
    assert result.returncode == 2
    first, *rest = result.stderr.splitlines()
    assert first.startswith(f"gatekeeper: error: {path}:{problem}"), result.stderr
    assert "Traceback" not in result.stderr
    assert len(rest) <= 1  # one line per problem: only "neither commit nor pipeline" files have two
    with pytest.raises(PolicyError):
        load_release(path)


def test_a_missing_or_unreadable_release_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such release file"):
        load_release(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="is a directory"):
        load_release(tmp_path)
    result = gatekeeper(
        "release", "define", str(tmp_path / "nope.yaml"), "--store", str(tmp_path / "s.db"), cwd=tmp_path
    )
    assert (result.returncode, result.stderr) == (
        2,
        f"gatekeeper: error: {tmp_path / 'nope.yaml'}: no such release file\n",
    )


def test_the_sample_release_file_loads() -> None:
    release = load_release(EXAMPLES / "releases" / "2026.12.yaml")
    assert release.level == 3 and len(release.members) >= 2
    assert load_release_roundtrip(release) == release


def load_release_roundtrip(release: Release) -> Release:
    from gatekeeper.release import release_from_document

    return release_from_document(json.loads(json.dumps(release.to_document())))


def test_assess_lists_every_problem_and_names_the_first_as_state() -> None:
    from tests.store import make_verdict

    verdict: dict[str, Any] = make_verdict("v1-failed", status="fail") | {"reason": "1 blocking gate failed"}
    verdict["policy"]["name"], verdict["maturity"]["level"] = "caict-cd-level-2", 2
    gate = verdict["gates"][0]
    verdict["gates"] = [
        gate | {"id": "a", "status": "fail", "severity": "block", "message": "a broke"},
        gate | {"id": "b", "status": "fail", "severity": "warn", "message": "only a warning"},
        gate | {"id": "c", "status": "pass", "severity": "block", "message": "fine"},
    ]
    member = Member(project="p", commit="c1")
    state = assess_member(member, parse(verdict, "v1-failed"), 3)
    assert state.state is MemberState.FAILED
    assert state.blockers == ("gate a failed: a broke", "policy level 2 < required 3")
    starter = make_verdict("v2-starter")
    starter["policy"]["name"], starter["maturity"]["level"] = "starter", None
    no_level = assess_member(member, parse(starter, "v2-starter"), 1)
    assert no_level.state is MemberState.WEAKER_LEVEL
    assert no_level.blockers == ("policy starter enforces no maturity level; required 1",)
    readiness = assess(Release(name="r", level=None, members=(member,)), lambda _member: None)
    assert not readiness.ready
    assert readiness.blockers == ("p commit c1: no verdict for commit c1",)
    with pytest.raises(ValueError, match="exactly one"):
        Member(project="p", commit="c", pipeline="1")
