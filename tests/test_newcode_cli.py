"""New code end to end (issue 17): `gatekeeper check` with the bundled starter policy on a real git
repository — a build of main records its verdict in the embedded store; the merge request's build
(`--diff-base main`) is judged on its change against that verdict: a finding moved by inserted lines
stays known, a new rule's finding in an unchanged file is new, a test that starts failing is a new
failure, and the changed lines no test ran are in the verdict, the markdown, GitLab's code-quality report
and GitHub's annotations.  Every figure is counted by hand in the comments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.diff.repo import Repo, environment, lines

BIN = Path(sys.executable).parent
STARTER = (REPO / "rules" / "starter.yaml").read_text(encoding="utf-8")


def junit(failing: list[str], passing: int = 30) -> str:
    cases = "".join(f'<testcase classname="tests.test_app" name="test_{n}"/>' for n in range(passing))
    cases += "".join(
        f'<testcase classname="tests.test_app" name="{name}"><failure message="boom">boom</failure></testcase>'
        for name in failing
    )
    return f'<testsuite name="app">{cases}</testsuite>'


def cobertura(root: Path, files: dict[str, tuple[range, set[int]]]) -> str:
    classes = "".join(
        f'<class name="{name}" filename="{name}"><lines>'
        + "".join(f'<line number="{n}" hits="{int(n in covered)}"/>' for n in statements)
        + "</lines></class>"
        for name, (statements, covered) in files.items()
    )
    return (
        f'<?xml version="1.0" ?>\n<coverage version="7.4"><sources><source>{root}</source></sources>'
        f'<packages><package name="."><classes>{classes}</classes></package></packages></coverage>\n'
    )


def sarif(results: list[tuple[str, str, int, str]]) -> str:
    return json.dumps(
        {
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {"driver": {"name": "Scanner"}},
                    "results": [
                        {
                            "ruleId": rule,
                            "level": "error",
                            "message": {"text": f"{rule} here"},
                            "locations": [
                                {
                                    "physicalLocation": {
                                        "artifactLocation": {"uri": uri},
                                        "region": {"startLine": line, "snippet": {"text": snippet}},
                                    }
                                }
                            ],
                        }
                        for rule, uri, line, snippet in results
                    ],
                }
            ],
        }
    )


def check(repo: Repo, reports: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = subprocess.run(
        [str(BIN / "gatekeeper"), "check", "--policy", str(reports / "policy.yaml"), "--project", "bank/app",
         "--store", str(reports / "verdicts.db"), "--format", "json",
         str(reports / "junit.xml"), str(reports / "coverage.xml"), str(reports / "scan.sarif"), *options],
        cwd=repo.root, env=environment(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    return result, json.loads(result.stdout)


@pytest.fixture
def merge_request(tmp_path: Path) -> tuple[Repo, Path]:
    """main: app.py (30 lines) with one finding at line 10 and a failing test; its build is stored."""
    repo = Repo.init(tmp_path / "repo")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "policy.yaml").write_text(STARTER, encoding="utf-8")
    app = lines(30, "a = ")
    repo.commit("base", **{"src__app.py": app, "src__legacy.py": lines(50, "l = ")})
    (reports / "junit.xml").write_text(junit(["test_known_failure"]))
    (reports / "coverage.xml").write_text(
        cobertura(repo.root, {"src/app.py": (range(1, 31), set(range(1, 31))), "src/legacy.py": (range(1, 51), set())})
    )
    (reports / "scan.sarif").write_text(sarif([("S1", "src/app.py", 10, "a = 10")]))
    result, verdict = check(repo, reports, "--branch", "main", "--commit", repo.head())
    assert result.returncode == 1  # the known failing test fails tests-all-pass on main too
    assert verdict["baseline_keys"]["findings"]["count"] == 1
    assert verdict["baseline_keys"]["failed_tests"]["count"] == 1
    assert "change" not in verdict and "change.files" not in verdict["metrics"]
    new_gates = {g["id"]: g for g in verdict["gates"] if g["id"].startswith(("new-", "no-new-"))}
    assert {g["status"] for g in new_gates.values()} == {"skip"}  # no change on main: the new-code gates skip
    assert new_gates["new-lines-covered"]["message"] == (
        "changed-line coverage: no change to judge (--diff-base, --diff-file) gives coverage.new_lines.percent"
        " (if_absent: skip)"
    )

    # The merge request: 4 lines inserted at the top of app.py (the finding moves from 10 to 14) and a
    # new module of 25 lines, 15 of them tested; a new rule finds something in legacy.py (unchanged).
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(
        "feature",
        **{"src__app.py": lines(4, "import m") + app, "src__feature.py": lines(25, "f = ")},
    )
    (reports / "junit.xml").write_text(junit(["test_known_failure", "test_feature_breaks"]))
    (reports / "coverage.xml").write_text(
        cobertura(
            repo.root,
            {
                "src/app.py": (range(1, 35), set(range(1, 35)) - {2}),  # inserted line 2 is not run
                "src/feature.py": (range(1, 26), set(range(1, 16))),  # 16-25 not run
                "src/legacy.py": (range(1, 51), set()),
            },
        )
    )
    (reports / "scan.sarif").write_text(
        sarif([("S1", "src/app.py", 14, "a = 10"), ("S9-new-rule", "src/legacy.py", 40, "l = 40")])
    )
    return repo, reports


def test_a_merge_request_is_judged_on_its_change_against_the_stored_baseline(merge_request: tuple[Repo, Path]) -> None:
    repo, reports = merge_request
    files = (("markdown", "gate.md"), ("gitlab-codequality", "cq.json"), ("github-annotations", "gh.txt"))
    outputs = [f"{name}={reports / file}" for name, file in files]
    result, verdict = check(
        repo, reports, "--branch", "feature", "--diff-base", "main", *(f"--output={o}" for o in outputs)
    )
    assert result.returncode == 1
    metrics = verdict["metrics"]
    assert metrics["change.files"] == 2 and metrics["change.lines_added"] == 4 + 25
    # changed lines the report measures: app.py 1-4, feature.py 1-25 = 29; covered: 3 + 15 = 18
    assert (metrics["coverage.new_lines.covered"], metrics["coverage.new_lines.total"]) == (18, 29)
    assert metrics["coverage.new_lines.percent"] == 18 * 100 / 29
    assert metrics["findings.new.total"] == 1  # S9 in legacy.py; S1 moved from 10 to 14 and is known
    assert metrics["tests.new_failures"] == 1  # test_feature_breaks; test_known_failure failed on main too
    gates = {g["id"]: g for g in verdict["gates"]}
    assert gates["new-lines-covered"]["status"] == "fail"
    assert gates["new-lines-covered"]["message"] == "changed-line coverage 62.1% < 80% (18 of 29 changed lines)"
    assert gates["no-new-critical-or-high-findings"]["status"] == "fail"
    assert gates["no-new-test-failures"]["message"] == "new test failures 1 > 0"
    assert verdict["baseline"]["branch"] == "main" and verdict["baseline"]["source"] == "store"
    assert [(f["path"], f["uncovered"]) for f in verdict["change"]["files"]] == [
        ("src/app.py", "2"),
        ("src/feature.py", "16-25"),
    ]

    markdown = (reports / "gate.md").read_text(encoding="utf-8")
    assert "- `src/app.py`: line 2 (3 of 4 covered)" in markdown
    assert "- `src/feature.py`: lines 16-25 (15 of 25 covered)" in markdown
    assert "; new findings: 1 (1 high); new test failures: 1" in markdown
    codequality = json.loads((reports / "cq.json").read_text(encoding="utf-8"))
    spots = [i["location"] for i in codequality if i["check_name"] == "gatekeeper/uncovered-changed-lines"]
    assert spots == [
        {"path": "src/app.py", "lines": {"begin": 2, "end": 2}},
        {"path": "src/feature.py", "lines": {"begin": 16, "end": 25}},
    ]
    annotations = (reports / "gh.txt").read_text(encoding="utf-8").splitlines()
    assert (
        "::warning file=src/feature.py,line=16,endLine=25,title=changed lines no test ran::"
        + ("lines 16-25 changed and run by no test (15 of 25 changed lines covered)")
        in annotations
    )


def test_a_small_change_is_not_judged_on_its_coverage(merge_request: tuple[Repo, Path]) -> None:
    repo, reports = merge_request
    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "one-line-fix")
    repo.commit("fix", **{"src__app.py": lines(29, "a = ") + "a = thirty\n"})  # line 30 changed, not run
    (reports / "coverage.xml").write_text(
        cobertura(repo.root, {"src/app.py": (range(1, 31), set(range(1, 30))), "src/legacy.py": (range(1, 51), set())})
    )
    (reports / "scan.sarif").write_text(sarif([("S1", "src/app.py", 10, "a = 10")]))
    (reports / "junit.xml").write_text(junit([]))
    _, verdict = check(repo, reports, "--branch", "one-line-fix", "--diff-base", "main")
    gate = next(g for g in verdict["gates"] if g["id"] == "new-lines-covered")
    assert gate["status"] == "skip" and gate["min_new_lines"] == 20
    assert gate["message"] == "not judged: 1 changed coverable line, fewer than min_new_lines 20"
    assert verdict["metrics"]["coverage.new_lines.percent"] == 0.0
    assert verdict["metrics"]["findings.new.total"] == 0 and verdict["metrics"]["tests.new_failures"] == 0


# -- a file the merge request renames keeps its findings known (bandit run for real) ---------------------

VAULT = (
    "import subprocess\n"  # B404 (low)
    + lines(10, "pad = ")
    + "def run(command):\n"
    + "    return subprocess.call(command, shell=True)\n"  # B602 (high)
    + lines(10, "tail = ")
)
HELPERS = lines(40, "helper = ")  # unlike vault.py, so git reads a file with vault's code pasted in as added


def scanned(repo: Repo, reports: Path, *options: str) -> dict[str, Any]:
    """bandit over the work tree, then `gatekeeper check` on its report alone."""
    subprocess.run(
        [str(BIN / "bandit"), "-q", "-r", "src", "-f", "json", "-o", str(reports / "bandit.json")],
        cwd=repo.root, env=environment(), capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    result = subprocess.run(
        [str(BIN / "gatekeeper"), "check", "--policy", str(reports / "policy.yaml"), "--project", "bank/vault",
         "--store", str(reports / "verdicts.db"), "--format", "json", str(reports / "bandit.json"), *options],
        cwd=repo.root, env=environment(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    verdict: dict[str, Any] = json.loads(result.stdout)
    return verdict


def move_vault(repo: Repo) -> None:
    (repo.root / "src" / "secure").mkdir()
    repo.git("mv", "src/vault.py", "src/secure/vault.py")


@pytest.fixture
def vault(tmp_path: Path) -> tuple[Repo, Path]:
    """main: src/vault.py with two bandit findings (B404, B602), scanned and stored."""
    repo = Repo.init(tmp_path / "repo")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "policy.yaml").write_text(STARTER, encoding="utf-8")
    repo.commit("base", **{"src__vault.py": VAULT, "src__other.py": lines(5, "o = ")})
    verdict = scanned(repo, reports, "--branch", "main", "--commit", repo.head())
    assert verdict["metrics"]["findings.total"] == 2 and verdict["baseline_keys"]["findings"]["count"] == 2
    (reports / "main.json").write_text(json.dumps(verdict), encoding="utf-8")
    repo.git("checkout", "-q", "-b", "feature")
    return repo, reports


def test_a_renamed_files_findings_are_known(vault: tuple[Repo, Path]) -> None:
    repo, reports = vault
    move_vault(repo)
    repo.commit("move")
    verdict = scanned(repo, reports, "--branch", "feature", "--diff-base", "main")
    assert [(f["path"], f["status"], f.get("old_path")) for f in verdict["change"]["files"]] == [
        ("src/secure/vault.py", "renamed", "src/vault.py")
    ]
    assert verdict["metrics"]["findings.total"] == 2 and verdict["metrics"]["findings.new.total"] == 0
    gate = next(g for g in verdict["gates"] if g["id"] == "no-new-critical-or-high-findings")
    assert gate["status"] == "pass"
    main = json.loads((reports / "main.json").read_text(encoding="utf-8"))
    fingerprints = [{f["fingerprint"] for f in v["details"]["findings"]} for v in (main, verdict)]
    assert len(fingerprints[1]) == 2 and fingerprints[0].isdisjoint(fingerprints[1])  # the public one holds the path


def test_a_renamed_and_edited_files_findings_are_known_off_the_edited_lines(vault: tuple[Repo, Path]) -> None:
    repo, reports = vault
    move_vault(repo)
    repo.commit("move and edit", **{"src__secure__vault.py": VAULT + lines(3, "more = ")})  # lines 24-26 added
    verdict = scanned(repo, reports, "--branch", "feature", "--diff-base", "main")
    assert [(f["status"], f["lines_added"]) for f in verdict["change"]["files"]] == [("renamed", 3)]
    assert verdict["metrics"]["findings.new.total"] == 0


def test_a_renamed_files_finding_on_a_changed_line_is_new(vault: tuple[Repo, Path]) -> None:
    repo, reports = vault
    move_vault(repo)
    edited = VAULT.replace("shell=True)", "shell=True)  # edited")  # B602's own line changed
    repo.commit("move and edit the call", **{"src__secure__vault.py": edited})
    verdict = scanned(repo, reports, "--branch", "feature", "--diff-base", "main")
    assert [f["status"] for f in verdict["change"]["files"]] == ["renamed"]
    assert verdict["metrics"]["findings.new.total"] == 1 and verdict["metrics"]["findings.new.high"] == 1


def test_without_rename_detection_a_renamed_file_reads_as_added_and_its_findings_as_new(
    vault: tuple[Repo, Path],
) -> None:
    repo, reports = vault
    move_vault(repo)
    repo.commit("move")
    verdict = scanned(repo, reports, "--branch", "feature", "--diff-base", "main", "--diff-no-renames")
    assert sorted((f["path"], f["status"]) for f in verdict["change"]["files"]) == [
        ("src/secure/vault.py", "added"),
        ("src/vault.py", "deleted"),
    ]
    assert verdict["metrics"]["findings.new.total"] == 2 and verdict["metrics"]["findings.new.high"] == 1


def test_a_finding_pasted_into_a_new_file_is_new(vault: tuple[Repo, Path]) -> None:
    repo, reports = vault
    code = VAULT.splitlines(keepends=True)
    kept = "".join(code[:11] + code[13:])  # vault.py without run(): B404 stays, B602 moves
    repo.commit("move run() out", **{"src__vault.py": kept, "src__helpers.py": HELPERS + "".join(code[11:13])})
    verdict = scanned(repo, reports, "--branch", "feature", "--diff-base", "main")
    assert {f["path"]: f["status"] for f in verdict["change"]["files"]}["src/helpers.py"] == "added"
    assert verdict["metrics"]["findings.new.total"] == 1 and verdict["metrics"]["findings.new.high"] == 1
    assert [(f["path"], f["rule"]) for f in verdict["details"]["findings"] if f["rule"] == "B602"] == [
        ("src/helpers.py", "B602")
    ]
