"""The phrasings every output shares (gatekeeper.words): counted nouns, the short commit, level 0."""

from __future__ import annotations

from gatekeeper.model import Decision
from gatekeeper.verdict import LevelRecord
from gatekeeper.words import COMMIT_SHORT, level_reached, plural, short_commit


def test_plural_counts_one_as_one() -> None:
    assert plural(1, "finding") == "1 finding"
    assert plural(0, "finding") == "0 findings"
    assert plural(1200, "test case") == "1,200 test cases"
    assert plural(3.0, "test") == "3 tests"  # a metric is a float; a whole one reads as a count
    assert plural(1, "covered branch", "covered branches") == "1 covered branch"
    assert plural(2, "covered branch", "covered branches") == "2 covered branches"


def test_one_short_commit() -> None:
    full = "3f2a9c1d4e5b6a7980f1e2d3c4b5a69788796a5b"
    assert short_commit(full) == full[:COMMIT_SHORT] == "3f2a9c1d4e5b"
    assert short_commit("abc") == "abc"
    assert short_commit(None) == "-" and short_commit("", "—") == "—"


def test_level_0_reads_as_no_level_reached() -> None:
    levels = (
        LevelRecord(level=1, status=Decision.FAIL, blocking_gates=("tests-all-pass",)),
        LevelRecord(level=2, status=Decision.FAIL, blocking_gates=("tests-all-pass", "line-coverage")),
    )
    assert level_reached(0, levels) == "no level reached: level 1 is held back by tests-all-pass"
    assert level_reached(0) == "no level reached"
    assert level_reached(2, levels) == "level 2 achieved"
    assert level_reached(None) == "no level assessed"
