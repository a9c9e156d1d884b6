"""bandit JSON (`bandit -f json`), old (2018: float metrics, no CWE) and new alike.

`results[]` are streamed; bandit's severity words map as named (UNDEFINED -> info); an unknown word is
bad input rather than a guess.  The fingerprint material is the flagged source line (the first line of
`line_range`, taken from `code` without bandit's line-number prefix), which is exactly the snippet
bandit's SARIF output carries, so both outputs of one scan give the same fingerprints.  `metrics` are
bandit's own tallies and are not read: the findings are counted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gatekeeper.errors import InputError
from gatekeeper.model import Evidence
from gatekeeper.parsers._security import (
    BANDIT_SEVERITIES,
    ReportFindings,
    as_index,
    expect_root,
    normalise_path,
    not_a,
    require_array,
    shape,
    stream,
)

TOOL = "bandit"
TITLE = "bandit"
#: Keys only bandit writes beside `results` (semgrep has `results` and `errors` too).
_BANDIT_KEYS = frozenset({"generated_at", "metrics"})
_NUMBERED_LINE = re.compile(r"^(\d{1,9}) ?(.*)$")


def parse(path: Path) -> Evidence:
    """One finding per bandit result; `results: []` is zero findings."""
    expect_root(path, TITLE, "object")
    report = ReportFindings()
    for index, raw in enumerate(stream(path, "results.item")):
        _add(path, index, raw, report)
    if not report:
        found = shape(path)
        require_array(path, TITLE, found, "results")
        if not _BANDIT_KEYS & found.keys.keys():
            raise not_a(path, TITLE, 'no "generated_at" or "metrics" beside "results"')
    return Evidence(findings=report.findings())


def _add(path: Path, index: int, raw: object, report: ReportFindings) -> None:
    if not isinstance(raw, dict) or not isinstance(raw.get("test_id"), str):
        hint = " (a semgrep result?)" if isinstance(raw, dict) and "check_id" in raw else ""
        raise not_a(path, TITLE, f"results[{index}] has no test_id{hint}")
    result: dict[str, Any] = raw
    said = result.get("issue_severity")
    word = str(said).upper()
    if word not in BANDIT_SEVERITIES:
        raise InputError(path, f"results[{index}] has unknown issue_severity {said!r}")
    rule = result["test_id"]
    file = normalise_path(str(result.get("filename", "")))
    line = as_index(result.get("line_number"))
    message = str(result.get("issue_text", ""))
    material = _flagged_line(result, line) or message
    report.add(
        tool=TOOL,
        rule=rule,
        severity=BANDIT_SEVERITIES[word],
        tool_severity=word,
        path=file,
        line=line,
        message=message,
        material=material,
    )


def _flagged_line(result: dict[str, Any], line: int | None) -> str:
    """The source line bandit flagged, from `code` ("41 text\\n42 text\\n"), without its number."""
    code = result.get("code")
    if not isinstance(code, str):
        return ""
    line_range = result.get("line_range")
    first = line_range[0] if isinstance(line_range, list) and line_range else line
    for text in code.splitlines():
        numbered = _NUMBERED_LINE.match(text)
        if numbered and int(numbered.group(1)) == first:
            return numbered.group(2)
    return code
