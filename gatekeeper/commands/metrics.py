"""`gatekeeper metrics`: show what the gate will see, before anyone writes a rule."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from gatekeeper import metrics as metric_names
from gatekeeper.model import ReportInput
from gatekeeper.parsers import merge, read_reports
from gatekeeper.status import ExitStatus


def run(arguments: Sequence[str], output_format: str, out: TextIO) -> ExitStatus:
    reports = read_reports(arguments)
    evidence = merge(reports)
    metrics = metric_names.compute(evidence)
    if output_format == "json":
        document = {
            "metrics": metrics,
            "inputs": [
                {
                    "path": report.path,
                    "format": report.format,
                    "sha256": report.sha256,
                    "counts": metric_names.input_counts(report),
                    "notes": list(report.evidence.notes),
                }
                for report in reports
            ],
        }
        out.write(json.dumps(document, indent=2))  # one write, not thousands of small ones
        out.write("\n")
    else:
        _write_table(reports, metrics, out)
    return ExitStatus.PASS


def format_value(value: float) -> str:
    """Counts as integers with thousands separators; anything fractional to two decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _write_table(reports: list[ReportInput], metrics: dict[str, float], out: TextIO) -> None:
    if not reports:
        out.write("no reports found\n")
    for report in reports:
        counts = ", ".join(f"{k}={format_value(v)}" for k, v in metric_names.input_counts(report).items())
        out.write(f"{report.format:<15} {report.path}  ({counts})\n")
        for note in report.evidence.notes:
            out.write(f"{'':<15} note: {note}\n")
    out.write("\n")
    width = max((len(name) for name in metrics), default=10)
    for name in metric_names.METRIC_NAMES:
        if name in metrics:
            value = metrics[name]
            shown = f"{value:.2f}" if name.endswith("percent") else format_value(value)
            out.write(f"{name:<{width}}  {shown:>14}\n")
    absent = [name for name in metric_names.REPORT_METRICS if name not in metrics and name != "findings.waived"]
    if absent:
        out.write(f"\nabsent (no report gives them): {', '.join(absent)}\n")
