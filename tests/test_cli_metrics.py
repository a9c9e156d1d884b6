"""`gatekeeper metrics`: the table and JSON a user sees, merging, globs, forcing, and a fast start-up."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gatekeeper import __version__
from gatekeeper.cli import main
from tests.conftest import corpus_path

GATEKEEPER = Path(sys.executable).parent / "gatekeeper"


def gatekeeper(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a CI job runs it."""
    if not GATEKEEPER.exists():
        pytest.skip(f"console script not installed at {GATEKEEPER}")
    return subprocess.run([str(GATEKEEPER), *arguments], cwd=cwd, capture_output=True, text=True, timeout=60)


def metrics_json(*arguments: str, cwd: Path) -> dict[str, Any]:
    run = gatekeeper("metrics", "--format", "json", *arguments, cwd=cwd)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    document: dict[str, Any] = json.loads(run.stdout)
    return document


def junit(path: Path, passed: int = 0, failed: int = 0, errors: int = 0, skipped: int = 0) -> Path:
    """A small JUnit file with the given outcome counts, each case taking 0.25 s."""
    cases = (
        ['<testcase name="p" time="0.25"/>'] * passed
        + ['<testcase name="f" time="0.25"><failure message="boom"/></testcase>'] * failed
        + ['<testcase name="e" time="0.25"><error/></testcase>'] * errors
        + ['<testcase name="s" time="0.25"><skipped/></testcase>'] * skipped
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<testsuite name="{path.stem}">{"".join(cases)}</testsuite>', encoding="utf-8")
    return path


def test_table_on_a_corpus_file(tmp_path: Path) -> None:
    path = corpus_path("tests/go-junit-report/001-report.xml")
    run = gatekeeper("metrics", str(path), cwd=tmp_path)
    assert run.returncode == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["junit", str(path), "(tests.total=5,", "tests.failed=1,", "tests.errors=0)"]
    rows = dict(line.split() for line in lines if line.startswith("tests."))
    assert rows == {
        "tests.total": "5",
        "tests.passed": "2",
        "tests.failed": "1",
        "tests.errors": "0",
        "tests.skipped": "2",
        "tests.flaky": "0",
        "tests.pass_percent": "66.67",
        "tests.duration_seconds": "0.46",
    }
    absent = next(line for line in lines if line.startswith("absent"))
    assert "coverage.lines.percent" in absent and "findings.total" in absent and "tests." not in absent


def test_table_shows_notes_and_absent_pass_percent(tmp_path: Path) -> None:
    path = corpus_path("edge/tests/go-junit-report-015-no-tests.xml")
    run = gatekeeper("metrics", str(path), cwd=tmp_path)
    assert run.returncode == 0
    assert "note: suite 'package/empty' has no <testcase>" in run.stdout
    assert re.search(r"^tests\.total\s+0$", run.stdout, re.MULTILINE)
    assert "tests.pass_percent" in next(line for line in run.stdout.splitlines() if line.startswith("absent"))


def test_json_on_a_corpus_file(tmp_path: Path) -> None:
    path = corpus_path("tests/gotestsum/junitxml-report.golden.xml")
    document = metrics_json(str(path), cwd=tmp_path)
    assert document["metrics"] == pytest.approx(
        {
            "tests.total": 60,
            "tests.passed": 42,
            "tests.failed": 13,
            "tests.errors": 0,
            "tests.skipped": 5,
            "tests.flaky": 0,
            "tests.pass_percent": 42 * 100 / 55,
            "tests.duration_seconds": 0.06,
        }
    )
    (report,) = document["inputs"]
    assert report["path"] == str(path) and report["format"] == "junit"
    assert report["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert report["counts"] == {"tests.total": 60, "tests.failed": 13, "tests.errors": 0}
    assert report["notes"] == [
        "suite 'gotest.tools/gotestsum/testjson/internal/empty' has no <testcase>: "
        "counted from its attributes (tests=0, failures=0, errors=0, skipped=0)"
    ]


def test_several_junit_files_in_a_directory_merge_by_adding_counts(tmp_path: Path) -> None:
    junit(tmp_path / "results" / "TEST-a.xml", passed=3, failed=1)
    junit(tmp_path / "results" / "TEST-b.xml", passed=2, errors=1, skipped=2)
    junit(tmp_path / "results" / "nested" / "TEST-c.xml", passed=4)
    (tmp_path / "results" / "output.log").write_text("not a report\n", encoding="utf-8")
    document = metrics_json("results", cwd=tmp_path)
    assert [(i["path"], i["counts"]["tests.total"]) for i in document["inputs"]] == [
        ("results/TEST-a.xml", 4),
        ("results/TEST-b.xml", 5),
        ("results/nested/TEST-c.xml", 4),
    ]
    metrics = document["metrics"]
    assert metrics["tests.total"] == 13 == sum(i["counts"]["tests.total"] for i in document["inputs"])
    outcomes = ("tests.passed", "tests.failed", "tests.errors", "tests.skipped")
    assert [metrics[name] for name in outcomes] == [9, 1, 1, 2]
    assert metrics["tests.pass_percent"] == pytest.approx(9 * 100 / 11)
    assert metrics["tests.duration_seconds"] == pytest.approx(13 * 0.25)


def test_a_recursive_glob_expands_across_modules(tmp_path: Path) -> None:
    junit(tmp_path / "module-a" / "target" / "surefire-reports" / "TEST-a.xml", passed=2)
    junit(tmp_path / "module-b" / "target" / "surefire-reports" / "TEST-b.xml", failed=1)
    junit(tmp_path / "module-b" / "target" / "other.xml", passed=100)  # not matched by the pattern
    document = metrics_json("**/TEST-*.xml", cwd=tmp_path)
    assert [Path(i["path"]).name for i in document["inputs"]] == ["TEST-a.xml", "TEST-b.xml"]
    assert document["metrics"]["tests.total"] == 3


def test_forcing_a_format_reads_what_detection_cannot(tmp_path: Path) -> None:
    """A root element behind a 70 KB prolog is past what detection sniffs; `junit:` reads it anyway."""
    path = junit(tmp_path / "big-prolog.xml", passed=1)
    path.write_text(f"<!-- {'x' * 70_000} -->" + path.read_text(encoding="utf-8"), encoding="utf-8")
    undetected = gatekeeper("metrics", "big-prolog.xml", cwd=tmp_path)
    assert undetected.returncode == 2 and "use FORMAT:PATH to force a format" in undetected.stderr
    document = metrics_json("junit:big-prolog.xml", cwd=tmp_path)
    assert document["inputs"][0]["format"] == "junit" and document["metrics"]["tests.total"] == 1


def test_the_same_file_named_twice_is_counted_once(tmp_path: Path) -> None:
    junit(tmp_path / "out" / "TEST-a.xml", passed=2)
    document = metrics_json("out/TEST-a.xml", "out", "./out/*.xml", cwd=tmp_path)
    assert document["metrics"]["tests.total"] == 2


def test_version(tmp_path: Path) -> None:
    run = gatekeeper("--version", cwd=tmp_path)
    assert run.returncode == 0
    assert run.stdout.strip() == f"gatekeeper, version {__version__}"


def test_metrics_help(tmp_path: Path) -> None:
    run = gatekeeper("metrics", "--help", cwd=tmp_path)
    assert run.returncode == 0 and run.stderr == ""
    assert "[FORMAT:]PATH..." in run.stdout and "--format [table|json]" in run.stdout


def test_metrics_without_reports_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["metrics"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output


def test_unknown_output_format_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["metrics", "--format", "xml", "x.xml"])
    assert result.exit_code == 2


def test_cli_runner_json_matches_the_console_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    junit(tmp_path / "r.xml", passed=1, failed=1)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["metrics", "--format", "json", "r.xml"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == metrics_json("r.xml", cwd=tmp_path)


# --- start-up cost: which modules the quick commands import ----------------------------------------------

HEAVY = ("ijson", "coverage", "yaml", "jsonschema", "requests")


def imported_modules(*argv: str) -> set[str]:
    """Top-level modules imported while running `gatekeeper ARGV` (from `python -X importtime`)."""
    code = f"import sys; sys.argv = ['gatekeeper', *{argv!r}]; from gatekeeper.cli import main; main()"
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    modules = set()
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                modules.add(name.split(".")[0])
    assert "gatekeeper" in modules and "click" in modules  # the parse worked
    return modules


@pytest.mark.parametrize("argv", [("--version",), ("metrics", "--help"), ("--help",)])
def test_quick_commands_do_not_import_heavy_modules(argv: tuple[str, ...]) -> None:
    assert not imported_modules(*argv) & set(HEAVY)


def test_the_import_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """Control: reading a JSON report does import ijson, so the probe above can fail."""
    report = tmp_path / "scan.sarif"
    report.write_text('{"version": "2.1.0", "runs": []}', encoding="utf-8")
    assert "ijson" in imported_modules("metrics", str(report))


# --- issue 15: SARIF suppressions, Cobertura totals that disagree, the combined coverage figure -------------


def _sarif(path: Path) -> Path:
    """One active result, one suppressed in source (no status: accepted), one whose suppression is under review."""

    def result(line: int, **fields: Any) -> dict[str, Any]:
        location = {"physicalLocation": {"artifactLocation": {"uri": "src/app.py"}, "region": {"startLine": line}}}
        base = {"ruleId": "B101", "level": "error", "message": {"text": f"issue {line}"}, "locations": [location]}
        return base | fields

    results = [
        result(1),
        result(2, suppressions=[{"kind": "inSource", "justification": "asserts are expected here"}]),
        result(3, suppressions=[{"kind": "external", "status": "underReview"}]),
        result(4, kind="informational"),
    ]
    document = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Bandit"}}, "results": results}]}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_sarif_suppressed_results_count_as_waived(tmp_path: Path) -> None:
    path = _sarif(tmp_path / "scan.sarif")
    document = metrics_json(str(path), cwd=tmp_path)
    metrics = document["metrics"]
    assert (metrics["findings.total"], metrics["findings.high"], metrics["findings.waived"]) == (2, 2, 1)
    (report,) = document["inputs"]
    assert "1 result suppressed (SARIF suppressions): counted as waived" in report["notes"]
    assert "1 result of kind pass/notApplicable/informational is not a finding" in report["notes"]


def test_check_lists_suppressed_findings_with_kind_and_justification(tmp_path: Path) -> None:
    """The verdict's details name each suppressed finding with its suppression; the schema takes it."""
    from gatekeeper import verdict

    path = _sarif(tmp_path / "scan.sarif")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "policy: suppressions\nformat: 1\ngates:\n  - id: no-high\n    metric: findings.high\n    max: 2\n",
        encoding="utf-8",
    )
    run = gatekeeper(
        "check", "-p", str(policy), "--project", "demo", "--store", str(tmp_path / "v.db"), "--format", "json",
        str(path), cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["metrics"]["findings.waived"] == 1 and document["metrics"]["findings.total"] == 2
    (suppressed,) = document["details"]["suppressed"]
    assert suppressed["line"] == 2 and suppressed["rule"] == "B101"
    assert suppressed["suppression"] == {"kind": "inSource", "justification": "asserts are expected here"}
    assert [finding["line"] for finding in document["details"]["findings"]] == [1, 3]
    typed = verdict.parse(document, "stdout")  # valid against the schema, and read back typed
    assert typed.to_json() == document


def _coverage(directory: Path, *arguments: str) -> str:
    """coverage.py itself (the one installed beside gatekeeper), run in `directory`."""
    run = subprocess.run(
        [sys.executable, "-m", "coverage", *arguments], cwd=directory, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_coverage_percent_is_what_coverage_report_prints(tmp_path: Path) -> None:
    """A real `coverage run --branch`: coverage.percent is `coverage report`'s total, from XML and JSON alike."""
    (tmp_path / "tiny.py").write_text(
        "def sign(x):\n    if x > 0:\n        return 1\n    if x < 0:\n        return -1\n    return 0\n\n"
        "for value in (5, 7):\n    sign(value)\n",
        encoding="utf-8",
    )
    _coverage(tmp_path, "run", "--branch", "tiny.py")
    total = float(_coverage(tmp_path, "report", "--format=total", "--precision=6"))
    _coverage(tmp_path, "xml", "-o", "coverage.xml")
    _coverage(tmp_path, "json", "-o", "coverage.json")
    for report in ("coverage.xml", "coverage.json"):
        metrics = metrics_json(report, cwd=tmp_path)["metrics"]
        assert metrics["coverage.branches.total"] > 0 and metrics["coverage.branches.covered"] > 0
        assert metrics["coverage.percent"] != metrics["coverage.lines.percent"]  # branches do count
        assert metrics["coverage.percent"] == pytest.approx(total, abs=1e-6), report


def test_coverage_percent_is_absent_without_line_or_branch_data(tmp_path: Path) -> None:
    path = tmp_path / "empty.xml"
    path.write_text('<coverage lines-valid="0" lines-covered="0"><packages/></coverage>', encoding="utf-8")
    metrics = metrics_json(str(path), cwd=tmp_path)["metrics"]
    assert metrics["coverage.lines.total"] == 0 and "coverage.percent" not in metrics


def test_cobertura_totals_that_disagree_with_entries_are_noted(tmp_path: Path) -> None:
    """coverage.py with two `<source>` roots holding files of the same name (tlz/, toolz/ __init__.py):
    its entries share one file name, merged by line, while its root counts both files."""
    for package, body in (
        ("tlz", "def a(x):\n    if x:\n        return 1\n    return 2\n"),
        ("toolz", "V = 1\nW = 2\n"),
    ):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(body, encoding="utf-8")
    (tmp_path / "main.py").write_text("import tlz, toolz\ntlz.a(True)\n", encoding="utf-8")
    (tmp_path / ".coveragerc").write_text("[run]\nbranch = true\nsource = tlz, toolz\n", encoding="utf-8")
    _coverage(tmp_path, "run", "main.py")
    _coverage(tmp_path, "xml", "-o", "coverage.xml")
    run = gatekeeper("metrics", "coverage.xml", cwd=tmp_path)
    assert run.returncode == 0 and run.stderr == ""
    # The root: 4 + 2 = 6 lines, 3 + 2 = 5 covered; the entries, merged as one __init__.py: lines 1-4, 1-3 covered.
    assert (
        "note: Cobertura root totals disagree with its <class> entries (lines-valid=6 but its entries hold 4; "
        "lines-covered=5 but its entries hold 3): the entries are counted"
    ) in run.stdout
    rows = dict(line.split() for line in run.stdout.splitlines() if line.startswith("coverage.lines."))
    assert rows["coverage.lines.total"] == "4"


def test_summed_case_times_show_no_float_noise_in_metrics_and_the_verdict(tmp_path: Path) -> None:
    """0.1 + 0.2 adds up to 0.30000000000000004 in floats; no report wrote that, so none shows it."""
    assert 0.1 + 0.2 != 0.3
    (tmp_path / "TEST-s.xml").write_text(
        '<testsuite name="s"><testcase name="a" time="0.1"/><testcase name="b" time="0.2"/></testsuite>',
        encoding="utf-8",
    )
    shown = gatekeeper("metrics", "--format", "json", "TEST-s.xml", cwd=tmp_path)
    assert '"tests.duration_seconds": 0.3\n' in shown.stdout
    (tmp_path / "policy.yaml").write_text("policy: p\ngates:\n  - {id: t, metric: tests.total, min: 1}\n")
    checked = gatekeeper("check", "-p", "policy.yaml", "--no-store", "--format", "json", "TEST-s.xml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["metrics"]["tests.duration_seconds"] == 0.3
