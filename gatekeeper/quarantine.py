"""Quarantine: known-flaky tests whose failures do not block, yet stay counted, listed and owned.

A quarantined failure is taken out of `tests.failed` / `tests.errors` (and out of the failures the
new-code metrics count, `tests.new_failures`) and counted in `tests.quarantined`; `tests.total` still
counts it (it ran) and `tests.pass_percent` leaves it out of both sides, as it does a skipped test, so
`tests-all-pass` holds while the failure stays in the verdict (which lists each report's cases).
An expired entry stops applying and says how many failures it would have covered, like a waiver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from functools import cache

from gatekeeper.model import Outcome, TestCase, TestResults, case_id
from gatekeeper.policy import Quarantine


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineUse:
    entry: Quarantine
    tests: int  # failing tests it matched (for an expired one: would have matched)


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineOutcome:
    tests: TestResults  # the counts with quarantined failures moved out of failed/errors
    quarantined: tuple[tuple[TestCase, Quarantine], ...]  # each covered failure and its entry, in report order
    applied: tuple[QuarantineUse, ...]
    expired: tuple[QuarantineUse, ...]


@cache
def _pattern(glob: str) -> re.Pattern[str]:
    """`*` any characters (a test id's dots included), `?` one; the rest literal, brackets too."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob]
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def matches(entry: Quarantine, case: TestCase) -> bool:
    return bool(_pattern(entry.test).match(case_id(case.classname, case.name)))


def is_expired(entry: Quarantine, today: date) -> bool:
    """An entry applies up to and including its expiry date."""
    return today > entry.expires


def apply_quarantine(tests: TestResults, entries: tuple[Quarantine, ...], today: date) -> QuarantineOutcome:
    """Move the failed and errored cases a live entry matches out of the failure counts.

    Only failures are quarantined: a flaky case (failed, then passed on re-run) already passed.
    """
    active = [e for e in entries if not is_expired(e, today)]
    expired = [e for e in entries if is_expired(e, today)]
    applied_counts = [0] * len(active)
    expired_counts = [0] * len(expired)
    quarantined: list[tuple[TestCase, Quarantine]] = []
    failed = errors = 0
    for case in tests.notable:
        if case.outcome not in (Outcome.FAILED, Outcome.ERROR):
            continue
        index = next((i for i, entry in enumerate(active) if matches(entry, case)), None)
        if index is None:
            for i, entry in enumerate(expired):
                if matches(entry, case):
                    expired_counts[i] += 1
            continue
        applied_counts[index] += 1
        quarantined.append((case, active[index]))
        if case.outcome is Outcome.FAILED:
            failed += 1
        else:
            errors += 1
    covered = {case for case, _ in quarantined}
    counted = replace(
        tests,
        failed=tests.failed - failed,
        errors=tests.errors - errors,
        quarantined=(tests.quarantined or 0) + failed + errors,
        notable=tuple(case for case in tests.notable if case not in covered),  # so no new-failure count sees them
    )
    return QuarantineOutcome(
        tests=counted,
        quarantined=tuple(quarantined),
        applied=tuple(QuarantineUse(entry=e, tests=applied_counts[i]) for i, e in enumerate(active)),
        expired=tuple(QuarantineUse(entry=e, tests=expired_counts[i]) for i, e in enumerate(expired)),
    )
