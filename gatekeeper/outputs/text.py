"""A compact table for a terminal or CI log: the decision and its reason first, then one line per gate.

After the gates come what a person acts on next: the failed tests and the findings that count
(a few of each, the rest counted), the waivers that applied or have expired, and the reports read.
Every string from the verdict is made terminal-safe: a report (or an uploaded verdict) cannot send
escape codes to the terminal, nor break a line.
"""

from __future__ import annotations

from typing import Any

import click

from gatekeeper.outputs.escape import terminal

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


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _first_line(text: str, limit: int = 160) -> str:
    """A message as one log line: its first line, cut at `limit` characters."""
    line = terminal(text.strip().splitlines()[0]) if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def render(verdict: dict[str, Any], *, color: bool = False) -> str:
    policy = terminal(verdict["policy"].get("name") or "(no policy)")
    maturity = verdict.get("maturity") or {}
    if maturity.get("model"):
        level = f" level {maturity['level']}" if maturity.get("level") is not None else ""
        policy += f" ({terminal(maturity['model'])}{level})"
    reason = terminal(verdict["reason"])
    if verdict["status"] == "error":
        reason = f"could not decide: {reason}"
    lines = [f"{_badge(verdict['status'], color)} {reason}"]
    context = verdict["context"]
    where = "  ".join(
        f"{key} {terminal(str(context[key])[:12] if key == 'commit' else context[key])}"
        for key in ("project", "branch", "commit", "pipeline")
        if context.get(key)
    )
    lines.append(f"      policy {policy}" + (f"  {where}" if where else ""))
    gates = verdict["gates"]
    if gates:
        width = max(len(terminal(gate["id"])) for gate in gates)
        lines.append("")
        for gate in gates:
            gate_id, message = terminal(gate["id"]), terminal(gate["message"])
            lines.append(f"  {_badge(gate['status'], color)} {gate_id:<{width}}  {message}")
    lines += _details(verdict.get("details") or {})
    lines += _waivers(verdict["waivers"])
    inputs = verdict["inputs"]
    omitted = verdict.get("inputs_omitted") or {}  # reports past the verdict's size bound, counted only
    if inputs or omitted:
        formats = sorted(
            {terminal(report["format"]) for report in inputs} | {terminal(f) for f in omitted.get("formats", {})}
        )
        read = len(inputs) + omitted.get("count", 0)
        lines += ["", f"  read {_plural(read, 'report')} ({', '.join(formats)})"]
    return "\n".join(lines) + "\n"


def _details(details: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    tests = details.get("tests", [])
    if tests:
        lines += ["", "  failed, errored and flaky tests:"]
        for case in tests[:_LIST_LIMIT]:
            name = terminal(".".join(part for part in (case.get("classname"), case["name"]) if part))
            outcome = "flaky" if case.get("flaky") else terminal(case["outcome"])
            message = _first_line(case.get("message", ""))
            lines.append(f"    {outcome:<7} {name}" + (f": {message}" if message else ""))
        more = len(tests) - _LIST_LIMIT + details.get("tests_omitted", 0)
        if more > 0:
            lines.append(f"    … and {more:,} more")
    findings = details.get("findings", [])
    if findings:
        lines += ["", "  findings (after waivers):"]
        for finding in findings[:_LIST_LIMIT]:
            line = f":{finding['line']}" if finding.get("line") else ""
            location = terminal(f"{finding['path']}{line}")
            message = _first_line(finding.get("message", ""), 100)
            what = f"{terminal(finding['severity']):<8} {terminal(finding['tool'])} {terminal(finding['rule'])}"
            lines.append(f"    {what} at {location}: {message}")
        more = len(findings) - _LIST_LIMIT + details.get("findings_omitted", 0)
        if more > 0:
            lines.append(f"    … and {more:,} more")
    return lines


def _waivers(waivers: dict[str, Any]) -> list[str]:
    applied = [use for use in waivers["applied"] if use["findings"]]
    expired = waivers["expired"]
    if not applied and not expired:
        return []
    lines = [""]
    for use in applied:
        waived = _plural(use["findings"], "finding")
        lines.append(f"  waived {waived}: {_match(use)} ({terminal(use['reason'])})")
    for use in expired:
        would = f"; it would have waived {_plural(use['findings'], 'finding')}" if use["findings"] else ""
        lines.append(f"  expired waiver ({terminal(use.get('expires'))}): {_match(use)} no longer applies{would}")
    return lines


def _match(use: dict[str, Any]) -> str:
    return " ".join(terminal(f"{key}={value}") for key, value in use["match"].items())
