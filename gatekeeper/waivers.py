"""Waivers: accepted findings, each with a reason, an owner and an expiry after which it stops applying."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from gatekeeper.model import Finding
from gatekeeper.policy import Waiver


@dataclass(frozen=True, slots=True, kw_only=True)
class WaiverUse:
    waiver: Waiver
    findings: int  # how many findings it matched (for an expired one: would have matched)


@dataclass(frozen=True, slots=True, kw_only=True)
class WaiverOutcome:
    kept: tuple[Finding, ...]
    waived: tuple[Finding, ...]
    applied: tuple[WaiverUse, ...]
    expired: tuple[WaiverUse, ...]


@cache
def _path_pattern(glob: str) -> re.Pattern[str]:
    """A path glob where `**` spans directories, `*` and `?` stay within one, `[...]` is a class.

    `tests/**` matches everything under tests/, `**/test_*.py` a test file at any depth (the top
    included), `src/*.py` only the files directly in src/.
    """
    glob = _normalise(glob)
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i + 2 :]:
            end = glob.index("]", i + 2)
            body = glob[i + 1 : end]
            negate = body.startswith("!")
            body = (body[1:] if negate else body).replace("\\", "\\\\")
            if negate:
                out.append(f"[^/{body}]")  # like `*`, a negated class never crosses a directory
            else:
                out.append("[" + ("\\" + body if body.startswith("^") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _normalise(path: str) -> str:
    """Tools write `./src/a.py` or `src\\a.py`; waivers are written `src/a.py`."""
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def matches(waiver: Waiver, finding: Finding) -> bool:
    """Every field the waiver names must match: tool (any case), rule, path glob, fingerprint prefix."""
    if waiver.tool is not None and waiver.tool.casefold() != finding.tool.casefold():
        return False
    if waiver.rule is not None and waiver.rule != finding.rule:
        return False
    if waiver.fingerprint is not None and not finding.fingerprint.startswith(waiver.fingerprint):
        return False
    return waiver.path is None or bool(_path_pattern(waiver.path).match(_normalise(finding.path)))


def is_expired(waiver: Waiver, today: date) -> bool:
    """A waiver applies up to and including its expiry date."""
    return waiver.expires is not None and today > waiver.expires


def apply_waivers(findings: tuple[Finding, ...], waivers: tuple[Waiver, ...], today: date) -> WaiverOutcome:
    """Split findings into kept and waived; report which waivers applied and which have expired.

    A finding its tool already suppressed (SARIF `suppressions`) is waived whatever the policy says.
    """
    if not waivers:  # the usual policy: one pass at C speed, not a search per finding (100,000 in a scan)
        suppressed = tuple(f for f in findings if f.suppression is not None)
        unsuppressed = tuple(f for f in findings if f.suppression is None) if suppressed else findings
        return WaiverOutcome(kept=unsuppressed, waived=suppressed, applied=(), expired=())
    active = [w for w in waivers if not is_expired(w, today)]
    expired = [w for w in waivers if is_expired(w, today)]
    applied_counts = dict.fromkeys(range(len(active)), 0)
    expired_counts = dict.fromkeys(range(len(expired)), 0)
    kept: list[Finding] = []
    waived: list[Finding] = []
    for finding in findings:
        if finding.suppression is not None:
            waived.append(finding)
            continue
        index = next((i for i, w in enumerate(active) if matches(w, finding)), None)
        if index is None:
            kept.append(finding)
            for i, waiver in enumerate(expired):
                if matches(waiver, finding):
                    expired_counts[i] += 1
        else:
            applied_counts[index] += 1
            waived.append(finding)
    return WaiverOutcome(
        kept=tuple(kept),
        waived=tuple(waived),
        applied=tuple(WaiverUse(waiver=w, findings=applied_counts[i]) for i, w in enumerate(active)),
        expired=tuple(WaiverUse(waiver=w, findings=expired_counts[i]) for i, w in enumerate(expired)),
    )
