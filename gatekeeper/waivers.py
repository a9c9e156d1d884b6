"""Waivers: accepted findings, each with a reason, an owner and an expiry after which it stops applying."""

from __future__ import annotations

import fnmatch
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
    """A path glob where `**` spans directories and `*` stays within one."""
    parts = []
    for piece in re.split(r"(\*\*/?)", glob.replace("\\", "/")):
        if piece.startswith("**"):
            parts.append("(?:.*/)?" if piece.endswith("/") else ".*")
        else:
            parts.append(fnmatch.translate(piece)[4:-3].replace(".*", "[^/]*"))
    return re.compile("(?s:" + "".join(parts) + r")\Z")


def matches(waiver: Waiver, finding: Finding) -> bool:
    if waiver.tool is not None and waiver.tool.lower() != finding.tool.lower():
        return False
    if waiver.rule is not None and waiver.rule != finding.rule:
        return False
    if waiver.fingerprint is not None and not finding.fingerprint.startswith(waiver.fingerprint):
        return False
    return waiver.path is None or bool(_path_pattern(waiver.path).match(finding.path))


def is_expired(waiver: Waiver, today: date) -> bool:
    """A waiver applies up to and including its expiry date."""
    return waiver.expires is not None and today > waiver.expires


def apply_waivers(findings: tuple[Finding, ...], waivers: tuple[Waiver, ...], today: date) -> WaiverOutcome:
    """Split findings into kept and waived; report which waivers applied and which have expired."""
    active = [w for w in waivers if not is_expired(w, today)]
    expired = [w for w in waivers if is_expired(w, today)]
    applied_counts = dict.fromkeys(range(len(active)), 0)
    expired_counts = dict.fromkeys(range(len(expired)), 0)
    kept: list[Finding] = []
    waived: list[Finding] = []
    for finding in findings:
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
