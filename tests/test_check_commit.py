"""The verdict's commit is a commit id (second review B4, B1): `check` records only 7 to 64 hex digits (after the
clone has resolved what it can: HEAD, a tag, a short id), whether `--commit` or the CI's variable gave it, with
the message `deploy record` gives, naming where the value came from; and the trace is that commit's, named so,
or left out where the clone lacks it.  The real CLI in real git clones and plain directories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.diff.repo import Repo, environment

BIN = Path(sys.executable).parent
JUNIT = '<testsuite name="app"><testcase classname="t" name="ok"/></testsuite>'
GITLAB = {"GITLAB_CI": "true", "CI_PROJECT_PATH": "g/w", "CI_COMMIT_REF_NAME": "main"}
NOT_COMMITS = ["$(id)", "HEAD\n0123456", "main", "not a sha", "-all", "abc123"]


def gatekeeper(cwd: Path, *arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The console script with no CI variables but `env`; git finds no clone above `cwd`'s parent."""
    extra = {"GIT_CEILING_DIRECTORIES": str(cwd.parent), **(env or {})}
    return subprocess.run(
        [str(BIN / "gatekeeper"), *arguments], cwd=cwd, env=environment(extra), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def files(tmp_path: Path, policy: str = "policy: p\ngates: []\n") -> Path:
    directory = tmp_path / "files"
    directory.mkdir(exist_ok=True)
    (directory / "policy.yaml").write_text(policy, encoding="utf-8")
    (directory / "junit.xml").write_text(JUNIT, encoding="utf-8")
    return directory


def check(cwd: Path, given: Path, *options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return gatekeeper(
        cwd, "check", "--policy", str(given / "policy.yaml"), "--format", "json", str(given / "junit.xml"), *options,
        env=env,
    )  # fmt: skip


def verdict_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize("value", NOT_COMMITS)
def test_a_ci_commit_that_is_no_commit_id_is_refused_naming_its_variable(tmp_path: Path, value: str) -> None:
    """CI_COMMIT_SHA='$(id)' was recorded as the verdict's commit (exit 0); now exit 2, one line, nothing stored."""
    given = files(tmp_path)
    store = tmp_path / "c.db"
    result = check(given, given, "--store", str(store), env={**GITLAB, "CI_COMMIT_SHA": value})
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "gatekeeper: error: CI_COMMIT_SHA must be a commit id (7 to 64 hex digits), or a revision of the git clone "
        f"here, not {value!r}\n"
    )
    assert result.stdout == "" and not store.exists()


@pytest.mark.parametrize(("variables", "name"), [
    ({"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r"}, "GITHUB_SHA"),
    ({"JENKINS_URL": "https://ci.example.com/", "JOB_NAME": "app"}, "GIT_COMMIT"),
])  # fmt: skip
def test_github_and_jenkins_commits_are_named_too(tmp_path: Path, variables: dict[str, str], name: str) -> None:
    given = files(tmp_path)
    result = check(given, given, "--no-store", env={**variables, name: "$(id)"})
    assert (result.returncode, result.stderr.split(" must be ")[0]) == (2, f"gatekeeper: error: {name}")


@pytest.mark.parametrize("value", NOT_COMMITS)
def test_check_commit_that_is_no_commit_id_is_refused_naming_the_option(tmp_path: Path, value: str) -> None:
    given = files(tmp_path)
    result = check(given, given, "--no-store", f"--commit={value}")
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "gatekeeper: error: --commit must be a commit id (7 to 64 hex digits), or a revision of the git clone here, "
        f"not {value!r}\n"
    )


def test_commit_ids_outside_a_clone_are_kept_lower_case(tmp_path: Path) -> None:
    """No clone to resolve them: 7 to 64 hex digits are recorded as given (lower-cased, as deploy record does)."""
    given = files(tmp_path)
    for value in ("3f2a9c1d7e4b", "ABC1234", "a" * 64):
        recorded = verdict_of(check(given, given, "--no-store", "--commit", value))["context"]["commit"]
        assert recorded == value.lower()
    ci = verdict_of(check(given, given, "--no-store", env={**GITLAB, "CI_COMMIT_SHA": "9b8a7c6d5e4f"}))
    assert ci["context"]["commit"] == "9b8a7c6d5e4f"


def test_a_revision_the_clone_resolves_is_recorded_in_full(tmp_path: Path) -> None:
    given = files(tmp_path)
    repo = Repo.init(tmp_path / "repo")
    first = repo.commit("one", **{"a.py": "1\n"})
    repo.git("tag", "v1")
    repo.commit("two", **{"a.py": "2\n"})
    for value, full in (("main", repo.head()), ("v1", first), ("HEAD~1", first)):
        assert verdict_of(check(repo.root, given, "--no-store", "--commit", value))["context"]["commit"] == full
    result = check(repo.root, given, "--no-store", "--commit", "no-such-branch")
    assert (result.returncode, result.stderr.split(" must be ")[0]) == (2, "gatekeeper: error: --commit")


def test_deploy_record_names_the_ci_variable_its_commit_came_from(tmp_path: Path) -> None:
    """It refused CI_COMMIT_SHA='$(id)' already, but said --commit, which the job never gave."""
    given = files(tmp_path)
    arguments = ("deploy", "record", "--store", str(tmp_path / "c.db"), "--status", "success", "--no-commits")
    env = {**GITLAB, "CI_ENVIRONMENT_NAME": "prod", "CI_COMMIT_SHA": "$(id)"}
    result = gatekeeper(given, *arguments, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "gatekeeper: error: deploy record: CI_COMMIT_SHA must be a commit id (7 to 64 hex digits), or a revision "
        "of the git clone here, not '$(id)'\n"
    )
    option = gatekeeper(given, *arguments, "--commit", "$(id)", env=env)
    assert option.stderr.startswith("gatekeeper: error: deploy record: --commit must be a commit id")


TRACED = "policy: traced\ngates:\n  - {id: traced, metric: trace.percent, min: 100}\n"


def test_the_commit_given_is_traced_under_its_own_name_and_the_cis_as_head(tmp_path: Path) -> None:
    """`--commit <first>` in a clone at a later HEAD traces <first> and says so ("trace (<first>)", range
    <first>), not "HEAD"; a CI job's own commit (its HEAD) reads "HEAD" as before, in text and JSON."""
    given = files(tmp_path, TRACED)
    repo = Repo.init(tmp_path / "repo")
    first = repo.commit("PAY-1 first", **{"a.py": "1\n"})
    second = repo.commit("PAY-2 second", **{"a.py": "2\n"})
    named = verdict_of(check(repo.root, given, "--no-store", "--commit", first[:7]))
    assert (named["context"]["commit"], named["trace"]["range"]) == (first, first[:12])
    assert [commit["sha"] for commit in named["trace"]["commits"]] == [first]
    text = gatekeeper(repo.root, "check", "-p", str(given / "policy.yaml"), "--no-store", "--commit", first,
                      str(given / "junit.xml"))  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert f"  trace ({first[:12]}): 1 of 1 commit carries a requirement key; keys PAY-1" in text.stdout
    ci = verdict_of(check(repo.root, given, "--no-store", env={**GITLAB, "CI_COMMIT_SHA": second}))
    assert (ci["context"]["commit"], ci["trace"]["range"]) == (second, "HEAD")
    assert [commit["sha"] for commit in ci["trace"]["commits"]] == [second]
    plain = verdict_of(check(repo.root, given, "--no-store"))  # no CI, no --commit: the work tree's HEAD
    assert (plain["context"]["commit"], plain["trace"]["range"]) == (second, "HEAD")
