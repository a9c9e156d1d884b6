"""A compact table for a terminal or CI log: the decision and its reason first, then one line per gate.

After the gates come what a person acts on next: the failed tests and the findings that count
(a few of each, the rest counted), the waivers that applied or have expired, and the reports read.
Every string from the verdict is made terminal-safe: a report (or an uploaded verdict) cannot send
escape codes to the terminal, nor break a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import click

from gatekeeper.model import Decision
from gatekeeper.outputs.escape import terminal
from gatekeeper.verdict import Details, TestRecord, TraceRecord, Verdict, Waivers
from gatekeeper.words import level_reached, plural, short_commit

if TYPE_CHECKING:  # sections a plain run's verdict has none of, imported where one is shown (issue 16)
    from gatekeeper.verdict_sections import PipelineRecord, Quarantines, WaiverRecord

_STYLE = {
    "pass": ("PASS", "green"),
    "warn": ("WARN", "yellow"),
    "fail": ("FAIL", "red"),
    "error": ("ERROR", "red"),
    "skip": ("skip", "bright_black"),
}
_LIST_LIMIT = 10  # failed tests and findings shown in a log; the rest are counted


def _badge(status: str, color: bool) -> str:
    word, colour = _STYLE.get(status, (terminal(status).upper(), "white"))
    return click.style(f"{word:<5}", fg=colour, bold=status != "skip") if color else f"{word:<5}"


def _first_line(text: str, limit: int = 160) -> str:
    """A message as one log line: its first line, cut at `limit` characters."""
    line = terminal(text.strip().splitlines()[0]) if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def render(verdict: Verdict, *, color: bool = False) -> str:
    policy = terminal(verdict.policy.name or "(no policy)")
    maturity = verdict.maturity
    if maturity.model:
        level = f", enforces level {maturity.level}" if maturity.level is not None else ""
        reached = f"; {terminal(level_reached(maturity.level_achieved, maturity.levels))}" if maturity.levels else ""
        policy += f" ({terminal(maturity.model)}{level}{reached})"
    reason = terminal(verdict.reason)
    if verdict.status is Decision.ERROR:
        reason = f"could not decide: {reason}"
    lines = [f"{_badge(verdict.status.value, color)} {reason}"]
    context = verdict.context
    facts = {"project": context.project, "branch": context.branch, "commit": context.commit}
    facts["pipeline"] = context.pipeline
    where = "  ".join(
        f"{key} {terminal(short_commit(value) if key == 'commit' else value)}" for key, value in facts.items() if value
    )
    lines.append(f"      policy {policy}" + (f"  {where}" if where else ""))
    gates = verdict.gates
    if gates:
        width = max(len(terminal(gate.id)) for gate in gates)
        lines.append("")
        for gate in gates:
            gate_id, message = terminal(gate.id), terminal(gate.message)
            lines.append(f"  {_badge(gate.status.value, color)} {gate_id:<{width}}  {message}")
    lines += _change(verdict)
    lines += _pipeline(verdict.pipeline)
    lines += _details(verdict.details or Details())
    lines += _waivers(verdict.waivers)
    lines += _quarantine(verdict.quarantine)
    lines += _trace(verdict.trace, verdict.metrics)  # after what blocks: it informs, a gate judges it
    inputs = verdict.inputs
    omitted = verdict.inputs_omitted  # reports past the verdict's size bound, counted only
    if inputs or omitted:
        listed = {terminal(report.format) for report in inputs}
        formats = sorted(listed | {terminal(f) for f in (omitted.formats if omitted else {})})
        read = len(inputs) + (omitted.count if omitted else 0)
        lines += ["", f"  read {plural(read, 'report')} ({', '.join(formats)})"]
    return "\n".join(lines) + "\n"


def _change(verdict: Verdict) -> list[str]:
    """The change judged, in one line, then its files' changed lines no test ran (a few, the rest counted)."""
    change = verdict.change
    if change is None:
        return []
    files = len(change.files) + change.files_omitted
    base = f" from {terminal(short_commit(change.base))}" if change.base else ""
    size = f"{plural(files, 'file')}, {plural(change.lines_added, 'line')} added, {change.lines_removed:,} removed"
    lines = ["", f"  change{base} ({terminal(change.source)}): {size}"]
    missed = [record for record in change.files if record.uncovered]
    if missed:
        from gatekeeper.newcode import ranges_text

        lines.append("  changed lines no test ran:")
        for record in missed[:_LIST_LIMIT]:
            more = f" and {plural(record.uncovered_omitted, 'more line')}" if record.uncovered_omitted else ""
            lines.append(f"    {terminal(record.path)}: {ranges_text(record.uncovered).replace(',', ', ')}{more}")
        rest = len(missed) - _LIST_LIMIT + change.files_omitted
        if rest > 0:
            lines.append(f"    … and {plural(rest, 'more file')}")
    return lines


def _pipeline(pipeline: PipelineRecord | None) -> list[str]:
    """A pipeline-final's parts in one line (a retried one marked), then the missing ones."""
    if pipeline is None:
        return []
    from gatekeeper.outputs.pipeline import pipeline_summary

    headline, missing = pipeline_summary(pipeline, terminal, _LIST_LIMIT)
    return ["", f"  pipeline: {headline}"] + ([f"  missing: {', '.join(missing)}"] if missing else [])


def _trace(trace: TraceRecord | None, metrics: Mapping[str, float]) -> list[str]:
    """How many commits carry a requirement key, the keys, then the commits without one (a few)."""
    if trace is None or (trace.commits is None and not trace.keys):
        return []
    keys = ", ".join(terminal(key) for key in trace.keys[:_LIST_LIMIT])
    more = len(trace.keys) - _LIST_LIMIT
    keys += f" and {more:,} more" if more > 0 else ""
    if "trace.commits" in metrics:
        total, carrying = metrics["trace.commits"], metrics.get("trace.commits_with_key", 0)
        counted = (
            f"{carrying:,.0f} of {plural(total, 'commit')} {'carries' if total == 1 else 'carry'} a requirement key"
        )
    else:
        counted = "no commits read (no git history of this commit)"
    where = f" ({terminal(trace.range)})" if trace.range else ""
    lines = ["", f"  trace{where}: {counted}" + (f"; keys {keys}" if keys else "; no keys")]
    missing = [commit for commit in trace.commits or () if not commit.keys]
    if missing:
        lines.append("  commits without a key:")
        for commit in missing[:_LIST_LIMIT]:
            lines.append(f"    {terminal(short_commit(commit.sha))}  {_first_line(commit.subject, 100)}")
        rest = metrics.get("trace.commits", 0) - metrics.get("trace.commits_with_key", 0) - _LIST_LIMIT
        if rest > 0:
            lines.append(f"    … and {rest:,.0f} more")
    return lines


def _details(details: Details) -> list[str]:
    lines: list[str] = []
    tests = details.tests
    if tests:
        lines += ["", "  failed, errored and flaky tests:"]
        for case in tests[:_LIST_LIMIT]:
            name = terminal(".".join(part for part in (case.classname, case.name) if part))
            outcome = "flaky" if case.flaky else terminal(case.outcome.value)
            message = _first_line(case.message)
            lines.append(f"    {outcome:<7} {name}{_marks(case)}" + (f": {message}" if message else ""))
        more = len(tests) - _LIST_LIMIT + details.tests_omitted
        if more > 0:
            lines.append(f"    … and {more:,} more")
    findings = details.findings
    if findings:
        lines += ["", "  findings (after waivers):"]
        for finding in findings[:_LIST_LIMIT]:
            line = f":{finding.line}" if finding.line else ""
            location = terminal(f"{finding.path}{line}")
            message = _first_line(finding.message, 100)
            what = f"{terminal(finding.severity.value):<8} {terminal(finding.tool)} {terminal(finding.rule)}"
            lines.append(f"    {what} at {location}: {message}")
        more = len(findings) - _LIST_LIMIT + details.findings_omitted
        if more > 0:
            lines.append(f"    … and {more:,} more")
    return lines


def _waivers(waivers: Waivers) -> list[str]:
    applied = [use for use in waivers.applied if use.findings]
    expired = waivers.expired
    if not applied and not expired:
        return []
    lines = [""]
    for use in applied:
        waived = plural(use.findings, "finding")
        lines.append(f"  waived {waived}: {_match(use)} ({terminal(use.reason)})")
    for use in expired:
        would = f"; it would have waived {plural(use.findings, 'finding')}" if use.findings else ""
        lines.append(f"  expired waiver ({terminal(use.expires)}): {_match(use)} no longer applies{would}")
    return lines


def _marks(case: TestRecord) -> str:
    """What a listed test's failure means beyond its outcome: re-run, quarantined, or flaky in the store's history."""
    marks = []
    if case.attempts > 1 and not case.flaky:
        marks.append(f"failed on all {case.attempts} attempts")
    if case.quarantine is not None:
        marks.append("quarantined")
    if case.history is not None and case.history.flaky:
        marks.append(f"flaky in history: {case.history.describe()}")
    return f" ({'; '.join(marks)})" if marks else ""


def _quarantine(quarantine: Quarantines | None) -> list[str]:
    """Entries that kept failures from blocking, with their owners; expired ones that no longer do."""
    if quarantine is None:
        return []
    applied = [use for use in quarantine.applied if use.tests]
    if not applied and not quarantine.expired:
        return []
    lines = [""]
    for use in applied:
        lines.append(
            f"  quarantined {plural(use.tests, 'failing test')}: {terminal(use.test)} "
            f"(owner {terminal(use.owner)}, until {terminal(use.expires)}: {terminal(use.reason)})"
        )
    for use in quarantine.expired:
        would = f"; it would have covered {plural(use.tests, 'failing test')}" if use.tests else ""
        lines.append(
            f"  expired quarantine ({terminal(use.expires)}): {terminal(use.test)} (owner {terminal(use.owner)}) "
            f"no longer applies{would}"
        )
    return lines


def _match(use: WaiverRecord) -> str:
    return " ".join(terminal(f"{key}={value}") for key, value in use.match.items())
