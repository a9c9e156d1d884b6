"""How every store writes what it shares: canonical JSON, metric rows, stored times, flaky history's record.

The embedded store (`gatekeeper.store.sqlite`) and the store server (`gatekeeper.server`) must agree on
these byte for byte (idempotent uploads compare canonical bodies; "latest" and every order compare
time text), so both import them from here rather than one reaching into the other's private helpers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["TEST_KEYS", "TIME_FORMAT", "TestRunRecord", "canonical_json", "metric_rows", "test_run_record", "utc_text"]

#: The one stored form of a time on both stores and both server databases: UTC, microseconds, and a
#: zero-padded four-digit year, so that text order is time order (27 characters, `…T14:03:00.123456Z`).
TIME_FORMAT = "{0.year:04d}-{0.month:02d}-{0.day:02d}T{0.hour:02d}:{0.minute:02d}:{0.second:02d}.{0.microsecond:06d}Z"


def canonical_json(document: Any) -> str:
    """One spelling per JSON value, so two dumps of the same verdict compare equal."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def metric_rows(verdict_id: str, metrics: Any) -> list[tuple[str, str, float]]:
    """Numeric metrics as (verdict id, name, value) rows for history and trends; anything else stays
    only in the body."""
    if not isinstance(metrics, Mapping):
        return []
    return [
        (verdict_id, str(name), float(value))
        for name, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    ]


#: What flaky history reads of each listed test (`gatekeeper.flaky.run_from_parts`): all a store keeps of them.
TEST_KEYS = ("classname", "name", "outcome", "flaky")


@dataclass(frozen=True, slots=True, kw_only=True)
class TestRunRecord:
    """What a store keeps of a verdict for flaky history, beside its id, project and received_at: a few KB
    where the body is up to ~160 KB on a broken build (its key digests), so history reads no body."""

    __test__ = False  # not a pytest test class

    job: str | None
    commit: str | None  # None unless a non-empty string, as `run_from_parts` reads it
    complete: bool  # `details.tests_omitted` is 0 (or absent): a test it does not name passed
    tests: str  # the listed tests' TEST_KEYS, a JSON array of objects (`run_from_parts` takes it)


def test_run_record(verdict: Mapping[str, Any]) -> TestRunRecord | None:
    """What flaky history will read of this verdict, or None when it never will: it read no tests (no
    `tests.total` metric) or names no project, or its job is neither a string nor null (no job asked
    about is that).  `gatekeeper.flaky.run_from_record` reads it back as the verdict's run."""
    metrics, context = verdict.get("metrics"), verdict.get("context")
    if not isinstance(metrics, Mapping) or metrics.get("tests.total") is None or not isinstance(context, Mapping):
        return None
    job = context.get("job")
    if context.get("project") is None or not (job is None or isinstance(job, str)):
        return None
    details = verdict.get("details")
    details = details if isinstance(details, Mapping) else {}
    tests = details.get("tests")
    listed = (
        [{key: case.get(key) for key in TEST_KEYS} for case in tests if isinstance(case, Mapping)]
        if isinstance(tests, (list, tuple))
        else []
    )
    commit = context.get("commit")
    return TestRunRecord(
        job=job,
        commit=commit if isinstance(commit, str) and commit else None,
        complete=not details.get("tests_omitted"),
        tests=json.dumps(listed, separators=(",", ":"), ensure_ascii=False, allow_nan=False),
    )


def utc_text(value: Any, *, naive_is_utc: bool = False) -> str:
    """An ISO-8601 instant (or aware datetime) as fixed-width UTC text (TIME_FORMAT), so text order is
    time order.  Not strftime: its `%Y` leaves years before 1000 unpadded on glibc ('999-…' sorted
    after '2026-…').

    A verdict's time must say its zone; a filter's (`since`) may be a bare date or time, read as UTC.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"  # fromisoformat accepts "Z" only from Python 3.11
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO-8601 timestamp: {value!r}") from None
    else:
        raise ValueError(f"must be an ISO-8601 timestamp string, not {value!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        if not naive_is_utc:
            raise ValueError(f"{value!s} has no time zone; give UTC ('Z') or an offset")
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return TIME_FORMAT.format(moment.astimezone(timezone.utc))
    except OverflowError:
        raise ValueError(f"{value!s} is out of range") from None
