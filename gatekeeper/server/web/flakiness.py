"""The tests a release manager asks about: which flip between passing and failing, and which fail most,
over a project's recent verdicts.  Pure: stored verdict documents in, ranked rows out.

A verdict names only its notable tests (failed, errored, flaky), so, as `gatekeeper.flaky` does, a pass
is inferred: a test passed in a verdict of the same job that read tests and named every failure it had
(`tests_omitted` 0) without naming it.  Runs are kept apart by job (another job runs other tests), and a
test counts only in the jobs that named it at least once.  A flip is a change between consecutive runs
of a job, failed → passed or passed → failed; a test that failed and then passed on re-run within one
run flipped in that run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.flaky import TestRun, run_from_verdict
from gatekeeper.model import case_id

#: Rows in each of the page's two tables.
TOP = 25
#: Characters of a failure message kept for the table.
MESSAGE_CHARS = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class Quarantined:
    """The policy entry that kept a test's failure from blocking, as its newest verdict naming it says."""

    test: str  # the entry's glob
    owner: str
    reason: str
    expires: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredVerdict:
    """A verdict as the page reads it: its id, this server's receipt time and the uploaded document."""

    id: str
    received_at: str
    document: Mapping[str, Any]


@dataclass(slots=True, kw_only=True)
class TestRecord:
    """One test over the window, summed over the jobs that ran it."""

    __test__ = False  # not a pytest test class

    test: str
    runs: int = 0  # runs whose outcome for it is known (named, or a complete run of a job that named it)
    failures: int = 0  # runs in which it failed or errored (re-run passes included: it failed first)
    flips: int = 0
    last_failed_id: str | None = None
    last_failed_at: str | None = None
    message: str = ""
    quarantine: Quarantined | None = None
    flaky_in_history: bool = False  # its newest verdict naming it called it flaky from the store's history
    jobs: set[str] = field(default_factory=set)
    named_at: str = ""  # receipt time of the newest verdict naming it

    @property
    def failure_percent(self) -> float:
        return 100.0 * self.failures / self.runs if self.runs else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TestBoard:
    """The two rankings, and what they were read from (for the page to say)."""

    __test__ = False

    flakiest: list[TestRecord]
    failing: list[TestRecord]
    verdicts_read: int  # verdicts of the window read (the newest, up to the page's limit)
    runs: int  # of those, verdicts that read tests


@dataclass(frozen=True, slots=True)
class _Run:
    """What ranking keeps of one verdict that read tests (not its document: a page reads hundreds)."""

    id: str
    received_at: str
    run: TestRun
    named: dict[str, _Named]
    quarantines: dict[str, Quarantined]


@dataclass(slots=True)
class _Named:
    """What one verdict says of one test it names."""

    message: str = ""
    quarantine: str | None = None
    flaky_in_history: bool = False


def _named(document: Mapping[str, Any]) -> dict[str, _Named]:
    """The tests a verdict names, by id, with their message, quarantine glob and history flag."""
    details = document.get("details")
    cases = details.get("tests") if isinstance(details, Mapping) else None
    named: dict[str, _Named] = {}
    for case in cases if isinstance(cases, list) else ():
        if not isinstance(case, Mapping):
            continue
        test = case_id(str(case.get("classname") or ""), str(case.get("name") or ""))
        quarantine, history = case.get("quarantine"), case.get("history")
        named.setdefault(
            test,
            _Named(
                message=str(case.get("message") or "")[:MESSAGE_CHARS],
                quarantine=quarantine if isinstance(quarantine, str) else None,
                flaky_in_history=isinstance(history, Mapping) and history.get("flaky") is True,
            ),
        )
    return named


def _quarantines(document: Mapping[str, Any]) -> dict[str, Quarantined]:
    """The verdict's applied quarantine entries by glob."""
    section = document.get("quarantine")
    applied = section.get("applied") if isinstance(section, Mapping) else None
    entries: dict[str, Quarantined] = {}
    for use in applied if isinstance(applied, list) else ():
        if isinstance(use, Mapping) and isinstance(use.get("test"), str):
            entries[use["test"]] = Quarantined(
                test=use["test"],
                owner=str(use.get("owner") or ""),
                reason=str(use.get("reason") or ""),
                expires=str(use.get("expires") or ""),
            )
    return entries


def _job(document: Mapping[str, Any]) -> str:
    context = document.get("context")
    job = context.get("job") if isinstance(context, Mapping) else None
    return job if isinstance(job, str) else ""


def board(verdicts: Iterable[StoredVerdict], top: int = TOP) -> TestBoard:
    """Rank the tests of `verdicts` (oldest first): the flakiest by flips (then failures), the most
    failing by failures (then flips); ties by test id, so the page is the same for the same verdicts."""
    by_job: dict[str, list[_Run]] = {}
    read = 0
    for verdict in verdicts:
        read += 1
        run = run_from_verdict(verdict.document)
        if run is not None:
            named = _named(verdict.document)
            quarantines = _quarantines(verdict.document) if any(n.quarantine for n in named.values()) else {}
            kept = _Run(id=verdict.id, received_at=verdict.received_at, run=run, named=named, quarantines=quarantines)
            by_job.setdefault(_job(verdict.document), []).append(kept)
    records: dict[str, TestRecord] = {}
    for job, runs in by_job.items():
        _walk(records, job, runs)
    ranked = list(records.values())
    flakiest = sorted((r for r in ranked if r.flips), key=lambda r: (-r.flips, -r.failures, r.test))
    failing = sorted((r for r in ranked if r.failures), key=lambda r: (-r.failures, -r.flips, r.test))
    return TestBoard(
        flakiest=flakiest[:top],
        failing=failing[:top],
        verdicts_read=read,
        runs=sum(len(runs) for runs in by_job.values()),
    )


def _walk(records: dict[str, TestRecord], job: str, runs: list[_Run]) -> None:
    """Add one job's runs (oldest first) to the records of the tests it names, in one pass over what the
    runs name: the complete runs between two that name a test are passes, counted by prefix sums (a test
    named in a few of 300 runs costs its namings, not 300 steps)."""
    complete = [0]  # complete[i]: complete runs before run i
    for verdict in runs:
        complete.append(complete[-1] + verdict.run.complete)
    last: dict[str, int] = {}  # the index of the last run naming each test
    previous: dict[str, bool] = {}  # did it pass in the last run whose outcome is known

    def passes_until(test: str, index: int) -> None:
        """The complete runs after its last naming and before `index`: passed, as far as we can tell."""
        since = last[test] + 1 if test in last else 0
        gap = complete[index] - complete[since]
        if gap:
            record = records[test]
            record.runs += gap
            record.flips += previous.get(test) is False
            previous[test] = True

    for index, verdict in enumerate(runs):
        run, named = verdict.run, verdict.named
        for test in sorted(run.failed | run.flaky):
            record = records.setdefault(test, TestRecord(test=test))
            record.jobs.add(job)
            passes_until(test, index)
            record.runs += 1
            record.failures += 1
            if test in run.flaky:  # failed, then passed on re-run: a failure and a flip within the run
                record.flips += 1 + (previous.get(test) is True)  # passed before, failed first here, then passed
                previous[test] = True
            else:
                record.flips += previous.get(test) is True
                previous[test] = False
                if record.last_failed_at is None or verdict.received_at >= record.last_failed_at:
                    record.last_failed_id, record.last_failed_at = verdict.id, verdict.received_at
                    record.message = named[test].message if test in named else ""
            if test in named and verdict.received_at >= record.named_at:
                # the newest verdict naming it (of any job) says whether it is quarantined, and by whom
                entry, record.named_at = named[test], verdict.received_at
                glob = entry.quarantine
                record.quarantine = None if glob is None else verdict.quarantines.get(glob, _unknown(glob))
                record.flaky_in_history = entry.flaky_in_history
            last[test] = index
    for test in last:
        passes_until(test, len(runs))


def _unknown(glob: str) -> Quarantined:
    """A quarantine the verdict names a test under but does not list (it cut its lists): the glob alone."""
    return Quarantined(test=glob, owner="", reason="", expires="")
