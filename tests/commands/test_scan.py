"""`gatekeeper scan`: real bandit and real semgrep on the bundled sample package, then `check`.

Counts are compared with what the tools say themselves when the test runs them directly (bandit's
`metrics._totals` and `results`, semgrep's `results`), never with numbers copied from gatekeeper.
semgrep lives in its own virtualenv (it pins click): `.ci/run` installs it in .ci/venv-semgrep, and
$GATEKEEPER_SEMGREP or PATH name another; tests that need it skip, saying why, where there is none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatekeeper.scanners import SEMGREP_RULES
from gatekeeper.scanners.bandit import EXCLUDED
from tests.conftest import REPO

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
SAMPLE = "examples/sample"  # scanned from the repository root, so report paths read examples/sample/src/…
LEGACY = "examples/sample/src/ledger/legacy.py"
CI_SEMGREP = REPO / ".ci" / "venv-semgrep" / ("Scripts" if os.name == "nt" else "bin") / "semgrep"
SEVERITIES = ("critical", "high", "medium", "low", "info")
BANDIT_SEVERITIES = {"HIGH": "high", "MEDIUM": "medium", "LOW": "low", "UNDEFINED": "info"}
SEMGREP_SEVERITIES = {"ERROR": "high", "WARNING": "medium", "INFO": "low"}
#: What legacy.py plants (its docstring): shell=True, eval, a password, MD5, yaml.load, pickle.loads.
PLANTED_BANDIT = {"B602", "B307", "B105", "B324", "B506", "B301"}
PLANTED_SEMGREP = {
    "subprocess-shell-true", "eval-used", "hard-coded-password", "md5-used", "yaml-load-without-safe-loader",
    "pickle-loads",
}  # fmt: skip


def find_semgrep() -> Path | None:
    named = os.environ.get("GATEKEEPER_SEMGREP")
    if named:
        return Path(named)
    if CI_SEMGREP.exists():
        return CI_SEMGREP
    found = shutil.which("semgrep")
    return Path(found) if found else None


@pytest.fixture
def semgrep() -> Path:
    found = find_semgrep()
    if found is None:
        pytest.skip(f"semgrep not installed: .ci/run puts it in {CI_SEMGREP.parent.parent} (or set GATEKEEPER_SEMGREP)")
    return found


def environment(semgrep: Path | None) -> dict[str, str]:
    """The test's environment without CI variables; semgrep named explicitly, or made unfindable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS"))}
    for name in ("GATEKEEPER_STORE", "GATEKEEPER_POLICY", "GATEKEEPER_SEMGREP", "GATEKEEPER_URL"):
        env.pop(name, None)
    if semgrep is not None:
        env["GATEKEEPER_SEMGREP"] = str(semgrep)
    else:
        directories = env.get("PATH", "").split(os.pathsep)
        env["PATH"] = os.pathsep.join(d for d in directories if d and not (Path(d) / "semgrep").exists())
    return env


def gatekeeper(*args: str, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def scan_json(reports_dir: Path, *args: str, env: dict[str, str], cwd: Path = REPO) -> tuple[int, dict[str, Any], str]:
    """Run `scan … --format json` for a named project (no warning that the verdict names none); (exit status,
    verdict, stderr)."""
    result = gatekeeper("scan", *args, "--reports-dir", str(reports_dir), "--no-store", "--format", "json",
                        "--project", "example/sample", env=env, cwd=cwd)  # fmt: skip
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def run_bandit(target: str) -> dict[str, Any]:
    """bandit as a user runs it on the source directory, JSON on standard output."""
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", target, "-f", "json", "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr  # 1: findings
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def run_semgrep(semgrep: Path, target: str, rules: Path = SEMGREP_RULES, cwd: Path = REPO) -> dict[str, Any]:
    result = subprocess.run(
        [str(semgrep), "scan", "--config", str(rules), "--no-rewrite-rule-ids", "--metrics=off",
         "--disable-version-check", "--json", "--quiet", target],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["errors"] == [], document["errors"]
    return document


def findings_of(verdict: dict[str, Any], tool: str) -> list[dict[str, Any]]:
    assert verdict["details"]["findings_omitted"] == 0
    return [finding for finding in verdict["details"]["findings"] if finding["tool"] == tool]


# --- both tools on the sample package ----------------------------------------------------------------


def test_scan_finds_the_planted_issues_with_both_tools(semgrep: Path, tmp_path: Path) -> None:
    status, verdict, stderr = scan_json(tmp_path / "reports", SAMPLE, env=environment(semgrep))

    assert status == 1, stderr  # the planted shell=True, eval and pickle are high findings
    assert "warning" not in stderr
    assert verdict["status"] == "fail"
    assert verdict["policy"]["name"] == "scan"  # the bundled security-only policy
    assert [(i["format"], Path(i["path"]).name) for i in verdict["inputs"]] == [
        ("bandit", "bandit.json"),
        ("semgrep", "semgrep.json"),
    ]
    assert (tmp_path / "reports" / "bandit.json").is_file() and (tmp_path / "reports" / "semgrep.json").is_file()

    # The tools run directly on the package's sources (scan leaves tests/ out, as semgrep does by default).
    bandit_own = run_bandit(f"{SAMPLE}/src")
    semgrep_own = run_semgrep(semgrep, f"{SAMPLE}/src")
    totals = bandit_own["metrics"]["_totals"]
    bandit_total = sum(totals[f"SEVERITY.{word}"] for word in BANDIT_SEVERITIES)
    assert bandit_total == len(bandit_own["results"])
    counts = {i["format"]: i["counts"]["findings.total"] for i in verdict["inputs"]}
    assert counts == {"bandit": bandit_total, "semgrep": len(semgrep_own["results"])}

    expected: Counter[str] = Counter()
    for word, severity in BANDIT_SEVERITIES.items():
        expected[severity] += totals[f"SEVERITY.{word}"]
    for result in semgrep_own["results"]:
        expected[SEMGREP_SEVERITIES[result["extra"]["severity"]]] += 1
    for severity in SEVERITIES:
        assert verdict["metrics"][f"findings.{severity}"] == expected[severity], severity
    assert verdict["metrics"]["findings.total"] == bandit_total + len(semgrep_own["results"])

    # Same findings, one for one: rule, file and line.
    def located(results: list[dict[str, Any]], rule: str, path: str, line: str) -> Counter[tuple[str, str, int]]:
        return Counter((r[rule], r[path].removeprefix("./"), r[line]) for r in results)

    assert located(findings_of(verdict, "bandit"), "rule", "path", "line") == Counter(
        (r["test_id"], r["filename"], r["line_number"]) for r in bandit_own["results"]
    )
    assert located(findings_of(verdict, "semgrep"), "rule", "path", "line") == Counter(
        (r["check_id"], r["path"], r["start"]["line"]) for r in semgrep_own["results"]
    )
    in_legacy = {(f["tool"], f["rule"]) for f in verdict["details"]["findings"] if f["path"] == LEGACY}
    assert {rule for tool, rule in in_legacy if tool == "bandit"} >= PLANTED_BANDIT
    assert {rule for tool, rule in in_legacy if tool == "semgrep"} >= PLANTED_SEMGREP


def test_scan_passes_checks_options_and_extra_reports_on(semgrep: Path, tmp_path: Path) -> None:
    """--policy, --output, --warn-exit-code and report arguments mean what they mean to `check`."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "policy: team\nformat: 1\nextends: starter\nwaivers:\n"
        "  - match: {path: 'examples/sample/src/ledger/legacy.py'}\n    reason: legacy importer, retired in Q3\n",
        encoding="utf-8",
    )
    junit = tmp_path / "gate.xml"
    status, verdict, stderr = scan_json(
        tmp_path / "reports", SAMPLE, "examples/passing/reports/junit.xml", "examples/passing/reports/coverage.xml",
        "--policy", str(policy), "--output", f"junit={junit}", "--warn-exit-code", "10",
        env=environment(semgrep),
    )  # fmt: skip
    assert verdict["policy"]["name"] == "team"
    assert [i["format"] for i in verdict["inputs"]] == ["bandit", "semgrep", "junit", "cobertura"]
    assert verdict["metrics"]["tests.total"] == 31
    # Everything in legacy.py is waived; the sample's `random` use (bandit B311, semgrep INFO) remains, low.
    assert verdict["metrics"]["findings.waived"] > 0
    assert verdict["metrics"]["findings.high"] == 0
    assert all(f["path"] != LEGACY for f in verdict["details"]["findings"])
    assert status == {"pass": 0, "warn": 10}[verdict["status"]], stderr
    assert junit.read_text(encoding="utf-8").startswith("<?xml")


# --- without semgrep, and when a scanner breaks ------------------------------------------------------


def test_scan_without_semgrep_warns_once_and_uses_bandit_alone(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "semgrep.json").write_text('{"results": [], "errors": []}', encoding="utf-8")  # a stale one
    status, verdict, stderr = scan_json(reports, SAMPLE, env=environment(None))

    warnings = [line for line in stderr.splitlines() if line.strip()]
    assert len(warnings) == 1, stderr
    assert warnings[0].startswith("gatekeeper: warning: semgrep not found")
    assert "pip install semgrep" in warnings[0] and "GATEKEEPER_SEMGREP" in warnings[0]
    assert [i["format"] for i in verdict["inputs"]] == ["bandit"]
    assert not (reports / "semgrep.json").exists()
    bandit_own = run_bandit(f"{SAMPLE}/src")
    assert verdict["metrics"]["findings.total"] == len(bandit_own["results"])
    assert {f["tool"] for f in verdict["details"]["findings"]} == {"bandit"}
    assert status == 1


def test_a_semgrep_that_crashes_is_an_input_error(semgrep: Path, tmp_path: Path) -> None:
    """Real semgrep, given rules it cannot load: exit 2, one line with semgrep's own reason, and an error
    verdict recorded with bandit's report, which was read: a broken scan never looks like silence."""
    rules = tmp_path / "broken-rules.yaml"
    rules.write_text("rules:\n  - id: no-message\n    languages: [python]\n    pattern: eval(...)\n", encoding="utf-8")
    store = tmp_path / "verdicts.db"
    result = gatekeeper("scan", SAMPLE, "--semgrep-rules", str(rules), "--reports-dir", str(tmp_path / "r"),
                        "--store", str(store), "--format", "json", env=environment(semgrep))  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"gatekeeper: error: {semgrep}: semgrep crashed (exit status 7)")
    assert "invalid configuration file" in lines[0]
    verdict = json.loads(result.stdout)
    assert verdict["status"] == "error"
    assert "semgrep crashed (exit status 7)" in verdict["reason"]
    assert [entry["format"] for entry in verdict["inputs"]] == ["bandit"]
    recorded = gatekeeper("verdicts", "show", "latest", "--store", str(store), "--format", "json",
                          env=environment(semgrep))  # fmt: skip
    assert json.loads(recorded.stdout)["id"] == verdict["id"]


def test_a_semgrep_that_is_not_semgrep_is_an_input_error(tmp_path: Path) -> None:
    """$GATEKEEPER_SEMGREP pointing at the wrong program (here `false`, which only fails): exit 2, one line."""
    false = shutil.which("false")
    assert false is not None
    result = gatekeeper("scan", SAMPLE, "--reports-dir", str(tmp_path), "--no-store", env=environment(Path(false)))
    assert result.returncode == 2
    assert result.stderr.strip() == f"gatekeeper: error: {false}: semgrep crashed (exit status 1): no output"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no/such/dir",), "no/such/dir: no such file or directory to scan"),
        ((SAMPLE, "--semgrep-rules", "no-such-rules.yaml"), "no-such-rules.yaml: no such semgrep rules file"),
        ((SAMPLE, "--policy", "no-such-policy.yaml"), "no-such-policy.yaml"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    result = gatekeeper("scan", *args, "--reports-dir", str(tmp_path), "--no-store", env=environment(None))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("gatekeeper: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_gatekeeper_semgrep_that_names_nothing_is_a_usage_error(tmp_path: Path) -> None:
    result = gatekeeper("scan", SAMPLE, "--reports-dir", str(tmp_path), "--no-store",
                        env=environment(tmp_path / "nothing"))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == f"gatekeeper: error: GATEKEEPER_SEMGREP={tmp_path / 'nothing'}: no such executable"


# --- reports from Windows runners --------------------------------------------------------------------


def windows_paths(document: dict[str, Any], key: str, root: str) -> dict[str, Any]:
    """A report as the same tool writes it on Windows: backslashes, and here an absolute drive path."""
    for result in document["results"]:
        result[key] = root + result[key].replace("/", "\\")
    return document


def test_windows_paths_in_reports_are_read_through_scan(tmp_path: Path) -> None:
    """Reports from a Windows job (`src\\ledger\\legacy.py`, `C:\\ci\\src\\…`) given to scan beside its own:
    paths come out with forward slashes, so path waivers written once match on every OS."""
    bandit_report = windows_paths(run_bandit(f"{SAMPLE}/src"), "filename", "")
    semgrep_report = json.loads((REPO / "examples/failing/reports/semgrep.json").read_text(encoding="utf-8"))
    semgrep_report = windows_paths(semgrep_report, "path", "C:\\ci\\")
    (tmp_path / "bandit-windows.json").write_text(json.dumps(bandit_report), encoding="utf-8")
    (tmp_path / "semgrep-windows.json").write_text(json.dumps(semgrep_report), encoding="utf-8")
    assert all(r["filename"].startswith("examples\\sample\\src\\") for r in bandit_report["results"])
    assert all(r["path"].startswith("C:\\ci\\src\\") for r in semgrep_report["results"])
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "policy: windows\nformat: 1\ngates:\n  - {id: no-high, metric: findings.high, max: 0}\nwaivers:\n"
        "  - match: {path: '**/src/ledger/legacy.py'}\n    reason: retired importer\n",
        encoding="utf-8",
    )
    empty = tmp_path / "empty-tree"
    empty.mkdir()  # nothing of scan's own: every finding comes from the Windows reports

    status, verdict, stderr = scan_json(
        tmp_path / "reports", str(empty), str(tmp_path / "bandit-windows.json"), str(tmp_path / "semgrep-windows.json"),
        "--policy", str(policy), env=environment(None),
    )  # fmt: skip
    assert [i["format"] for i in verdict["inputs"]] == ["bandit", "bandit", "semgrep"]
    assert [i["counts"]["findings.total"] for i in verdict["inputs"]] == [
        0, len(bandit_report["results"]), len(semgrep_report["results"]),
    ]  # fmt: skip
    paths = {f["path"] for f in verdict["details"]["findings"]}
    assert paths and not any("\\" in path for path in paths)
    assert paths <= {f"{SAMPLE}/src/ledger/statements.py", "C:/ci/src/ledger/statements.py"}
    in_legacy = [r for r in bandit_report["results"] if r["filename"].endswith("legacy.py")]
    in_legacy += [r for r in semgrep_report["results"] if r["path"].endswith("legacy.py")]
    assert verdict["metrics"]["findings.waived"] == len(in_legacy) > 0
    assert status == 0, stderr


# --- the bundled rules ---------------------------------------------------------------------------------

#: One line that each bundled rule must flag, and code none may flag.
RULE_CASES = """
import hashlib, jinja2, jwt, marshal, os, pickle, random, requests, shelve, ssl, subprocess, tarfile
import tempfile, xml.etree.ElementTree, yaml

API_PASSWORD = "hunter2"                                                    # hard-coded-password


def flagged(data, name, cursor, token, app):
    subprocess.run(f"ls {name}", shell=True)                                # subprocess-shell-true
    eval(data)                                                              # eval-used
    pickle.loads(data)                                                      # pickle-loads
    yaml.load(data)                                                         # yaml-load-without-safe-loader
    hashlib.md5(data)                                                       # md5-used
    random.random()                                                         # non-cryptographic-random
    os.system(f"rm {name}")                                                 # os-system-or-popen
    exec(data)                                                              # exec-used
    marshal.loads(data)                                                     # marshal-or-shelve-load
    yaml.unsafe_load(data)                                                  # yaml-unsafe-load
    cursor.execute("SELECT * FROM t WHERE name = '%s'" % name)              # sql-built-from-strings
    requests.get("https://example.invalid", verify=False)                   # tls-verification-disabled
    jwt.decode(token, options={"verify_signature": False})                  # jwt-signature-not-verified
    hashlib.sha1(data)                                                      # sha1-used
    tempfile.mktemp()                                                       # tempfile-mktemp
    tarfile.open(name).extractall("/tmp/x")                                 # tar-extractall-unfiltered
    os.chmod(name, 0o777)                                                   # world-writable-permissions
    app.run(debug=True)                                                     # flask-debug-enabled
    jinja2.Environment(autoescape=False)                                    # jinja2-autoescape-disabled
    xml.etree.ElementTree.fromstring(data)                                  # xml-parsed-with-stdlib


def fine(data, name, cursor):
    subprocess.run(["ls", name])
    eval("1 + 1")
    yaml.load(data, Loader=yaml.SafeLoader)
    hashlib.md5(data, usedforsecurity=False)
    os.system("ls")
    cursor.execute("SELECT * FROM t WHERE name = ?", (name,))
    requests.get("https://example.invalid")
    os.chmod(name, 0o644)
    tarfile.open(name).extractall("/tmp/x", filter="data")
    jinja2.Environment(autoescape=True)
"""


def bundled_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = yaml.safe_load(SEMGREP_RULES.read_text(encoding="utf-8"))["rules"]
    return rules


def test_every_bundled_rule_flags_its_case_and_nothing_else(semgrep: Path, tmp_path: Path) -> None:
    (tmp_path / "cases.py").write_text(RULE_CASES, encoding="utf-8")
    document = run_semgrep(semgrep, ".", cwd=tmp_path)
    lines = RULE_CASES.splitlines()
    found = sorted((r["check_id"], r["start"]["line"]) for r in document["results"])
    expected = sorted(
        (line.rsplit("# ", 1)[1].strip(), number)
        for number, line in enumerate(lines, 1)
        if line.rstrip().endswith(tuple(rule["id"] for rule in bundled_rules()))
    )
    assert found == expected
    assert {rule for rule, _ in found} == {rule["id"] for rule in bundled_rules()}


def test_bundled_rules_keep_the_examples_rules_and_are_offline_security_rules() -> None:
    """examples/semgrep-rules.yaml made the example reports; the bundled set starts with the same rules."""
    examples = yaml.safe_load((REPO / "examples" / "semgrep-rules.yaml").read_text(encoding="utf-8"))["rules"]
    bundled = bundled_rules()
    assert bundled[: len(examples)] == examples
    assert len(bundled) >= 2 * len(examples)
    assert len({rule["id"] for rule in bundled}) == len(bundled)
    for rule in bundled:
        assert rule["languages"] == ["python"]
        assert rule["severity"] in SEMGREP_SEVERITIES
        assert rule["metadata"]["category"] == "security" and rule["metadata"]["cwe"].startswith("CWE-")


def test_bandit_leaves_out_what_semgrep_leaves_out_by_default() -> None:
    """Both tools read the same files: semgrep's default ignores include tests/ and environments."""
    assert {"tests", "test", ".venv", "node_modules", "build", "dist", "vendor"} <= set(EXCLUDED)


# --- paths that look like options (issue 13, item 10) -------------------------------------------------

OPTION_LIKE = "--ini=evil.ini"


def option_like_tree(root: Path) -> Path:
    """A directory named like bandit's `--ini` option, holding planted code, beside the ini file that option
    would read: it points bandit at an empty directory, so a path taken for the option hides every finding."""
    planted = root / OPTION_LIKE
    planted.mkdir()
    (planted / "bad.py").write_text("import subprocess\nsubprocess.call(input(), shell=True)\neval(input())\n")
    (root / "empty").mkdir()
    (root / "evil.ini").write_text("[bandit]\ntargets: empty\n", encoding="utf-8")
    return planted


def test_a_path_that_looks_like_an_option_is_refused(tmp_path: Path) -> None:
    option_like_tree(tmp_path)
    result = gatekeeper("scan", "--reports-dir", "reports", "--no-store", "--", OPTION_LIKE,
                        env=environment(None), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"gatekeeper: error: {OPTION_LIKE}: a path to scan may not start with '-' (a scanner could take it for an "
        f"option); write ./{OPTION_LIKE}"
    )
    assert not (tmp_path / "reports" / "bandit.json").exists()  # refused before any scanner ran


def test_the_suggested_path_is_scanned_as_a_path(tmp_path: Path) -> None:
    option_like_tree(tmp_path)
    status, verdict, _ = scan_json(tmp_path / "reports", f"./{OPTION_LIKE}", env=environment(None), cwd=tmp_path)
    assert {finding["rule"] for finding in findings_of(verdict, "bandit")} >= {"B602", "B307"}
    assert status == 1


@pytest.mark.parametrize("tool", ["bandit", "semgrep"])
def test_each_scanner_takes_its_path_after_a_double_dash(
    tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below the CLI's refusal, each scanner's own command line ends `-- PATH`: real bandit and semgrep read
    an option-like directory name as the directory, and report its findings."""
    from gatekeeper import scanners
    from gatekeeper.scanners import bandit, semgrep

    option_like_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    report = tmp_path / f"{tool}.json"
    if tool == "bandit":
        scanner = bandit.scanner(bandit.locate(), OPTION_LIKE, report)
    else:
        executable = find_semgrep()
        if executable is None:
            pytest.skip(f"semgrep not installed: .ci/run puts it in {CI_SEMGREP.parent.parent}")
        scanner = semgrep.scanner(executable, OPTION_LIKE, report, SEMGREP_RULES)
    assert scanner.command[-2:] == ("--", OPTION_LIKE)
    results = json.loads(scanners.run(scanner).read_text(encoding="utf-8"))["results"]
    paths = {result["filename" if tool == "bandit" else "path"] for result in results}
    assert paths == {f"{OPTION_LIKE}/bad.py"}
    assert len(results) >= 2
