"""A compact table for a terminal or CI log: the decision and its reason first, then one line per gate."""

from __future__ import annotations

from typing import Any

import click

_STYLE = {
    "pass": ("PASS", "green"),
    "warn": ("WARN", "yellow"),
    "fail": ("FAIL", "red"),
    "error": ("ERROR", "red"),
    "skip": ("skip", "bright_black"),
}


def _badge(status: str, color: bool) -> str:
    word, colour = _STYLE.get(status, (status.upper(), "white"))
    return click.style(f"{word:<5}", fg=colour, bold=status != "skip") if color else f"{word:<5}"


def render(verdict: dict[str, Any], *, color: bool = False) -> str:
    policy = verdict["policy"].get("name") or "(no policy)"
    lines = [f"{_badge(verdict['status'], color)} {verdict['reason']}"]
    context = verdict["context"]
    where = "  ".join(
        f"{key} {str(context[key])[:12] if key == 'commit' else context[key]}"
        for key in ("project", "branch", "commit", "pipeline")
        if context.get(key)
    )
    lines.append(f"      policy {policy}" + (f"  {where}" if where else ""))
    gates = verdict["gates"]
    if gates:
        width = max(len(gate["id"]) for gate in gates)
        lines.append("")
        for gate in gates:
            warn_only = " (warn)" if gate["severity"] == "warn" and gate["status"] != "pass" else ""
            lines.append(f"  {_badge(gate['status'], color)} {gate['id']:<{width}}  {gate['message']}{warn_only}")
    waivers = verdict["waivers"]
    for use in waivers["applied"]:
        if use["findings"]:
            lines.append(f"  waived {use['findings']} finding(s): {_match(use)} — {use['reason']}")
    for use in waivers["expired"]:
        lines.append(f"  expired waiver ({use['expires']}): {_match(use)} — no longer applies")
    inputs = verdict["inputs"]
    if inputs:
        formats = sorted({report["format"] for report in inputs})
        lines.append(f"\n  read {len(inputs)} report(s): {', '.join(formats)}")
    return "\n".join(lines) + "\n"


def _match(use: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in use["match"].items())
