"""Markdown for a merge-request comment or $GITHUB_STEP_SUMMARY: decision first, then the gates.

Everything that comes from a report, a policy or the CI environment goes through
`gatekeeper.outputs.escape`: a `|` in a test message cannot break the table, backticks in a test name
cannot end its code span, a branch name cannot inject HTML, and only an http(s) job URL is a link
(CommonMark with raw HTML on, as GitLab and GitHub render it, and GitHub-flavoured tables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from gatekeeper.engine import format_number
from gatekeeper.model import Decision
from gatekeeper.outputs.escape import md_code, md_link, md_text
from gatekeeper.policy import GateSeverity
from gatekeeper.verdict import Details, GateRecord, TestRecord, TraceRecord, Verdict, Waivers
from gatekeeper.words import level_reached, plural, short_commit

if TYPE_CHECKING:  # sections a plain run's verdict has none of, imported where one is shown (issue 16)
    from gatekeeper.verdict_sections import PipelineRecord, Quarantines, WaiverRecord

_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "⛔", "skip": "⏭️"}
_LIST_LIMIT = 20
_NAME_LIMIT = 300  # a test name, rule or path from a report, in characters
_MESSAGE_LIMIT = 200


def _first_line(value: object) -> str:
    text = str(value or "").strip()
    return text.splitlines()[0] if text else ""


def render(verdict: Verdict, *, color: bool = False) -> str:
    status = verdict.status.value
    policy = verdict.policy.name or "no policy"
    out = [f"### {_ICON.get(status, '')} Quality gate: {md_text(status.upper())} — {md_text(policy)}", ""]
    reason = md_text(verdict.reason)
    undecided = verdict.status is Decision.ERROR
    out.append(f"**Could not decide:** {reason}" if undecided else f"**{reason}**" if reason else "")
    out += _facts(verdict)
    out += _gates(verdict.gates)
    out += _change(verdict)
    out += _trace(verdict.trace, verdict.metrics)
    out += _pipeline(verdict.pipeline)
    out += _waivers(verdict.waivers)
    out += _quarantine(verdict.quarantine)
    out += _details(verdict.details or Details())
    version = md_text(verdict.tool.version)
    out += ["", f"<sub>gatekeeper {version} · verdict {md_code(verdict.id)}</sub>", ""]
    return "\n".join(out)


def _gates(gates: Sequence[GateRecord]) -> list[str]:
    """The gate table; the criterion column only when the policy ties its gates to criteria."""
    if not gates:
        return []
    criteria = any(gate.criterion for gate in gates)
    if criteria:
        out = ["", "| | Gate | Result | Criterion |", "|---|---|---|---|"]
    else:
        out = ["", "| | Gate | Result |", "|---|---|---|"]
    for gate in gates:
        icon = _ICON.get(gate.status.value, "")
        severity = " (warn only)" if gate.severity is GateSeverity.WARN else ""
        row = f"| {icon} | {md_code(gate.id, table=True)}{severity} | {md_text(gate.message)} |"
        out.append(row + (f" {md_text(gate.criterion)} |" if criteria else ""))
    return out


def _facts(verdict: Verdict) -> list[str]:
    context = verdict.context
    named = {"project": context.project, "branch": context.branch, "commit": short_commit(context.commit, "")}
    named["pipeline"] = context.pipeline
    facts = [f"{key}: {md_code(value, _NAME_LIMIT)}" for key, value in named.items() if value]
    maturity = verdict.maturity
    if maturity.model:
        level = f", enforces level {maturity.level}" if maturity.level is not None else ""
        reached = f"; {md_text(level_reached(maturity.level_achieved, maturity.levels))}" if maturity.levels else ""
        facts.append(f"model: {md_text(maturity.model)}{level}{reached}")
    if context.url:
        facts.append(md_link("CI job", context.url))
    return ["", " · ".join(facts)] if facts else []


def _change(verdict: Verdict) -> list[str]:
    """The change judged: its size, its changed-lines coverage, and per file the changed lines no test ran."""
    change = verdict.change
    if change is None:
        return []
    files = len(change.files) + change.files_omitted
    base = f" against {md_code(short_commit(change.base), _NAME_LIMIT)}" if change.base else ""
    size = f"{plural(files, 'file')}, {plural(change.lines_added, 'line')} added, {change.lines_removed:,} removed"
    out = ["", f"**Change**{base} ({md_text(change.source, _NAME_LIMIT)}): {size}"]
    metrics = verdict.metrics
    if "coverage.new_lines.total" in metrics:
        covered, total = metrics["coverage.new_lines.covered"], metrics["coverage.new_lines.total"]
        share = metrics.get("coverage.new_lines.percent")
        shown = f" ({format_number(share, '%')})" if share is not None else ""
        out[-1] += f"; changed lines covered: {covered:,.0f} of {total:,.0f}{shown}"
    if "findings.new.total" in metrics:
        severities = ("critical", "high", "medium", "low", "info")
        found = [f"{metrics[f'findings.new.{s}']:,.0f} {s}" for s in severities if metrics.get(f"findings.new.{s}")]
        out[-1] += f"; new findings: {metrics['findings.new.total']:,.0f}" + (f" ({', '.join(found)})" if found else "")
    if "tests.new_failures" in metrics:
        out[-1] += f"; new test failures: {metrics['tests.new_failures']:,.0f}"
    missed = [record for record in change.files if record.uncovered or record.uncovered_omitted]
    if not missed:
        return out
    from gatekeeper.newcode import ranges_text

    out += ["", "Changed lines no test ran:", ""]
    for record in missed:
        more = f" and {plural(record.uncovered_omitted, 'more line')}" if record.uncovered_omitted else ""
        counts = f" ({record.new_lines[0]:,} of {record.new_lines[1]:,} covered)" if record.new_lines else ""
        lines = md_text(ranges_text(record.uncovered).replace(",", ", "))
        single = len(record.uncovered) == 1 and record.uncovered[0][0] == record.uncovered[0][1] and not more
        out.append(f"- {md_code(record.path, _NAME_LIMIT)}: {'line' if single else 'lines'} {lines}{more}{counts}")
    if change.files_omitted:
        out.append(f"- … and {plural(change.files_omitted, 'more changed file')} not listed")
    return out


def _trace(trace: TraceRecord | None, metrics: Mapping[str, float]) -> list[str]:
    """Traceability: how many commits carry a requirement key, the keys, and the commits without one."""
    if trace is None or (trace.commits is None and not trace.keys):
        return []
    if "trace.commits" in metrics:
        total, carrying = metrics["trace.commits"], metrics.get("trace.commits_with_key", 0)
        counted = (
            f"{carrying:,.0f} of {plural(total, 'commit')} {'carries' if total == 1 else 'carry'} a requirement key"
        )
    else:
        counted = "no commits read (no git history of this commit)"
    where = f" ({md_text(trace.range, _NAME_LIMIT)})" if trace.range else ""
    keys = ", ".join(md_code(key, _NAME_LIMIT) for key in trace.keys[:_LIST_LIMIT])
    more = len(trace.keys) - _LIST_LIMIT
    keys += f" and {more:,} more" if more > 0 else ""
    out = ["", f"**Traceability**{where}: {counted}" + (f"; keys: {keys}" if keys else "; no keys")]
    missing = [commit for commit in trace.commits or () if not commit.keys]
    if not missing:
        return out
    out += ["", "Commits without a requirement key:", ""]
    for commit in missing[:_LIST_LIMIT]:
        subject = md_text(_first_line(commit.subject), _MESSAGE_LIMIT)
        out.append(f"- {md_code(short_commit(commit.sha), _NAME_LIMIT)} {subject}")
    rest = metrics.get("trace.commits", 0) - metrics.get("trace.commits_with_key", 0) - _LIST_LIMIT
    if rest > 0:
        out.append(f"- … and {rest:,.0f} more")
    return out


def _pipeline(pipeline: PipelineRecord | None) -> list[str]:
    """A pipeline-final's parts in one line (a retried one marked), then the missing ones."""
    if pipeline is None:
        return []
    from gatekeeper.outputs.pipeline import pipeline_summary

    headline, missing = pipeline_summary(pipeline, lambda name: md_code(name, _NAME_LIMIT), _LIST_LIMIT)
    return ["", f"**Pipeline:** {headline}" + (f"; **missing:** {', '.join(missing)}" if missing else "")]


def _waivers(waivers: Waivers) -> list[str]:
    applied = [use for use in waivers.applied if use.findings]
    expired = waivers.expired
    if not applied and not expired:
        return []
    out = ["", "**Waivers**", ""]
    for use in applied:
        expires = f", expires {md_text(use.expires)}" if use.expires else ""
        out.append(f"- {_match(use)}: {plural(use.findings, 'finding')} waived — {md_text(use.reason)}{expires}")
    for use in expired:
        would = f"; it would have waived {plural(use.findings, 'finding')}" if use.findings else ""
        out.append(f"- ⚠️ expired {md_text(use.expires or '')}: {_match(use)} no longer applies{would}")
    return out


def _details(details: Details) -> list[str]:
    out: list[str] = []
    tests = details.tests
    if tests:
        out += ["", "<details><summary>Failed, errored and flaky tests</summary>", ""]
        for case in tests[:_LIST_LIMIT]:
            name = ".".join(p for p in (case.classname, case.name) if p)
            outcome = "flaky (passed on re-run)" if case.flaky else md_text(case.outcome.value)
            message = md_text(_first_line(case.message), _MESSAGE_LIMIT)
            out.append(f"- {md_code(name, _NAME_LIMIT)} {outcome}{_marks(case)}" + (f": {message}" if message else ""))
        more = len(tests) - _LIST_LIMIT + details.tests_omitted
        if more > 0:
            out.append(f"- … and {more:,} more")
        out += ["", "</details>"]
    findings = details.findings
    if findings:
        out += ["", "<details><summary>Security findings (after waivers)</summary>", ""]
        for finding in findings[:_LIST_LIMIT]:
            location = f"{finding.path}:{finding.line}" if finding.line else finding.path
            message = md_text(_first_line(finding.message), _MESSAGE_LIMIT)
            out.append(
                f"- **{md_text(finding.severity.value)}** {md_text(finding.tool, _NAME_LIMIT)} "
                f"{md_code(finding.rule, _NAME_LIMIT)} at {md_code(location, _NAME_LIMIT)}: {message}"
            )
        more = len(findings) - _LIST_LIMIT + details.findings_omitted
        if more > 0:
            out.append(f"- … and {more:,} more")
        out += ["", "</details>"]
    return out


def _marks(case: TestRecord) -> str:
    """What a listed test's failure means beyond its outcome: re-run, quarantined, or flaky in the store's history."""
    marks = []
    if case.attempts > 1 and not case.flaky:
        marks.append(f"failed on all {case.attempts} attempts")
    if case.quarantine is not None:
        marks.append(f"quarantined by {md_code(case.quarantine, _NAME_LIMIT)}")
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
    out = ["", "**Quarantine**", ""]
    for use in applied:
        out.append(
            f"- {md_code(use.test, _NAME_LIMIT)}: {plural(use.tests, 'failing test')} not blocking — "
            f"{md_text(use.reason)} (owner {md_text(use.owner)}, until {md_text(use.expires)})"
        )
    for use in quarantine.expired:
        would = f"; it would have covered {plural(use.tests, 'failing test')}" if use.tests else ""
        out.append(
            f"- ⚠️ expired {md_text(use.expires)}: {md_code(use.test, _NAME_LIMIT)} (owner {md_text(use.owner)}) "
            f"no longer applies{would}"
        )
    return out


def _match(use: WaiverRecord) -> str:
    return " ".join(md_code(f"{key}={value}", _NAME_LIMIT) for key, value in use.match.items())
