"""Evidence -> the flat metric namespace of the contract (DESIGN.md). Absent stays absent, never zero."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from gatekeeper.model import Coverage, Evidence, Finding, ReportInput, Severity, TestResults

if TYPE_CHECKING:  # only a type here: the JUnit path stays free of the new-code modules (test_imports.py)
    from gatekeeper.newcode import NewCode

Metrics = dict[str, float]

#: Every metric name this version can produce, in display order.
METRIC_NAMES: tuple[str, ...] = (
    "tests.total",
    "tests.passed",
    "tests.failed",
    "tests.errors",
    "tests.skipped",
    "tests.flaky",
    "tests.quarantined",
    "tests.pass_percent",
    "tests.duration_seconds",
    "coverage.lines.covered",
    "coverage.lines.total",
    "coverage.lines.percent",
    "coverage.branches.covered",
    "coverage.branches.total",
    "coverage.branches.percent",
    "coverage.percent",
    "findings.total",
    *(f"findings.{severity.value}" for severity in Severity),
    "findings.waived",
    "pipeline.duration_seconds",
    "change.files",
    "change.lines_added",
    "change.lines_removed",
    "coverage.new_lines.covered",
    "coverage.new_lines.total",
    "coverage.new_lines.percent",
    "coverage.new_branches.covered",
    "coverage.new_branches.total",
    "coverage.new_branches.percent",
    "findings.new.total",
    *(f"findings.new.{severity.value}" for severity in Severity),
    "tests.new_failures",
    "trace.commits",
    "trace.commits_with_key",
    "trace.percent",
)
#: The metrics of the change a merge request makes (`check --diff-base`): absent when there is none to judge.
NEW_CODE_METRICS = tuple(name for name in METRIC_NAMES if name.startswith("change.") or ".new" in name)
#: The requirement keys of the change's commits (gatekeeper.trace): absent without a git history to read.
TRACE_METRICS = tuple(name for name in METRIC_NAMES if name.startswith("trace."))
#: The metrics reports can give (the rest come from the run itself, e.g. the pipeline's timestamps, or
#: from the policy with the reports: tests.quarantined).
REPORT_METRICS = tuple(
    name
    for name in METRIC_NAMES
    if not name.startswith("pipeline.")
    and name not in NEW_CODE_METRICS
    and name not in TRACE_METRICS
    and name != "tests.quarantined"
)


def percent(part: int, whole: int) -> float | None:
    """part / whole as 0-100, unrounded; None when there is nothing to measure."""
    return part * 100.0 / whole if whole > 0 else None


def compute(evidence: Evidence) -> Metrics:
    """The metrics the evidence can give, in METRIC_NAMES order."""
    metrics: Metrics = {}
    if evidence.tests is not None:
        _test_metrics(evidence.tests, metrics)
    if evidence.coverage is not None:
        _coverage_metrics(evidence.coverage, metrics)
    if evidence.findings is not None:
        _finding_metrics(evidence.findings, metrics)
    return metrics


#: The headline counts of one report on its own.
INPUT_COUNTS = ("tests.total", "tests.failed", "tests.errors", "coverage.lines.total", "findings.total")


def input_counts(report: ReportInput) -> Metrics:
    """One report's headline counts (a verdict's `inputs[].counts`, `gatekeeper metrics`)."""
    return {name: value for name, value in compute(report.evidence).items() if name in INPUT_COUNTS}


def _test_metrics(tests: TestResults, metrics: Metrics) -> None:
    metrics["tests.total"] = tests.total
    metrics["tests.passed"] = tests.passed
    metrics["tests.failed"] = tests.failed
    metrics["tests.errors"] = tests.errors
    metrics["tests.skipped"] = tests.skipped
    metrics["tests.flaky"] = tests.flaky
    if tests.quarantined is not None:  # where a policy quarantines: 0 included
        metrics["tests.quarantined"] = tests.quarantined
    # A quarantined failure ran, but counts on neither side of the rate (gatekeeper.quarantine).
    pass_percent = percent(tests.passed, tests.total - tests.skipped - (tests.quarantined or 0))
    if pass_percent is not None:
        metrics["tests.pass_percent"] = pass_percent
    metrics["tests.duration_seconds"] = summed_seconds(tests.duration_seconds)


def summed_seconds(seconds: float) -> float:
    """A sum of case times to 12 significant digits: adding floats leaves noise no report wrote
    (0.047 as 0.04700000000000002), and the verdict and every output show this one value.  12 digits
    keep .NET's 100 ns ticks (0.4580132) and a microsecond up to 10**6 s, above the noise of 10**6 sums."""
    return float(f"{seconds:.12g}")


def _coverage_metrics(coverage: Coverage, metrics: Metrics) -> None:
    lines_covered = sum(f.lines_covered for f in coverage.files.values())
    lines_total = sum(f.lines_total for f in coverage.files.values())
    with_branches = [f for f in coverage.files.values() if f.branches is not None]
    branches_covered: int | None = sum(f.branches_covered for f in with_branches) if with_branches else None
    branches_total: int | None = sum(f.branches_total for f in with_branches) if with_branches else None
    totals = coverage.totals_only
    if totals is not None:
        lines_covered += totals.lines_covered
        lines_total += totals.lines_total
        if totals.branches_total is not None:
            branches_covered = (branches_covered or 0) + (totals.branches_covered or 0)
            branches_total = (branches_total or 0) + totals.branches_total
    metrics["coverage.lines.covered"] = lines_covered
    metrics["coverage.lines.total"] = lines_total
    lines_percent = percent(lines_covered, lines_total)
    if lines_percent is not None:
        metrics["coverage.lines.percent"] = lines_percent
    if branches_total is not None and branches_covered is not None:
        metrics["coverage.branches.covered"] = branches_covered
        metrics["coverage.branches.total"] = branches_total
        branches_percent = percent(branches_covered, branches_total)
        if branches_percent is not None:
            metrics["coverage.branches.percent"] = branches_percent
    # `coverage report`'s total and SonarQube's coverage: lines and branches counted together.
    combined = percent(lines_covered + (branches_covered or 0), lines_total + (branches_total or 0))
    if combined is not None:
        metrics["coverage.percent"] = combined


def _finding_metrics(findings: tuple[Finding, ...], metrics: Metrics) -> None:
    """Active findings by severity; those the tool itself suppressed (SARIF suppressions) count as waived."""
    # Counted by severity member, named once per severity: a name per finding (Enum.value is a descriptor
    # call) cost check 30 ms on 100,000 findings, and the verdict counts each report's findings again.
    active = Counter(finding.severity for finding in findings if finding.suppression is None)
    metrics["findings.total"] = active.total()
    for severity in Severity:
        metrics[f"findings.{severity.value}"] = active[severity]
    metrics["findings.waived"] = len(findings) - metrics["findings.total"]


def new_code_metrics(new: NewCode) -> Metrics:
    """The change's metrics: its size, its changed-lines coverage, the findings and failures it adds.

    Coverage counts only changed lines the report measures (diff-cover's count); each family is absent
    when its evidence is (no coverage report, no scan, no test report or no baseline to compare with).
    """
    metrics: Metrics = {
        "change.files": len(new.change.files),
        "change.lines_added": new.change.lines_added,
        "change.lines_removed": new.change.lines_removed,
    }
    if new.coverage:
        covered = sum(f.covered.bit_count() for f in new.files)
        total = sum(f.measured.bit_count() for f in new.files if f.measured is not None)
        _counted("coverage.new_lines", covered, total, metrics)
    if new.branch_data:
        pairs = [f.branches for f in new.files if f.branches is not None]
        _counted("coverage.new_branches", sum(c for c, _ in pairs), sum(t for _, t in pairs), metrics)
    if new.findings is not None:
        metrics["findings.new.total"] = len(new.findings)
        for severity in Severity:
            metrics[f"findings.new.{severity.value}"] = 0
        for finding in new.findings:
            metrics[f"findings.new.{finding.severity.value}"] += 1
    if new.failures is not None:
        metrics["tests.new_failures"] = len(new.failures)
    return metrics


def _counted(prefix: str, covered: int, total: int, metrics: Metrics) -> None:
    metrics[f"{prefix}.covered"] = covered
    metrics[f"{prefix}.total"] = total
    share = percent(covered, total)
    if share is not None:
        metrics[f"{prefix}.percent"] = share
