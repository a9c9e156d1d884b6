"""The tests page's ranking (gatekeeper.server.web.flakiness), on verdict documents counted by hand."""

from __future__ import annotations

import itertools
import random
from typing import Any

from gatekeeper.flaky import run_from_verdict
from gatekeeper.server.web.flakiness import Quarantined, StoredVerdict, board


def verdict(
    number: int,
    job: str | None,
    failed: tuple[str, ...] = (),
    *,
    flaky: tuple[str, ...] = (),
    omitted: int = 0,
    tests: bool = True,
    quarantine: dict[str, str] | None = None,
) -> StoredVerdict:
    """Verdict `number` (its receipt order) of `job`, naming `failed` and `flaky` (ids `class.name`)."""

    def case(test: str, outcome: str, is_flaky: bool) -> dict[str, Any]:
        classname, name = test.rsplit(".", 1)
        named = {"classname": classname, "name": name, "outcome": outcome, "flaky": is_flaky, "message": f"m{number}"}
        return named | ({"quarantine": quarantine[test]} if quarantine and test in quarantine else {})

    document: dict[str, Any] = {
        "id": f"v{number}",
        "context": {"job": job, "commit": f"c{number}"},
        "metrics": {"tests.total": 10} if tests else {},
        "details": {
            "tests": [case(t, "failed", False) for t in failed] + [case(t, "passed", True) for t in flaky],
            "tests_omitted": omitted,
        },
    }
    if quarantine:
        document["quarantine"] = {
            "applied": [
                {"test": glob, "owner": f"owner of {glob}", "reason": "races", "expires": "2027-01-31", "tests": 1}
                for glob in set(quarantine.values())
            ],
            "expired": [],
        }
    return StoredVerdict(id=f"v{number}", received_at=f"2026-12-07T10:{number:02d}:00.000000Z", document=document)


def test_flips_are_counted_per_job_between_consecutive_runs() -> None:
    verdicts = [
        verdict(1, "unit", ("t.a",)),  # a: F
        verdict(2, "e2e", ("t.z",)),  # another job: says nothing of a
        verdict(3, "unit"),  # a: P (flip 1)
        verdict(4, "unit", ("t.b",), omitted=2),  # incomplete: a unknown, b F
        verdict(5, "unit", ("t.a",)),  # a: F (flip 2); b: P (its flip 2: it passed in 1 and 3, failed in 4)
        verdict(6, "unit", tests=False),  # read no tests: not a run
        verdict(7, "unit", flaky=("t.a",)),  # a: failed then passed within the run (flip 3, counted once)
        verdict(8, "unit", ("t.a",)),  # a: F (flip 4: it ended run 7 passing)
        verdict(9, "e2e"),  # z: P (flip 1)
    ]
    result = board(verdicts)
    assert (result.verdicts_read, result.runs) == (9, 8)
    by_test = {record.test: record for record in result.failing}
    a, b, z = by_test["t.a"], by_test["t.b"], by_test["t.z"]
    assert (a.runs, a.failures, a.flips) == (5, 4, 4)  # runs 1, 3, 5, 7, 8 (4 is incomplete)
    assert (b.runs, b.failures, b.flips) == (6, 1, 2)  # runs 1, 3 (passes), 4 (failed), 5, 7, 8 of unit
    assert (z.runs, z.failures, z.flips) == (2, 1, 1)
    assert (a.last_failed_id, a.message, a.jobs) == ("v8", "m8", {"unit"})
    assert [r.test for r in result.flakiest] == ["t.a", "t.b", "t.z"]  # by flips, then failures, then id
    assert [r.test for r in result.failing] == ["t.a", "t.b", "t.z"]
    assert round(a.failure_percent) == 80


def test_a_test_in_two_jobs_is_summed_and_the_newest_naming_says_its_quarantine() -> None:
    verdicts = [
        verdict(1, "unit", ("t.q",), quarantine={"t.q": "t.*"}),
        verdict(2, "linux", ("t.q",)),  # newer, of another job, not quarantined any more
        verdict(3, "unit"),
        verdict(4, "linux", ("t.q",)),
    ]
    record = board(verdicts).failing[0]
    assert (record.runs, record.failures, record.flips, record.jobs) == (4, 3, 1, {"unit", "linux"})
    assert record.quarantine is None and record.last_failed_id == "v4"
    quarantined = board(verdicts[:1]).failing[0]
    assert quarantined.quarantine == Quarantined(test="t.*", owner="owner of t.*", reason="races", expires="2027-01-31")
    assert board(verdicts[:1]).flakiest == []  # one failure, no flip


def test_ties_rank_by_id_and_top_bounds_each_table() -> None:
    verdicts = [verdict(1, None, ("t.c", "t.a", "t.b")), verdict(2, None)]
    result = board(verdicts, top=2)
    assert [r.test for r in result.flakiest] == ["t.a", "t.b"]
    assert [r.test for r in result.failing] == ["t.a", "t.b"]
    assert board([]).failing == [] and board([]).verdicts_read == 0


def test_hostile_documents_do_not_break_the_ranking() -> None:
    odd = StoredVerdict(
        id="v1",
        received_at="2026-12-07T10:01:00.000000Z",
        document={
            "context": "not a mapping",
            "metrics": {"tests.total": 1},
            "details": {"tests": ["not a case", {"name": "<b>x</b>", "outcome": "error", "quarantine": 5}]},
            "quarantine": {"applied": [None, {"test": 3}]},
        },
    )
    record = board([odd]).failing[0]
    assert (record.test, record.failures, record.quarantine) == ("<b>x</b>", 1, None)


def _naive(verdicts: list[StoredVerdict]) -> dict[str, tuple[int, int, int]]:
    """(runs, failures, flips) per test, the slow way: every run of every job, for every test it names."""
    runs_by_job: dict[str, list[Any]] = {}
    for stored in verdicts:
        run = run_from_verdict(stored.document)
        if run is not None:
            runs_by_job.setdefault(str(stored.document["context"]["job"] or ""), []).append(run)
    counts: dict[str, list[int]] = {}
    for runs in runs_by_job.values():
        for test in {t for run in runs for t in run.failed | run.flaky}:
            total = counts.setdefault(test, [0, 0, 0])
            outcomes: list[str] = []
            for run in runs:
                if test in run.flaky:
                    outcomes += ["F", "P"]
                    total[1] += 1
                elif test in run.failed:
                    outcomes.append("F")
                    total[1] += 1
                elif run.complete:
                    outcomes.append("P")
                else:
                    continue
                total[0] += 1
            total[2] += sum(a != b for a, b in itertools.pairwise(outcomes))
    return {test: (a, b, c) for test, (a, b, c) in counts.items()}


def test_the_one_pass_ranking_agrees_with_walking_every_run() -> None:
    """Random histories (seeded): three jobs, five tests, failures, re-run passes and incomplete runs."""
    chance = random.Random(18)
    for _ in range(200):
        verdicts = []
        for number in range(chance.randint(1, 30)):
            tests = [f"t.{name}" for name in "abcde"]
            failed = tuple(t for t in tests if chance.random() < 0.25)
            flaky = tuple(t for t in tests if t not in failed and chance.random() < 0.1)
            job = chance.choice(["unit", "e2e", None])
            verdicts.append(verdict(number, job, failed, flaky=flaky, omitted=int(chance.random() < 0.2)))
        result = board(verdicts, top=10)
        assert {r.test: (r.runs, r.failures, r.flips) for r in result.failing} == _naive(verdicts)
