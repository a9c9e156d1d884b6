"""Shallow clones (file:// URLs make real ones): deepened step by step until the merge-base is there, or
exit 2 with the one command that fixes it; the CI's merge-request base read from its variables."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.change import FileStatus
from gatekeeper.context import detect_diff_base
from gatekeeper.diff.base import BaseRequest, find_base
from gatekeeper.diff.git import open_repository
from gatekeeper.diff.load import ChangeRequest, load_change
from gatekeeper.errors import UsageError
from gatekeeper.model import mask_lines
from tests.diff.repo import Repo, environment, lines

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
POLICY = "policy: change\ngates:\n  - id: new-lines\n    metric: coverage.new_lines.percent\n    min: 0\n"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """main: 30 commits; feature: branched at main~10, 8 commits, each adding one line to feature.py."""
    repo = Repo.init(tmp_path_factory.mktemp("upstream") / "repo")
    for n in range(1, 31):
        repo.commit(f"main {n}", **{"main.txt": lines(n)})
    repo.git("checkout", "-q", "-b", "feature", "HEAD~10")
    for n in range(1, 9):
        repo.commit(f"feature {n}", **{"feature.py": lines(n)})
    repo.git("checkout", "-q", "main")
    return repo


def shallow_clone(upstream: Repo, where: Path, *options: str) -> Repo:
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", *options, f"file://{upstream.root}", str(where)],
        env=environment(),
        check=True,
        capture_output=True,
    )
    return Repo(where)


def feature_change(clone: Repo) -> dict[str, tuple[FileStatus, list[int]]]:
    loaded = load_change(ChangeRequest(diff_base="origin/main"), None, clone.root)
    assert loaded.change is not None
    return {path: (f.status, mask_lines(f.added)) for path, f in loaded.change.files.items()}


def test_a_depth_1_clone_of_the_branch_alone_fetches_the_target_and_deepens(upstream: Repo, tmp_path: Path) -> None:
    clone = shallow_clone(upstream, tmp_path / "clone", "--branch", "feature")
    assert clone.git("rev-parse", "--is-shallow-repository") == "true"
    # feature.py is new on the branch: its 8 lines are the change; main.txt's later commits are main's
    assert feature_change(clone) == {"feature.py": (FileStatus.ADDED, list(range(1, 9)))}


def test_deepening_doubles_until_the_merge_base_is_there(upstream: Repo, tmp_path: Path) -> None:
    clone = shallow_clone(upstream, tmp_path / "clone", "--branch", "feature", "--no-single-branch")
    repository = open_repository(clone.root)
    # the merge-base is 8 commits below feature's tip and 10 below main's: steps of 2 and 4 (6) fall
    # short; the third, 8 more, reaches it
    base = find_base(repository, BaseRequest(revision="origin/main", named_by="--diff-base"), steps=(2, 4, 8, 16))
    assert base.merge_base == upstream.git("merge-base", "main", "feature")
    assert any("by up to 14 commits" in note for note in base.notes)


def test_a_clone_too_shallow_within_the_bound_names_the_command_that_fixes_it(upstream: Repo, tmp_path: Path) -> None:
    clone = shallow_clone(upstream, tmp_path / "clone", "--branch", "feature", "--no-single-branch")
    with pytest.raises(UsageError) as caught:
        find_base(
            open_repository(clone.root), BaseRequest(revision="origin/main", named_by="--diff-base"), steps=(1, 2)
        )
    message = str(caught.value)
    assert "no merge-base of origin/main and HEAD within 3 more commits" in message
    assert "`git fetch --unshallow origin`" in message and "fetch-depth: 0" in message and "\n" not in message


def test_a_clone_that_cannot_be_deepened_exits_2_with_the_command(upstream: Repo, tmp_path: Path) -> None:
    remote = Repo(tmp_path / "remote")
    shutil.copytree(upstream.root, remote.root)
    clone = shallow_clone(remote, tmp_path / "clone", "--branch", "feature", "--no-single-branch")
    (clone.root / "policy.yaml").write_text(POLICY)
    (clone.root / "coverage.xml").write_text("<coverage><packages/></coverage>")
    shutil.rmtree(remote.root)  # the remote is gone: nothing can deepen the clone
    result = subprocess.run(
        [GATEKEEPER, "check", "--policy", "policy.yaml", "coverage.xml", "--diff-base", "origin/main", "--no-store"],
        cwd=clone.root,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("gatekeeper: error: --diff-base origin/main: the merge-base of origin/main")
    assert "run `git fetch --unshallow origin` before gatekeeper" in result.stderr


def test_gitlab_names_the_merge_base_itself_and_a_shallow_clone_deepens_to_it(upstream: Repo, tmp_path: Path) -> None:
    clone = shallow_clone(upstream, tmp_path / "clone", "--branch", "feature")
    merge_base = upstream.git("merge-base", "main", "feature")
    detected = detect_diff_base({"GITLAB_CI": "true", "CI_MERGE_REQUEST_DIFF_BASE_SHA": merge_base})
    assert detected is not None and detected.revision == merge_base
    loaded = load_change(ChangeRequest(), detected, clone.root)
    assert loaded.change is not None and loaded.change.base == merge_base
    assert loaded.change.source == "CI_MERGE_REQUEST_DIFF_BASE_SHA"
    assert {path: mask_lines(f.added) for path, f in loaded.change.files.items()} == {"feature.py": list(range(1, 9))}


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main"}, "GITHUB_BASE_REF"),
        ({"JENKINS_URL": "https://ci.example", "CHANGE_TARGET": "main"}, "CHANGE_TARGET"),
    ],
)
def test_github_and_jenkins_name_the_target_branch_which_is_fetched_when_missing(
    upstream: Repo, tmp_path: Path, environ: dict[str, str], variable: str
) -> None:
    clone = shallow_clone(upstream, tmp_path / "clone", "--branch", "feature")
    detected = detect_diff_base(environ)
    assert detected is not None and (detected.revision, detected.variable) == ("origin/main", variable)
    loaded = load_change(ChangeRequest(), detected, clone.root)
    assert loaded.change is not None and loaded.change.source == variable
    assert loaded.change.base == upstream.git("merge-base", "main", "feature")
    assert any("fetched origin/main" in warning for warning in loaded.warnings)


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        ({"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "--upload-pack=touch${IFS}pwned"}, "is not a git revision"),
        ({"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main..x"}, "not a valid branch name"),
        ({"GITLAB_CI": "true", "CI_MERGE_REQUEST_DIFF_BASE_SHA": "HEAD~1"}, "is not a commit id"),
        ({"GITLAB_CI": "true", "CI_MERGE_REQUEST_DIFF_BASE_SHA": "-" + "0" * 39}, "is not a commit id"),
        ({"JENKINS_URL": "https://ci", "CHANGE_TARGET": "a b"}, "is not a git revision"),
    ],
)
def test_hostile_ci_variables_are_refused_before_git_reads_them(
    upstream: Repo, tmp_path: Path, environ: dict[str, str], said: str
) -> None:
    clone = shallow_clone(upstream, tmp_path / "clone", "--branch", "feature")
    with pytest.raises(UsageError) as caught:
        load_change(ChangeRequest(), detect_diff_base(environ), clone.root)
    assert said in str(caught.value)
    assert not (clone.root / "pwned").exists()


def test_no_merge_request_no_change_and_outside_a_clone_a_ci_base_is_a_warning(tmp_path: Path) -> None:
    assert detect_diff_base({"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "main"}) is None
    assert detect_diff_base({"CHANGE_TARGET": "main"}) is None  # not in Jenkins
    assert load_change(ChangeRequest(), None, tmp_path).change is None
    detected = detect_diff_base({"GITLAB_CI": "true", "CI_MERGE_REQUEST_DIFF_BASE_SHA": "a" * 40})
    loaded = load_change(ChangeRequest(), detected, tmp_path)
    assert loaded.change is None
    assert loaded.warnings and "CI_MERGE_REQUEST_DIFF_BASE_SHA is set but" in loaded.warnings[0]
    assert "not a git repository" in loaded.warnings[0]


def test_githubs_checkout_of_the_pull_request_merge_ref_at_depth_1(upstream: Repo, tmp_path: Path) -> None:
    # as actions/checkout does it: only refs/pull/N/merge (main's tip merged with the branch), depth 1
    remote = Repo(tmp_path / "remote")
    shutil.copytree(upstream.root, remote.root)
    remote.git("checkout", "-q", "--detach", "main")
    remote.git("merge", "-q", "--no-ff", "-m", "Merge feature into main", "feature")
    remote.git("update-ref", "refs/pull/7/merge", "HEAD")
    remote.git("checkout", "-q", "main")
    clone = Repo.init(tmp_path / "clone")
    clone.git("remote", "add", "origin", f"file://{remote.root}")
    clone.git("fetch", "-q", "--no-tags", "--depth=1", "origin", "+refs/pull/7/merge:refs/remotes/pull/7/merge")
    clone.git("checkout", "-q", "--detach", "refs/remotes/pull/7/merge")
    detected = detect_diff_base(
        {"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main", "GITHUB_EVENT_NAME": "pull_request"}
    )
    loaded = load_change(ChangeRequest(), detected, clone.root)
    assert loaded.change is not None
    # judged against main's tip (the merge's first parent), so only the branch's feature.py is new
    assert loaded.change.base == upstream.git("rev-parse", "main")
    assert {path: mask_lines(f.added) for path, f in loaded.change.files.items()} == {"feature.py": list(range(1, 9))}
