"""The bundled example reports read back to what the tools that wrote them said themselves.

examples/make_reports.py makes these reports by running pytest, coverage, bandit and semgrep on
examples/sample.  Each test here compares gatekeeper's metrics for one report with the tool's own count
in its own output (pytest's JUnit attributes and summary line, coverage's JSON `totals`, bandit's
`metrics._totals`, semgrep's `results`), never with numbers copied from gatekeeper's output.  A format
whose parser module is not written yet is skipped, and says so.
"""

from __future__ import annotations

import importlib.util
import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import metrics
from gatekeeper.parsers import FORMATS, read_report
from tests.conftest import REPO

EXAMPLES = REPO / "examples"
SAMPLE = EXAMPLES / "sample"
PROJECTS = ("passing", "failing")
SEVERITIES = ("critical", "high", "medium", "low", "info")


def reports(project: str) -> Path:
    return EXAMPLES / project / "reports"


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_metrics(path: Path, format_name: str) -> metrics.Metrics:
    """The metrics gatekeeper reads from one report, whose format must be detected from its content."""
    fmt = FORMATS[format_name]
    if importlib.util.find_spec(f"gatekeeper.parsers.{fmt.module}") is None:
        pytest.skip(f"gatekeeper/parsers/{fmt.module}.py does not exist yet: no {fmt.title} parser to check")
    report = read_report(path)
    assert report.format == format_name, f"{path.name} detected as {report.format}"
    return metrics.compute(report.evidence)


def subset(found: metrics.Metrics, prefix: str) -> dict[str, float]:
    return {name: value for name, value in found.items() if name.startswith(prefix)}


# --- tests: pytest's own counts -------------------------------------------------------------------------


def junit_counts(project: str) -> dict[str, int]:
    """Counts from pytest's <testsuite> attributes, right for pytest (an xfail is in `skipped`)."""
    suite = ElementTree.parse(reports(project) / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    attributes = ("tests", "failures", "errors", "skipped")
    total, failed, errors, skipped = (int(suite.get(key, "0")) for key in attributes)
    return {
        "total": total,
        "passed": total - failed - errors - skipped,
        "failed": failed,
        "errors": errors,
        "skipped": skipped,
    }


def summary_counts(project: str) -> dict[str, int]:
    """Counts from pytest's closing line ('2 failed, 34 passed, 1 skipped, 1 xfailed, 1 error in 1.6s').

    DESIGN.md: an xfail is skipped and a (non-strict) xpass passed.
    """
    line = (reports(project) / "pytest-summary.txt").read_text(encoding="utf-8")
    said = {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", line)}
    counts = {
        "passed": said.get("passed", 0) + said.get("xpassed", 0),
        "failed": said.get("failed", 0),
        "errors": said.get("error", 0) + said.get("errors", 0),
        "skipped": said.get("skipped", 0) + said.get("xfailed", 0),
    }
    return {"total": sum(counts.values()), **counts}


@pytest.mark.parametrize("project", PROJECTS)
def test_junit_attributes_and_summary_line_agree(project: str) -> None:
    """Both records of pytest's counts come from the same run: a stale file would show here."""
    assert junit_counts(project) == summary_counts(project)


@pytest.mark.parametrize("project", PROJECTS)
def test_tests_are_pytests_own_counts(project: str) -> None:
    found = read_metrics(reports(project) / "junit.xml", "junit")
    expected = summary_counts(project)
    assert {name: found[f"tests.{name}"] for name in expected} == expected


# --- coverage: coverage.py's own totals -----------------------------------------------------------------

COVERAGE_REPORTS = [
    ("coverage-json", "coverage.json"),
    ("cobertura", "coverage.xml"),
    # coverage.py's LCOV writes one BRDA per arc of its JSON (BRF/BRH are num/covered_branches), so
    # branches compare too; other LCOV writers (gcov, c8) count branches their own way.
    ("lcov", "coverage.lcov"),
    ("coverage-data", ".coverage"),
]


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize(("format_name", "name"), COVERAGE_REPORTS)
def test_coverage_is_coverage_pys_own_totals(
    project: str, format_name: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    totals = load_json(reports(project) / "coverage.json")["totals"]
    path = reports(project) / name
    if format_name == "coverage-data":
        # The data file holds executed lines only, with paths relative to where coverage ran; statements
        # come from the sources, so it is read from that directory, as a CI job would.
        monkeypatch.chdir(SAMPLE)
    found = read_metrics(path, format_name)
    assert subset(found, "coverage.") == {
        "coverage.lines.covered": totals["covered_lines"],
        "coverage.lines.total": totals["num_statements"],
        "coverage.lines.percent": pytest.approx(totals["percent_statements_covered"]),
        "coverage.branches.covered": totals["covered_branches"],
        "coverage.branches.total": totals["num_branches"],
        "coverage.branches.percent": pytest.approx(totals["percent_branches_covered"]),
        "coverage.percent": pytest.approx(totals["percent_covered"]),  # what `coverage report` prints
    }


# --- findings: bandit's and semgrep's own counts --------------------------------------------------------


def bandit_expected(totals: dict[str, int]) -> dict[str, int]:
    """bandit's `_totals` SEVERITY.* as normalised severities (DESIGN.md: HIGH/MEDIUM/LOW as named)."""
    by_severity = {
        "critical": 0,
        "high": totals["SEVERITY.HIGH"],
        "medium": totals["SEVERITY.MEDIUM"],
        "low": totals["SEVERITY.LOW"],
        "info": totals["SEVERITY.UNDEFINED"],
    }
    return with_total(by_severity)


def with_total(by_severity: dict[str, int]) -> dict[str, int]:
    """Per-severity counts as finding metrics, with their total."""
    per_severity = {f"findings.{severity}": count for severity, count in by_severity.items()}
    return {"findings.total": sum(by_severity.values()), **per_severity}


def finding_counts(found: metrics.Metrics) -> dict[str, float]:
    return {name: found[name] for name in ("findings.total", *(f"findings.{s}" for s in SEVERITIES))}


@pytest.mark.parametrize("project", PROJECTS)
def test_bandit_json_is_bandits_own_totals(project: str) -> None:
    totals = load_json(reports(project) / "bandit.json")["metrics"]["_totals"]
    found = read_metrics(reports(project) / "bandit.json", "bandit")
    assert finding_counts(found) == bandit_expected(totals)


@pytest.mark.parametrize("project", PROJECTS)
def test_bandit_sarif_is_bandits_own_totals(project: str) -> None:
    """bandit's SARIF leaves `level` off MEDIUM results: the spec's default `warning` makes them medium."""
    sarif = load_json(reports(project) / "bandit.sarif")
    sarif_totals = sarif["runs"][0]["properties"]["metrics"]["_totals"]
    json_totals = load_json(reports(project) / "bandit.json")["metrics"]["_totals"]
    assert bandit_expected(sarif_totals) == bandit_expected(json_totals), "bandit.json and .sarif disagree"
    found = read_metrics(reports(project) / "bandit.sarif", "sarif")
    assert finding_counts(found) == bandit_expected(sarif_totals)


#: semgrep's extra.severity -> normalised severity, as DESIGN.md says.
SEMGREP_SEVERITY = {"ERROR": "high", "WARNING": "medium", "INFO": "low"}


def semgrep_expected(project: str) -> dict[str, int]:
    results = load_json(reports(project) / "semgrep.json")["results"]
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for result in results:
        by_severity[SEMGREP_SEVERITY[result["extra"]["severity"]]] += 1
    assert sum(by_severity.values()) == len(results)
    return with_total(by_severity)


@pytest.mark.parametrize("project", PROJECTS)
def test_semgrep_json_is_semgreps_own_results(project: str) -> None:
    found = read_metrics(reports(project) / "semgrep.json", "semgrep")
    assert finding_counts(found) == semgrep_expected(project)


@pytest.mark.parametrize("project", PROJECTS)
def test_semgrep_sarif_is_semgreps_own_results(project: str) -> None:
    """The same scan as semgrep.json; its results carry no `level`, their rule's default level decides."""
    sarif = load_json(reports(project) / "semgrep.sarif")
    assert len(sarif["runs"][0]["results"]) == len(load_json(reports(project) / "semgrep.json")["results"])
    found = read_metrics(reports(project) / "semgrep.sarif", "sarif")
    assert finding_counts(found) == semgrep_expected(project)


# --- the examples are what examples/README.md says they are ---------------------------------------------


def test_passing_project_passes_and_failing_project_fails() -> None:
    """Judged from the tools' own outputs, so a regeneration that loses the point of an example fails."""
    passing, failing = junit_counts("passing"), junit_counts("failing")
    assert passing["failed"] == passing["errors"] == 0 < passing["passed"]
    assert failing["failed"] > 0 and failing["errors"] > 0

    def bandit_high(project: str) -> int:
        return int(load_json(reports(project) / "bandit.json")["metrics"]["_totals"]["SEVERITY.HIGH"])

    assert semgrep_expected("passing")["findings.high"] == semgrep_expected("passing")["findings.medium"] == 0
    assert bandit_high("passing") == 0 < bandit_high("failing")
    assert semgrep_expected("failing")["findings.high"] > 0

    def line_percent(project: str) -> float:
        return float(load_json(reports(project) / "coverage.json")["totals"]["percent_statements_covered"])

    assert line_percent("passing") > 95
    assert line_percent("failing") < 90


#: An absolute path of the machine the reports were made on (a URL's path is preceded by its host).
MACHINE_PATH = re.compile(rb"(?<![\w.:/-])/(?:home|root|work|tmp|Users|builds|var|opt)/")


@pytest.mark.parametrize("project", PROJECTS)
def test_reports_carry_no_machine_paths(project: str) -> None:
    """Every path in the reports is relative to examples/sample, so they do not change with the clone."""
    leaks = [
        path.name
        for path in sorted(reports(project).iterdir())
        if path.is_file() and MACHINE_PATH.search(path.read_bytes())
    ]
    assert leaks == []
