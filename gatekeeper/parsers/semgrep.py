"""semgrep JSON (`semgrep --json`), 0.x and 1.x.

`results[]` are streamed.  `extra.severity` maps through `SEMGREP_SEVERITIES`: the classic scale
(ERROR->high, WARNING->medium, INFO->low) and the newer CRITICAL/HIGH/MEDIUM/LOW as named; an unknown
word is bad input.  Results semgrep marks `extra.is_ignored` (a `nosemgrep` comment, only written with
--disable-nosem) are the code's own waiver: not counted, and the notes say how many.

Fingerprint material is the matched code (`extra.lines`), else the message.  semgrep's own
`extra.fingerprint` is not used: without a login it (like `extra.lines`) is the placeholder "requires
login", and 0.x versions write a different kind of hash, so it is no identity that lasts across runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekeeper.errors import InputError
from gatekeeper.model import Evidence
from gatekeeper.parsers._security import (
    REQUIRES_LOGIN,
    SEMGREP_SEVERITIES,
    ReportFindings,
    as_dict,
    as_index,
    expect_root,
    normalise_path,
    not_a,
    require_array,
    shape,
    stream,
)
from gatekeeper.words import plural

TOOL = "semgrep"
TITLE = "semgrep"
#: Top-level keys of other formats that also have `results` (bandit) or that semgrep never writes.
_FOREIGN_KEYS = {"generated_at": "bandit", "metrics": "bandit", "runs": "SARIF"}


def parse(path: Path) -> Evidence:
    """One finding per semgrep result; `results: []` is zero findings."""
    expect_root(path, TITLE, "object")
    report = ReportFindings()
    ignored = 0
    for index, raw in enumerate(stream(path, "results.item")):
        if not _add(path, index, raw, report):
            ignored += 1
    if not report and not ignored:
        found = shape(path)
        require_array(path, TITLE, found, "results")
        for key, other in _FOREIGN_KEYS.items():
            if key in found.keys:
                raise not_a(path, TITLE, f'top-level "{key}" is {other}\'s')
    notes = (f"{plural(ignored, 'result')} ignored in source (nosemgrep) not counted",) if ignored else ()
    return Evidence(findings=report.findings(), notes=notes)


def _add(path: Path, index: int, raw: object, report: ReportFindings) -> bool:
    """Add the result's finding; False for a result ignored in source."""
    if not isinstance(raw, dict) or not isinstance(raw.get("check_id"), str):
        hint = " (a bandit result?)" if isinstance(raw, dict) and "test_id" in raw else ""
        raise not_a(path, TITLE, f"results[{index}] has no check_id{hint}")
    result: dict[str, Any] = raw
    extra = as_dict(result.get("extra"))
    if extra.get("is_ignored") is True:
        return False
    word = str(extra.get("severity", "")).upper()
    if word not in SEMGREP_SEVERITIES:
        raise InputError(path, f"results[{index}] has unknown extra.severity {extra.get('severity')!r}")
    rule = result["check_id"]
    file = normalise_path(str(result.get("path", "")))
    line = as_index(as_dict(result.get("start")).get("line"))
    message = str(extra.get("message", ""))
    lines = extra.get("lines")
    matched = isinstance(lines, str) and lines.strip() not in ("", REQUIRES_LOGIN)
    material = lines if matched and isinstance(lines, str) else message
    report.add(
        tool=TOOL,
        rule=rule,
        severity=SEMGREP_SEVERITIES[word],
        tool_severity=word,
        path=file,
        line=line,
        message=message,
        material=material,
    )
    return True
