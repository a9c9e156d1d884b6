"""Flaky tests from history: a test that failed and passed on the same commit within a window is flaky,
until it has passed `clear_after` times in a row since.

The store keeps verdicts, and a verdict names only its notable tests (failed, errored, flaky), so a pass
is inferred: a test passed in a verdict of the same project and job that read tests, listed every
failure it had (`tests_omitted` 0) and does not name it.  The limits of that inference, said once: a
test skipped, deselected or renamed in such a verdict reads as passed there, and a job whose name
changes starts a new history.  A test that failed and then passed on re-run within one run (Surefire's
flaky elements, repeated cases) failed and passed on that run's commit by itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gatekeeper.model import Outcome, TestCase, case_id
from gatekeeper.policy.model import CLEAR_AFTER, WINDOW_DAYS
from gatekeeper.words import plural


@dataclass(frozen=True, slots=True, kw_only=True)
class TestRun:
    """What one verdict says of its tests, as history needs it."""

    __test__ = False  # not a pytest test class

    verdict_id: str
    commit: str | None
    failed: frozenset[str]  # test ids that failed or errored (quarantined ones included)
    flaky: frozenset[str]  # test ids that failed, then passed on re-run, within the run
    complete: bool  # every failure is named, so a test it does not name passed (or did not run)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlakyHistory:
    """One test's record over the window: how often it failed and (by inference) passed."""

    failures: int  # runs in which it failed or errored
    passes: int  # runs in which it passed, flaky re-runs included
    flaky_commits: int  # commits on which it both failed and passed (since it was last cleared)
    passes_since: int  # passes in a row since its last failure
    window_days: int
    clear_after: int
    # Runs that name no commit in which it failed, then passed on re-run (since it was last cleared): each
    # is flaky by itself, but is no commit, so it is counted apart from `flaky_commits`.
    flaky_runs: int = 0

    @property
    def flaky(self) -> bool:
        """Failed and passed on one commit (or within one run), not yet cleared by `clear_after` passes in a row."""
        return (self.flaky_commits > 0 or self.flaky_runs > 0) and self.passes_since < self.clear_after

    def describe(self) -> str:
        """ "failed and passed on 2 commits", "… in 1 run without a commit", or both: what the counts are."""
        said = []
        if self.flaky_commits or not self.flaky_runs:
            said.append(f"on {plural(self.flaky_commits, 'commit')}")
        if self.flaky_runs:
            said.append(f"in {plural(self.flaky_runs, 'run')} without a commit")
        return "failed and passed " + " and ".join(said)


def run_of(
    verdict_id: str,
    commit: str | None,
    notable: Iterable[TestCase],
    complete: bool,
    tests: Iterable[str] | None = None,
) -> TestRun:
    """The run a check is deciding, from its notable cases (the evidence holds every one of them).

    `tests`: only these ids (a check asks history about the tests it lists, and no other test's outcome
    in this run changes their records): a broken build's 17,875 failing cases are passed over by name,
    not each given its id."""
    failed, flaky = set(), set()
    bad = (Outcome.FAILED, Outcome.ERROR)
    wanted = None if tests is None else set(tests)
    if wanted is not None:
        names = _names_in(wanted)
        notable = [case for case in notable if case.name in names]
    for case in notable:  # (tens of thousands of cases on a broken build: one loop, no call but case_id)
        if case.flaky:
            flaky.add(case_id(case.classname, case.name))
        elif case.outcome in bad:
            failed.add(case_id(case.classname, case.name))
    if wanted is not None:
        failed &= wanted
        flaky &= wanted
    return TestRun(
        verdict_id=verdict_id, commit=commit, failed=frozenset(failed), flaky=frozenset(flaky), complete=complete
    )


def _names_in(ids: Iterable[str]) -> set[str]:
    """Every name a case with one of these ids may have (`case_id`): the whole id (no classname), or what
    follows any of its dots (a name may hold dots, so not only the last)."""
    names = set(ids)
    for test in list(names):
        dot = test.find(".")
        while dot >= 0:
            names.add(test[dot + 1 :])
            dot = test.find(".", dot + 1)
    return names


def run_from_verdict(document: Mapping[str, Any]) -> TestRun | None:
    """A stored verdict document as a run, or None when it read no tests (nothing to infer from)."""
    metrics = document.get("metrics")
    if not isinstance(metrics, Mapping) or "tests.total" not in metrics:
        return None
    details = document.get("details")
    details = details if isinstance(details, Mapping) else {}
    context = document.get("context")
    return run_from_parts(
        str(document.get("id", "")),
        context.get("commit") if isinstance(context, Mapping) else None,
        details.get("tests_omitted"),
        details.get("tests"),
    )


def run_from_record(verdict_id: str, commit: str | None, complete: bool, tests: str) -> TestRun:
    """A run from what a store keeps of its verdict (`gatekeeper.store.codec.test_run_record`)."""
    return run_from_parts(verdict_id, commit, not complete, json.loads(tests))


def run_from_parts(verdict_id: str, commit: Any, tests_omitted: Any, tests: Any) -> TestRun:
    """A verdict that read tests as a run, from the only parts of it history reads (JSON values, None when
    absent): `context.commit`, `details.tests_omitted` and `details.tests` -- a store can hand over just
    these instead of every verdict's whole body (its key digests are most of it)."""
    failed, flaky = set(), set()
    failing = (Outcome.FAILED.value, Outcome.ERROR.value)  # (an enum's value is a descriptor call: once)
    for case in tests or ():
        if not isinstance(case, Mapping):
            continue
        test = case_id(str(case.get("classname") or ""), str(case.get("name") or ""))
        if case.get("flaky"):
            flaky.add(test)
        elif case.get("outcome") in failing:
            failed.add(test)
    return TestRun(
        verdict_id=verdict_id,
        commit=commit if isinstance(commit, str) and commit else None,
        failed=frozenset(failed),
        flaky=frozenset(flaky),
        complete=not tests_omitted,
    )


def history(
    runs: Sequence[TestRun],
    *,
    window_days: int = WINDOW_DAYS,
    clear_after: int = CLEAR_AFTER,
    tests: Iterable[str] | None = None,
) -> dict[str, FlakyHistory]:
    """Each test's record over `runs` (oldest first, one job of one project, within the window).

    `tests` limits the answer to those ids (a check asks about the tests it lists); by default every
    test that failed at least once.  A run that does not name a test says nothing of it unless complete.
    """
    wanted = set(tests) if tests is not None else {t for run in runs for t in run.failed | run.flaky}
    records: dict[str, FlakyHistory] = {}
    for test in sorted(wanted):
        failures = passes = passes_since = 0
        failed_on: set[str] = set()
        passed_on: set[str] = set()
        flaky_on: set[str] = set()
        flaky_runs: set[str] = set()  # runs without a commit: no commit to count them on
        for run in runs:
            if test in run.flaky:  # failed and passed within the run: flaky on its commit by itself
                failures += 1
                passes += 1
                passes_since = 0
                if run.commit:
                    flaky_on.add(run.commit)
                else:
                    flaky_runs.add(run.verdict_id)
            elif test in run.failed:
                failures += 1
                passes_since = 0
                if run.commit:
                    failed_on.add(run.commit)
            elif run.complete:
                passes += 1
                passes_since += 1
                if run.commit:
                    passed_on.add(run.commit)
                if passes_since == clear_after:  # cleared: what it did before no longer makes it flaky
                    failed_on, passed_on, flaky_on, flaky_runs = set(), set(), set(), set()
        if not failures:
            continue
        records[test] = FlakyHistory(
            failures=failures,
            passes=passes,
            flaky_commits=len(flaky_on | (failed_on & passed_on)),
            flaky_runs=len(flaky_runs),
            passes_since=passes_since,
            window_days=window_days,
            clear_after=clear_after,
        )
    return records
