"""Markdown for a merge-request comment or $GITHUB_STEP_SUMMARY: decision first, then the gates."""

from __future__ import annotations

from typing import Any

_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "⛔", "skip": "⏭️"}
_LIST_LIMIT = 20


def _cell(text: object) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def render(verdict: dict[str, Any], *, color: bool = False) -> str:
    status = verdict["status"]
    policy = verdict["policy"].get("name") or "no policy"
    out = [f"### {_ICON.get(status, '')} Quality gate: {status.upper()} — {_cell(policy)}", ""]
    out.append(f"**{_cell(verdict['reason'])}**")
    context = verdict["context"]
    facts = [f"{key}: `{context[key]}`" for key in ("project", "branch", "commit", "pipeline") if context.get(key)]
    if context.get("url"):
        facts.append(f"[CI job]({context['url']})")
    if facts:
        out += ["", " · ".join(facts)]
    if verdict["gates"]:
        out += ["", "| | Gate | Result | Criterion |", "|---|---|---|---|"]
        for gate in verdict["gates"]:
            severity = " (warn only)" if gate["severity"] == "warn" else ""
            out.append(
                f"| {_ICON.get(gate['status'], '')} | `{_cell(gate['id'])}`{severity} | {_cell(gate['message'])} "
                f"| {_cell(gate['criterion'])} |"
            )
    waivers = verdict["waivers"]
    if waivers["applied"] or waivers["expired"]:
        out += ["", "**Waivers**", ""]
        for use in waivers["applied"]:
            expires = f", expires {use['expires']}" if use.get("expires") else ""
            out.append(f"- {_match(use)}: {use['findings']} finding(s) waived — {_cell(use['reason'])}{expires}")
        for use in waivers["expired"]:
            out.append(f"- ⚠️ expired {use['expires']}: {_match(use)} — no longer applies")
    details = verdict.get("details", {})
    tests = details.get("tests", [])
    if tests:
        out += ["", "<details><summary>Failed, errored and flaky tests</summary>", ""]
        for case in tests[:_LIST_LIMIT]:
            name = ".".join(p for p in (case.get("classname"), case["name"]) if p)
            out.append(f"- `{_cell(name)}` {case['outcome']}{' (flaky)' if case.get('flaky') else ''}: "
                       f"{_cell(case.get('message', ''))[:200]}")
        out += ["", "</details>"]
    findings = details.get("findings", [])
    if findings:
        out += ["", "<details><summary>Security findings</summary>", ""]
        for finding in findings[:_LIST_LIMIT]:
            location = f"{finding['path']}:{finding['line']}" if finding.get("line") else finding["path"]
            out.append(f"- **{finding['severity']}** {finding['tool']} `{_cell(finding['rule'])}` at "
                       f"`{_cell(location)}`: {_cell(finding.get('message', ''))[:200]}")
        out += ["", "</details>"]
    out += ["", f"<sub>gatekeeper {verdict['tool']['version']} · verdict `{verdict['id']}`</sub>", ""]
    return "\n".join(out)


def _match(use: dict[str, Any]) -> str:
    return " ".join(f"`{key}={value}`" for key, value in use["match"].items())
