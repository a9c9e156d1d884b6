"""The change from real git repositories: each case's changed lines counted by hand in its comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.change import Change, FileStatus
from gatekeeper.diff.load import ChangeRequest, load_change
from gatekeeper.model import mask_lines
from tests.diff.repo import Repo, lines

Summary = dict[str, tuple[FileStatus, list[int], int, "str | None", bool]]


def change_of(repo: Repo, base: str = "main", **options: bool) -> Change:
    loaded = load_change(ChangeRequest(diff_base=base, **options), None, repo.root)  # type: ignore[arg-type]
    assert loaded.change is not None
    return loaded.change


def summary(change: Change) -> Summary:
    return {
        path: (f.status, mask_lines(f.added), f.lines_removed, f.old_path, f.binary) for path, f in change.files.items()
    }


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo.init(tmp_path / "repo")
    repo.commit(
        "base",
        **{"app.py": lines(10), "doc.txt": lines(20, "text "), "gone.py": lines(4), "img.bin": b"\x00\x01\x02"},
    )
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_edits_insertions_deletions_and_binaries(repo: Repo) -> None:
    # app.py: line 3 rewritten, two lines inserted after line 7 -> new lines 3, 8, 9 (1 line removed)
    edited = lines(10).replace("line3\n", "LINE3\n").replace("line7\n", "line7\nnew a\nnew b\n")
    repo.commit("edit", **{"app.py": edited, "img.bin": b"\x00\x09\x02", "added.bin": b"\x00\xff"})
    repo.git("rm", "-q", "gone.py")
    repo.commit("delete")
    change = change_of(repo)
    assert summary(change) == {
        "app.py": (FileStatus.MODIFIED, [3, 8, 9], 1, None, False),
        "gone.py": (FileStatus.DELETED, [], 4, None, False),
        "img.bin": (FileStatus.MODIFIED, [], 0, None, True),
        "added.bin": (FileStatus.ADDED, [], 0, None, True),
    }
    assert (change.lines_added, change.lines_removed) == (3, 5)
    assert change.base == repo.git("rev-parse", "main") and change.head == repo.head()
    assert change.source == "--diff-base main"


def test_a_rename_with_one_edited_line_adds_one_line_and_all_without_rename_detection(repo: Repo) -> None:
    # doc.txt moves to docs/guide.txt and its line 20 changes: 19 of 20 lines are the same file's
    repo.git("mv", "doc.txt", "guide.txt")
    repo.write("guide.txt", lines(19, "text ") + "text twenty\n")
    repo.commit("move and edit")
    assert summary(change_of(repo)) == {"guide.txt": (FileStatus.RENAMED, [20], 1, "doc.txt", False)}
    assert summary(change_of(repo, renames=False)) == {
        "doc.txt": (FileStatus.DELETED, [], 20, None, False),
        "guide.txt": (FileStatus.ADDED, list(range(1, 21)), 0, None, False),
    }


def test_a_pure_move_into_a_directory_adds_no_line(repo: Repo) -> None:
    (repo.root / "pkg").mkdir()
    repo.git("mv", "app.py", "pkg/app.py")
    repo.commit("move")
    assert summary(change_of(repo)) == {"pkg/app.py": (FileStatus.RENAMED, [], 0, "app.py", False)}


def test_a_copy_of_a_modified_file_adds_only_its_own_edits(repo: Repo) -> None:
    # copy detection (-C) considers files the change modifies: doc.txt gets line 1 rewritten, and copy.txt
    # is the original doc.txt with line 5 rewritten
    original = lines(20, "text ")
    repo.commit(
        "copy",
        **{
            "doc.txt": original.replace("text 1\n", "TEXT 1\n"),
            "copy.txt": original.replace("text 5\n", "TEXT 5\n"),
        },
    )
    assert summary(change_of(repo)) == {
        "doc.txt": (FileStatus.MODIFIED, [1], 1, None, False),
        "copy.txt": (FileStatus.COPIED, [5], 1, "doc.txt", False),
    }


def test_whitespace_only_edits_count_unless_ignored(repo: Repo) -> None:
    # line 2 really changes; line 5 is only re-indented; a blank line is added after line 10 (line 11)
    edited = lines(10).replace("line2\n", "line two\n").replace("line5\n", "    line5\n") + "\n"
    repo.commit("whitespace", **{"app.py": edited})
    assert summary(change_of(repo)) == {"app.py": (FileStatus.MODIFIED, [2, 5, 11], 2, None, False)}
    assert summary(change_of(repo, ignore_whitespace=True)) == {"app.py": (FileStatus.MODIFIED, [2], 1, None, False)}


def test_merging_the_target_into_the_branch_does_not_make_the_targets_changes_the_branchs(repo: Repo) -> None:
    # feature edits app.py line 1; main meanwhile adds main.py; feature merges main (HEAD's first parent is
    # feature's own commit, so "HEAD^1..HEAD" would wrongly judge main.py): the change is app.py line 1 only
    repo.commit("feature work", **{"app.py": lines(10).replace("line1\n", "first\n")})
    repo.git("checkout", "-q", "main")
    repo.commit("main work", **{"main.py": lines(3)})
    repo.git("checkout", "-q", "feature")
    repo.git("merge", "-q", "--no-ff", "-m", "merge main", "main")
    assert len(repo.git("rev-list", "--parents", "-n", "1", "HEAD").split()) == 3  # a merge commit
    assert summary(change_of(repo)) == {"app.py": (FileStatus.MODIFIED, [1], 1, None, False)}


def test_githubs_pull_request_merge_commit_is_judged_against_the_pull_requests_base(repo: Repo) -> None:
    # GitHub tests refs/pull/N/merge: the target's tip (first parent) merged with the branch (second).
    # The branch rewrites app.py line 4; main has moved on with doc.txt line 1 since the branch started.
    repo.commit("feature work", **{"app.py": lines(10).replace("line4\n", "fourth\n")})
    repo.git("checkout", "-q", "main")
    repo.commit("main work", **{"doc.txt": lines(20, "text ").replace("text 1\n", "TEXT 1\n")})
    repo.git("checkout", "-q", "--detach", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge feature into main", "feature")
    assert summary(change_of(repo)) == {"app.py": (FileStatus.MODIFIED, [4], 1, None, False)}


def test_unusual_file_names_keep_their_exact_paths(repo: Repo) -> None:
    names = ['sp \u00e9"x.py', "tab\there.py", "new\nline.py", "-rf.py"]
    repo.commit("names", **{name: "a\nb\n" for name in names})
    assert summary(change_of(repo)) == {name: (FileStatus.ADDED, [1, 2], 0, None, False) for name in names}


def test_the_diff_file_of_the_same_change_counts_the_same_lines(repo: Repo, tmp_path: Path) -> None:
    edited = lines(10).replace("line3\n", "LINE3\n").replace("line7\n", "line7\nnew a\nnew b\n")
    repo.git("mv", "doc.txt", "guide.txt")
    repo.write("guide.txt", lines(19, "text ") + "text twenty\n")
    repo.commit("edit", **{"app.py": edited, "img.bin": b"\x00\x09\x02", "sp \u00e9.py": "x\n"})
    patch = tmp_path / "change.diff"
    patch.write_text(repo.git("diff", "-M", "main...HEAD") + "\n")
    from_git, from_file = change_of(repo), load_change(ChangeRequest(diff_file=str(patch)), None, tmp_path).change
    assert from_file is not None
    assert summary(from_file) == summary(from_git)
    assert from_file.source == f"--diff-file {patch}" and from_file.base is None


def test_too_many_files_for_copy_detection_still_finds_renames_and_says_so(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with diff.renameLimit 1, -C (app.py modified + doc.txt deleted = 2 sources) is over the limit and git
    # skips rename detection altogether; -M alone (1 source, 1 destination) finds the rename
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "diff.renameLimit")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "1")
    repo.git("mv", "doc.txt", "guide.txt")
    repo.write("guide.txt", lines(19, "text ") + "text twenty\n")
    repo.commit("move and edit", **{"app.py": lines(10).replace("line1\n", "first\n")})
    change = change_of(repo)
    assert summary(change)["guide.txt"] == (FileStatus.RENAMED, [20], 1, "doc.txt", False)
    assert change.notes == ("copy detection skipped: the change has too many files for git to compare them all",)
    # two renames (2 sources x 2 destinations) are over the limit even without copies: said, never silent
    repo.git("mv", "app.py", "application.py")
    repo.write("application.py", lines(10).replace("line1\n", "first\n").replace("line9\n", "ninth\n"))
    repo.commit("another move")
    change = change_of(repo)
    assert summary(change)["guide.txt"][0] is FileStatus.ADDED
    assert "rename detection skipped by git (too many files)" in change.notes[-1]
