"""Requirement keys end to end (issue 19): `gatekeeper check` in real git clones built here — a GitLab
merge-request pipeline (its change, source branch and title), a deploy branch whose commits since its
last stored verdict are counted, the CAICT level-3 pack's traceability gate, and a bad key pattern.
Every count is made by hand in the comments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.diff.repo import Repo, environment
from tests.verdicts import check_example

BIN = Path(sys.executable).parent
POLICY = "policy: traced\ngates:\n  - {id: traced, metric: trace.percent, min: 100}\n"
JUNIT = '<testsuite name="app"><testcase classname="t" name="ok"/></testsuite>'


def check(
    repo: Repo, files: Path, *options: str, env: dict[str, str] | None = None, code: int | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = subprocess.run(
        [str(BIN / "gatekeeper"), "check", "--policy", str(files / "policy.yaml"), "--format", "json",
         str(files / "junit.xml"), *options],
        cwd=repo.root, env=environment(env), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if code is not None:
        assert result.returncode == code, result.stderr
    return result, json.loads(result.stdout) if result.stdout.startswith("{") else {}


def setup(tmp_path: Path, policy: str = POLICY) -> tuple[Repo, Path]:
    files = tmp_path / "files"
    files.mkdir()
    (files / "policy.yaml").write_text(policy, encoding="utf-8")
    (files / "junit.xml").write_text(JUNIT, encoding="utf-8")
    repo = Repo.init(tmp_path / "repo")
    repo.commit("PAY-1 initial layout", **{"app.py": "a = 1\n"})
    return repo, files


def test_a_gitlab_merge_request_names_its_keys_in_commits_branch_and_title(tmp_path: Path) -> None:
    repo, files = setup(tmp_path)
    base = repo.head()
    repo.git("checkout", "-q", "-b", "feature/PAY-5-login")
    repo.commit("pay-5: the login form", **{"login.py": "form = 1\n"})
    repo.commit("review remarks", **{"login.py": "form = 2\n"})
    gitlab = {
        "GITLAB_CI": "true",
        "CI_PROJECT_PATH": "bank/app",
        "CI_COMMIT_SHA": repo.head(),
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/PAY-5-login",
        "CI_MERGE_REQUEST_TITLE": "Draft: ops-6 login <script>",
    }
    _, verdict = check(repo, files, "--no-store", env=gitlab, code=1)
    # The change: 2 commits, 1 carries a key (the branch's and title's keys are listed, not counted).
    metrics = verdict["metrics"]
    assert (metrics["trace.commits"], metrics["trace.commits_with_key"], metrics["trace.percent"]) == (2, 1, 50.0)
    trace = verdict["trace"]
    assert [(c["subject"], c["keys"]) for c in trace["commits"]] == [
        ("review remarks", []),
        ("pay-5: the login form", ["PAY-5"]),
    ]
    assert trace["sources"] == {"branch": ["PAY-5"], "title": ["OPS-6"]}
    assert trace["keys"] == ["OPS-6", "PAY-5"]
    assert trace["range"].startswith(f"change {base[:12]}..")
    assert verdict["gates"][0]["message"] == ("commits with a requirement key 50% < 100% (1 of 2 commits carry a key)")
    result, _ = check(repo, files, "--no-store", "--format", "markdown", env=gitlab, code=1)
    assert "**Traceability** (change " in result.stdout
    assert "Commits without a requirement key:\n\n- `" in result.stdout and " review remarks\n" in result.stdout


def test_a_deploy_branch_counts_the_commits_since_its_last_verdict(tmp_path: Path) -> None:
    repo, files = setup(tmp_path)
    store = str(tmp_path / "verdicts.db")
    jenkins = {"JENKINS_URL": "https://ci.example.invalid/", "JOB_NAME": "bank/app", "BRANCH_NAME": "main"}
    _, first = check(repo, files, "--store", store, env={**jenkins, "GIT_COMMIT": repo.head()}, code=0)
    # No earlier verdict: HEAD alone, and it carries PAY-1.
    assert (first["trace"]["range"], first["metrics"]["trace.commits"]) == ("HEAD", 1)
    start = repo.head()
    repo.commit("PAY-2 statements", **{"app.py": "a = 2\n"})
    repo.commit("bump version", **{"app.py": "a = 3\n"})
    head = repo.head()
    for _ in range(2):  # the second run is a re-run at the same commit: its own first verdict is skipped
        _, verdict = check(repo, files, "--store", store, env={**jenkins, "GIT_COMMIT": head}, code=1)
        # Since the last verdict (at `start`): 2 commits, 1 carries a key.
        assert verdict["trace"]["range"] == f"since the last verdict: {start[:12]}..{head[:12]}"
        metrics = verdict["metrics"]
        assert (metrics["trace.commits"], metrics["trace.commits_with_key"], metrics["trace.percent"]) == (2, 1, 50.0)


def test_level_3_blocks_a_deploy_branch_commit_without_a_key(tmp_path: Path) -> None:
    repo = Repo.init(tmp_path / "repo")
    repo.commit("tidy up", **{"app.py": "a = 1\n"})
    untraced = check_example(repo.root, "passing", "--project", "bank/app", "--branch", "main")
    gates = {gate["id"]: gate for gate in untraced["gates"]}
    assert gates["commits-traced"]["status"] == "fail"
    assert untraced["status"] == "fail" and untraced["metrics"]["trace.percent"] == 0.0
    repo.commit("PAY-3: tidy up the rest", **{"app.py": "a = 2\n"})
    traced = check_example(repo.root, "passing", "--project", "bank/app", "--branch", "main")
    assert {gate["id"]: gate["status"] for gate in traced["gates"]}["commits-traced"] == "pass"
    feature = check_example(repo.root, "passing", "--project", "bank/app", "--branch", "feature/x")
    assert {gate["id"]: gate["status"] for gate in feature["gates"]}["commits-traced"] == "skip"


def test_a_bad_key_pattern_stops_check_with_its_place(tmp_path: Path) -> None:
    repo, files = setup(tmp_path, POLICY + "trace:\n  key_pattern: '[A-Z'\n")
    result, _ = check(repo, files, "--no-store", code=2)
    assert f"{files / 'policy.yaml'}:5:" in result.stderr
    assert (
        "trace.key_pattern: not a regular expression RE2 accepts (a key pattern is RE2 syntax: "
        "no lookaround or backreferences): missing ]: [A-Z" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_check_commit_given_short_is_stored_in_full_traced_and_gates_its_deployment(tmp_path: Path) -> None:
    # `check --commit <7 hex>` (or a revision) in a clone: the verdict names the full id, its trace is that
    # commit's (not HEAD's), and a deployment of that full id counts as gated in the four keys.
    repo, files = setup(tmp_path)  # PAY-1 initial layout
    judged = repo.head()
    repo.commit("no key here", **{"app.py": "a = 2\n"})  # HEAD, not judged
    store = str(tmp_path / "verdicts.db")
    _, verdict = check(repo, files, "--store", store, "--project", "bank/app", "--commit", judged[:7])
    assert verdict["context"]["commit"] == judged
    assert verdict["status"] == "pass"
    assert [(c["sha"], c["keys"]) for c in verdict["trace"]["commits"]] == [(judged, ["PAY-1"])]
    _, at_head = check(repo, files, "--no-store", "--project", "bank/app", "--commit", "HEAD")
    assert at_head["context"]["commit"] == repo.head() and at_head["metrics"]["trace.percent"] == 0.0
    recorded = subprocess.run(
        [str(BIN / "gatekeeper"), "deploy", "record", "--store", store, "--project", "bank/app", "--environment",
         "prod", "--commit", judged, "--status", "success", "--no-commits"],
        cwd=repo.root, env=environment(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    delivery = subprocess.run(
        [str(BIN / "gatekeeper"), "delivery", "--store", store, "--project", "bank/app", "--format", "json"],
        cwd=repo.root, env=environment(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert delivery.returncode == 0, delivery.stderr
    [prod] = json.loads(delivery.stdout)["environments"]
    assert (prod["environment"], prod["deployments"], prod["ungated"]) == ("prod", 1, 0)


def test_check_commit_outside_a_clone_is_kept_as_given_and_gates_a_deployment_it_prefixes(tmp_path: Path) -> None:
    # No clone to resolve 'abc1234': the verdict keeps it; a deployment of abc1234 + 33 digits is gated by it
    # (a prefix of 7 hex digits or more), one of abc1235… is not.
    files = tmp_path / "files"
    files.mkdir()
    (files / "policy.yaml").write_text("policy: p\ngates: []\n", encoding="utf-8")
    (files / "junit.xml").write_text(JUNIT, encoding="utf-8")
    store = str(tmp_path / "verdicts.db")
    env = environment({"GIT_CEILING_DIRECTORIES": str(tmp_path)})

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "gatekeeper"), *arguments], cwd=files, env=env, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip

    result = run("check", "--policy", str(files / "policy.yaml"), "--format", "json", "--store", store,
                 "--project", "bank/app", "--commit", "abc1234", str(files / "junit.xml"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["context"]["commit"] == "abc1234"
    for environment_name, commit in (("prod", "abc1234" + "0" * 33), ("test", "abc1235" + "0" * 33)):
        recorded = run("deploy", "record", "--store", store, "--project", "bank/app", "--environment",
                       environment_name, "--commit", commit, "--status", "success", "--no-commits")  # fmt: skip
        assert recorded.returncode == 0, recorded.stderr
    delivery = run("delivery", "--store", store, "--project", "bank/app", "--format", "json")
    assert delivery.returncode == 0, delivery.stderr
    found = {item["environment"]: item["ungated"] for item in json.loads(delivery.stdout)["environments"]}
    assert found == {"prod": 0, "test": 1}


def test_a_commit_the_clone_lacks_is_not_traced_and_only_a_trace_gate_warns(tmp_path: Path) -> None:
    """--commit names a commit this clone does not hold (a run outside the job's own checkout): nothing is
    traced (HEAD's keys are not that commit's), the trace gate judges the metrics absent (if_absent, fail by
    default), and the warning saying so shows only where a gate judges trace.*."""
    repo, files = setup(tmp_path)
    missing = "3f2a9c1d7e4b"
    gated, verdict = check(repo, files, "--no-store", "--commit", missing, code=1)
    assert verdict["context"]["commit"] == missing
    assert "trace.commits" not in verdict["metrics"] and not verdict["trace"]["commits"]
    assert gated.stderr.count("gatekeeper: warning: the verdict's commit ") == 1
    assert f"gatekeeper: warning: the verdict's commit {missing} is not in this clone: its commits not traced" in (
        gated.stderr
    )
    (files / "policy.yaml").write_text("policy: plain\ngates:\n  - {id: ran, metric: tests.total, min: 1}\n")
    plain, verdict = check(repo, files, "--no-store", "--commit", missing, code=0)
    assert "trace.commits" not in verdict["metrics"] and "traced" not in plain.stderr
