"""`gatekeeper check` judging a change end to end (the console script, in a real clone), its changed-lines
coverage counted by hand and by diff-cover, and its one-line errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.diff.repo import Repo, environment, lines

BIN = Path(sys.executable).parent
POLICY = "policy: change\ngates:\n  - id: new-lines\n    metric: coverage.new_lines.percent\n    min: 0\n"

# Cobertura line entries (statements) and hits of the feature branch's tree, by file: (statements, covered)
MEASURED = {
    "calc.py": (set(range(1, 14)) - {5}, set(range(1, 14)) - {3, 5, 8}),
    "new_name.py": (set(range(1, 13)), set(range(1, 7))),
    "new.py": (set(range(1, 6)), {1, 2, 3}),
    "util.py": (set(range(1, 9)), set(range(1, 9)) - {4}),
}


def cobertura(root: Path) -> str:
    classes = "".join(
        f'<class name="{name}" filename="{name}"><lines>'
        + "".join(f'<line number="{n}" hits="{int(n in covered)}"/>' for n in sorted(statements))
        + "</lines></class>"
        for name, (statements, covered) in MEASURED.items()
    )
    return (
        f'<?xml version="1.0" ?>\n<coverage version="7.4" line-rate="0.5"><sources><source>{root}</source></sources>'
        f'<packages><package name="."><classes>{classes}</classes></package></packages></coverage>\n'
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, Path]:
    """A merge request: edits, a near-pure rename, a new file, a whitespace-only edit, a deletion, a binary."""
    repo = Repo.init(tmp_path_factory.mktemp("project") / "repo")
    calc = lines(10, "x = ")
    repo.commit(
        "base",
        **{
            "calc.py": calc,
            "util.py": lines(8, "y = "),
            "old_name.py": lines(12, "z = "),
            "gone.py": lines(3),
            "logo.png": b"\x89PNG\x00",
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    # calc.py: lines 2 and 3 rewritten, three lines inserted after line 6 -> changed lines 2, 3, 7, 8, 9
    edited = calc.replace("x = 2\n", "x = two\n").replace("x = 3\n", "x = three\n")
    edited = edited.replace("x = 6\n", "x = 6\nif a:\n    b()\nc()\n")
    repo.git("mv", "old_name.py", "new_name.py")
    repo.git("rm", "-q", "gone.py")
    repo.commit(
        "feature",
        **{
            "calc.py": edited,
            "new_name.py": lines(11, "z = ") + "z = twelve\n",  # line 12 changed: 11 of 12 lines unchanged
            "new.py": lines(5, "n = "),
            "util.py": lines(8, "y = ").replace("y = 4\n", "y  =  4\n"),  # whitespace only: line 4
            "logo.png": b"\x89PNG\x01",
        },
    )
    outside = tmp_path_factory.mktemp("reports")
    (outside / "coverage.xml").write_text(cobertura(repo.root))
    (outside / "policy.yaml").write_text(POLICY)
    return repo, outside


def gatekeeper(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "gatekeeper"), "check", "--no-store", "--project", "p", *args],
        cwd=cwd,
        env=environment(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def new_lines(project: tuple[Repo, Path], *options: str, env: dict[str, str] | None = None) -> tuple[int, int, float]:
    repo, outside = project
    result = gatekeeper(
        repo.root,
        "--policy",
        str(outside / "policy.yaml"),
        str(outside / "coverage.xml"),
        "--format",
        "json",
        *options,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    return (
        metrics["coverage.new_lines.covered"],
        metrics["coverage.new_lines.total"],
        metrics["coverage.new_lines.percent"],
    )


def diff_cover(project: tuple[Repo, Path], *options: str) -> tuple[int, int, float]:
    """diff-cover's numbers, its git diff run without rename detection (diff.renames=false)."""
    repo, outside = project
    report = outside / "diff-cover.json"
    no_renames = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "diff.renames", "GIT_CONFIG_VALUE_0": "false"}
    result = subprocess.run(
        [str(BIN / "diff-cover"), str(outside / "coverage.xml"), "--compare-branch=main", f"--json-report={report}",
         "--ignore-staged", "--ignore-unstaged", *options],
        cwd=repo.root, env=environment(no_renames), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(report.read_text())
    total, violations = figures["total_num_lines"], figures["total_num_violations"]
    return total - violations, total, figures["total_percent_covered"]


def test_changed_lines_coverage_is_diff_covers_with_rename_detection_off(project: tuple[Repo, Path]) -> None:
    # by hand: calc.py 2, 7, 9 of 2, 3, 7, 8, 9; new_name.py as all new: 1-6 of 1-12; new.py 1-3 of 1-5;
    # util.py's re-indented line 4 uncovered; gone.py and logo.png have no lines: 12 of 23
    covered, total, percent = new_lines(project, "--diff-base", "main", "--diff-no-renames")
    assert (covered, total) == (12, 23) and percent == pytest.approx(100 * 12 / 23, rel=1e-12)
    theirs = diff_cover(project, "--total-percent-float")
    assert theirs == (12, 23, round(percent, 2))  # diff-cover's JSON report rounds to 2 decimals
    assert diff_cover(project)[2] == 52  # without --total-percent-float diff-cover cuts 52.17 to 52


def test_whitespace_only_lines_are_left_out_by_both_when_asked(project: tuple[Repo, Path]) -> None:
    covered, total, percent = new_lines(project, "--diff-base", "main", "--diff-no-renames", "--diff-ignore-whitespace")
    assert (covered, total) == (12, 22)  # util.py line 4 is no longer changed
    theirs = diff_cover(project, "--total-percent-float", "--ignore-whitespace")
    assert theirs == (12, 22, round(percent, 2)) and percent == pytest.approx(100 * 12 / 22, rel=1e-12)


def test_with_rename_detection_the_renamed_file_adds_one_line(project: tuple[Repo, Path]) -> None:
    # the documented difference: new_name.py is old_name.py with line 12 changed, so only line 12 (uncovered)
    # is new code: calc 3 of 5, new_name 0 of 1, new 3 of 5, util 0 of 1 -> 6 of 12
    assert new_lines(project, "--diff-base", "main") == (6, 12, 50.0)


def test_the_merge_requests_base_comes_from_the_ci(project: tuple[Repo, Path]) -> None:
    repo, _ = project
    base = repo.git("rev-parse", "main")
    env = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "CI_PROJECT_PATH": "g/p"}
    assert new_lines(project, env=env) == (6, 12, 50.0)


def test_the_same_change_as_a_diff_file(project: tuple[Repo, Path], tmp_path: Path) -> None:
    repo, _ = project
    patch = tmp_path / "mr.diff"
    patch.write_text(repo.git("diff", "--no-renames", "main...HEAD") + "\n")
    assert new_lines(project, "--diff-file", str(patch))[:2] == (12, 23)


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--diff-base", "no-such-branch"], "error: --diff-base no-such-branch: 'no-such-branch' names no commit"),
        (["--diff-base", "--output=/tmp/x"], "error: --diff-base: '--output=/tmp/x' is not a git revision"),
        (["--diff-base", "main", "--diff-file", "x.diff"], "error: give the change as --diff-base or as --diff-file"),
        (["--diff-file", "missing.diff"], "error: missing.diff: no such file (--diff-file)"),
    ],
)
def test_a_change_that_cannot_be_found_exits_2_in_one_line(
    project: tuple[Repo, Path], options: list[str], said: str
) -> None:
    repo, outside = project
    result = gatekeeper(repo.root, "--policy", str(outside / "policy.yaml"), str(outside / "coverage.xml"), *options)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and said in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (bytes(range(256)) * 4, "--diff-file is not a unified diff: no `diff --git` or `---`/`+++` file header in it"),
        (
            b"--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n x\n",
            "--diff-file is not a usable unified diff: line 4: the diff ends inside a hunk",
        ),
        (None, "--diff-file is not a regular file"),
    ],
)
def test_a_garbage_or_unreadable_diff_file_exits_2_in_one_line(
    project: tuple[Repo, Path], tmp_path: Path, content: bytes | None, said: str
) -> None:
    _, outside = project
    diff = tmp_path / "change.diff"
    if content is None:
        diff.mkdir()
    else:
        diff.write_bytes(content)
    result = gatekeeper(
        tmp_path, "--policy", str(outside / "policy.yaml"), str(outside / "coverage.xml"), "--diff-file", str(diff)
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"gatekeeper: error: {diff}: {said}"), result.stderr
    assert result.stderr.count("\n") == 1


def test_a_merge_request_with_no_net_change_is_an_empty_change_as_a_diff_file_too(tmp_path: Path) -> None:
    # the README's `git diff origin/main...HEAD > change.diff` writes 0 bytes when the branch changes nothing
    repo = Repo.init(tmp_path / "repo")
    repo.commit("base", **{"calc.py": lines(3, "x = ")})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("edit", **{"calc.py": lines(4, "x = ")})
    repo.commit("revert", **{"calc.py": lines(3, "x = ")})
    diff = tmp_path / "change.diff"
    diff.write_text(repo.git("diff", "main...HEAD"))
    assert diff.stat().st_size == 0
    (tmp_path / "coverage.xml").write_text(cobertura(repo.root))
    (tmp_path / "policy.yaml").write_text(POLICY + "    if_absent: skip\n")  # as the starter policy: no lines, no gate
    judged = {}
    for option, value in (("--diff-base", "main"), ("--diff-file", str(diff))):
        result = gatekeeper(
            repo.root, "--policy", str(tmp_path / "policy.yaml"), str(tmp_path / "coverage.xml"), "--format", "json",
            option, value,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        metrics = json.loads(result.stdout)["metrics"]
        judged[option] = {
            name: figure for name, figure in metrics.items() if name.startswith(("change.", "coverage.new"))
        }
        if option == "--diff-file":
            assert (
                f"gatekeeper: warning: --diff-file {diff} is empty (0 bytes): the change has no files" in result.stderr
            )
    assert judged["--diff-file"] == judged["--diff-base"]
    assert judged["--diff-file"]["change.files"] == 0 and judged["--diff-file"]["change.lines_added"] == 0


def test_outside_a_git_repository_diff_base_exits_2(project: tuple[Repo, Path], tmp_path: Path) -> None:
    _, outside = project
    result = gatekeeper(
        tmp_path, "--policy", str(outside / "policy.yaml"), str(outside / "coverage.xml"), "--diff-base", "main"
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert f"gatekeeper: error: {tmp_path}: not a git repository" in result.stderr


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # calc.py, util.py, logo.png (binary: no lines), new.py, gone.py (3 removed), old_name.py deleted (12
        # removed) and new_name.py added (12 added); added 5 + 1 + 12 + 5, removed 2 + 1 + 12 + 3
        (["--diff-no-renames"], (7, 23, 18)),
        # the rename is one file with one line changed: added 5 + 1 + 1 + 5, removed 2 + 1 + 1 + 3
        ([], (6, 12, 7)),
    ],
)
def test_the_changes_size_counts_deleted_and_binary_files(
    project: tuple[Repo, Path], options: list[str], expected: tuple[int, int, int]
) -> None:
    repo, outside = project
    result = gatekeeper(
        repo.root, "--policy", str(outside / "policy.yaml"), str(outside / "coverage.xml"), "--format", "json",
        "--diff-base", "main", *options,
    )  # fmt: skip
    metrics = json.loads(result.stdout)["metrics"]
    assert (metrics["change.files"], metrics["change.lines_added"], metrics["change.lines_removed"]) == expected
