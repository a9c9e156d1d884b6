"""Markdown for a merge-request comment or $GITHUB_STEP_SUMMARY: decision first, then the gates.

Everything that comes from a report or a policy is escaped, so a `|` in a test message cannot break
the table and a `*` in a branch pattern cannot start emphasis (GitHub-flavoured markdown).
"""

from __future__ import annotations

import re
from typing import Any

_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "⛔", "skip": "⏭️"}
_LIST_LIMIT = 20
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


def _printable(value: object) -> str:
    """One line with no control characters (a report's ANSI escapes must not reach a reader's terminal)."""
    text = " ".join(str(value if value is not None else "").split())
    return text if text.isprintable() else "".join(c for c in text if c.isprintable())


def _text(value: object, limit: int | None = None) -> str:
    """Plain text made safe for markdown (and a table cell): one line, markdown characters escaped."""
    text = _printable(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return _SPECIAL.sub(r"\\\1", text)


def _first_line(value: object) -> str:
    text = str(value or "").strip()
    return text.splitlines()[0] if text else ""


def _code(value: object) -> str:
    """An inline code span; a `|` is still escaped, as GFM tables require even inside code."""
    text = _printable(value).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def render(verdict: dict[str, Any], *, color: bool = False) -> str:
    status = verdict["status"]
    policy = verdict["policy"].get("name") or "no policy"
    out = [f"### {_ICON.get(status, '')} Quality gate: {status.upper()} — {_text(policy)}", ""]
    reason = _text(verdict["reason"])
    out.append(f"**Could not decide:** {reason}" if status == "error" else f"**{reason}**")
    out += _facts(verdict)
    out += _gates(verdict["gates"])
    out += _waivers(verdict["waivers"])
    out += _details(verdict.get("details") or {})
    version = _text(verdict["tool"]["version"])
    out += ["", f"<sub>gatekeeper {version} · verdict {_code(verdict['id'])}</sub>", ""]
    return "\n".join(out)


def _gates(gates: list[dict[str, Any]]) -> list[str]:
    """The gate table; the criterion column only when the policy ties its gates to criteria."""
    if not gates:
        return []
    criteria = any(gate["criterion"] for gate in gates)
    if criteria:
        out = ["", "| | Gate | Result | Criterion |", "|---|---|---|---|"]
    else:
        out = ["", "| | Gate | Result |", "|---|---|---|"]
    for gate in gates:
        icon = _ICON.get(gate["status"], "")
        severity = " (warn only)" if gate["severity"] == "warn" else ""
        row = f"| {icon} | {_code(gate['id'])}{severity} | {_text(gate['message'])} |"
        out.append(row + (f" {_text(gate['criterion'])} |" if criteria else ""))
    return out


def _facts(verdict: dict[str, Any]) -> list[str]:
    context = verdict["context"]
    keys = ("project", "branch", "commit", "pipeline")
    facts = [f"{key}: {_code(context[key])}" for key in keys if context.get(key)]
    maturity = verdict.get("maturity") or {}
    if maturity.get("model"):
        level = f" level {maturity['level']}" if maturity.get("level") is not None else ""
        facts.append(f"model: {_text(maturity['model'])}{level}")
    if context.get("url"):
        facts.append(f"[CI job]({_url(context['url'])})")
    return ["", " · ".join(facts)] if facts else []


def _waivers(waivers: dict[str, Any]) -> list[str]:
    applied = [use for use in waivers["applied"] if use["findings"]]
    expired = waivers["expired"]
    if not applied and not expired:
        return []
    out = ["", "**Waivers**", ""]
    for use in applied:
        expires = f", expires {use['expires']}" if use.get("expires") else ""
        out.append(f"- {_match(use)}: {_plural(use['findings'], 'finding')} waived — {_text(use['reason'])}{expires}")
    for use in expired:
        would = f"; it would have waived {_plural(use['findings'], 'finding')}" if use["findings"] else ""
        out.append(f"- ⚠️ expired {use['expires']}: {_match(use)} no longer applies{would}")
    return out


def _details(details: dict[str, Any]) -> list[str]:
    out: list[str] = []
    tests = details.get("tests", [])
    if tests:
        out += ["", "<details><summary>Failed, errored and flaky tests</summary>", ""]
        for case in tests[:_LIST_LIMIT]:
            name = ".".join(p for p in (case.get("classname"), case["name"]) if p)
            outcome = "flaky (passed on re-run)" if case.get("flaky") else case["outcome"]
            message = _text(_first_line(case.get("message")), 200)
            out.append(f"- {_code(name)} {outcome}" + (f": {message}" if message else ""))
        more = len(tests) - _LIST_LIMIT + details.get("tests_omitted", 0)
        if more > 0:
            out.append(f"- … and {more:,} more")
        out += ["", "</details>"]
    findings = details.get("findings", [])
    if findings:
        out += ["", "<details><summary>Security findings (after waivers)</summary>", ""]
        for finding in findings[:_LIST_LIMIT]:
            location = f"{finding['path']}:{finding['line']}" if finding.get("line") else finding["path"]
            message = _text(_first_line(finding.get("message")), 200)
            out.append(
                f"- **{finding['severity']}** {_text(finding['tool'])} {_code(finding['rule'])} "
                f"at {_code(location)}: {message}"
            )
        more = len(findings) - _LIST_LIMIT + details.get("findings_omitted", 0)
        if more > 0:
            out.append(f"- … and {more:,} more")
        out += ["", "</details>"]
    return out


def _match(use: dict[str, Any]) -> str:
    return " ".join(_code(f"{key}={value}") for key, value in use["match"].items())
