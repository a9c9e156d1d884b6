"""Which parts a pipeline-final waits for (gatekeeper.store.pipeline): the rule on names and counts,
without a store or a clock; and the part's name in a GitLab `parallel:` job."""

from __future__ import annotations

import pytest

from gatekeeper.context import Context
from gatekeeper.errors import UsageError
from gatekeeper.store.pipeline import MISSING_LISTED, Arrival, arrival, expected_parts, part_name

GITLAB = Context(ci="gitlab", project="g/p", pipeline="1")


def names(*given: str) -> frozenset[str]:
    return frozenset(given)


def test_names_of_a_series_call_for_the_whole_series() -> None:
    seen = arrival(names("test 1/3", "test 3/3"), None)
    assert (seen.expected, seen.missing, seen.missing_count, seen.complete) == (3, ("test 2/3",), 1, False)
    assert seen.describe() == "2 of 3 parts arrived; missing: test 2/3"
    assert arrival(names("test 1/3", "test 2/3", "test 3/3"), None).complete


def test_two_series_and_a_count_add_up() -> None:
    """unit 1/2 and lint are there; e2e i/3 calls for 3, unit for 2: 5 named, 3 missing; --expect-parts 7
    leaves one more part that no name announces."""
    seen = arrival(names("unit 1/2", "e2e 2/3", "lint"), 7)
    assert seen.missing == ("e2e 1/3", "e2e 3/3", "unit 2/2")
    assert (seen.expected, seen.missing_count) == (7, 4)
    assert seen.describe() == "3 of 7 parts arrived; missing: e2e 1/3, e2e 3/3, unit 2/2 and 1 more part"


def test_a_count_alone_names_nothing() -> None:
    seen = arrival(names("py3.11"), 3)
    assert (seen.expected, seen.missing, seen.missing_count) == (3, (), 2)
    assert seen.describe() == "1 of 3 parts arrived; missing: 2 parts"
    assert arrival(names("py3.11", "py3.12", "py3.13"), 3).complete


def test_more_parts_than_expected_are_complete() -> None:
    assert arrival(names("a", "b", "c"), 2) == Arrival(names=names("a", "b", "c"), expected=3, missing_count=0)


def test_nothing_to_count_on_is_never_complete() -> None:
    """Parts named freely and no count: the final cannot tell whether all arrived."""
    assert arrival(names("py3.11", "py3.12"), None).expected is None
    assert not arrival(names("py3.11", "py3.12"), None).complete
    assert not arrival(names(), None).complete
    assert not arrival(names(), 2).complete


def test_names_that_only_look_like_a_series_are_plain_names() -> None:
    """An index over its total, a zero, a total over the bound or more than four digits: no series."""
    for name in ("test 4/3", "test 0/3", "test 1/0", "test 1/1001", "test 1/99999", "1/3", " test 1/3"):
        seen = arrival(names(name), None)
        assert (seen.expected, seen.missing_count) == (None, 0), name


def test_a_long_series_lists_its_first_missing_names_and_counts_the_rest() -> None:
    seen = arrival(names("shard 1/200"), None)
    assert (seen.expected, seen.missing_count, len(seen.missing)) == (200, 199, MISSING_LISTED)
    assert seen.describe().endswith(f"shard {MISSING_LISTED + 1}/200 and {199 - MISSING_LISTED} more parts")


def test_gitlab_parallel_index_is_added_to_the_name() -> None:
    env = {"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"}
    assert part_name("test", GITLAB, env) == "test 2/3"
    assert part_name("test 2/3", GITLAB, env) == "test 2/3"  # `--part "$CI_JOB_NAME"` in GitLab
    assert part_name("test", GITLAB, {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "1"}) == "test"  # no parallel
    assert part_name("test", GITLAB, {"CI_NODE_TOTAL": "1"}) == "test"  # a job without `parallel:`
    assert part_name("test", GITLAB, {"CI_NODE_INDEX": "", "CI_NODE_TOTAL": "3"}) == "test"  # empty: unset
    assert part_name("test", Context(ci="github"), env) == "test"  # only GitLab's variables mean this
    assert part_name("test", Context(ci="github"), {"CI_NODE_INDEX": "9", "CI_NODE_TOTAL": "3"}) == "test"


@pytest.mark.parametrize(
    ("index", "total", "said"),
    [
        ("4", "3", "CI_NODE_INDEX='4', CI_NODE_TOTAL='3'"),  # was recorded quietly as plain `test`
        ("0", "3", "CI_NODE_INDEX='0', CI_NODE_TOTAL='3'"),
        ("x", "3", "CI_NODE_INDEX='x', CI_NODE_TOTAL='3'"),
        ("²", "3", "CI_NODE_INDEX='²', CI_NODE_TOTAL='3'"),  # isdigit, no int
        ("1", "9" * 5000, f"CI_NODE_INDEX='1', CI_NODE_TOTAL='{'9' * 40}'"),  # bounded
        ("2", None, "CI_NODE_INDEX='2' is"),
        ("1\n\x1b[2J", "3", "CI_NODE_INDEX='1\\n\\x1b[2J'"),  # escaped, never a raw control character
    ],
)
def test_a_gitlab_index_that_is_no_parallel_jobs_is_a_usage_error(index: str, total: str | None, said: str) -> None:
    env = {"CI_NODE_INDEX": index} | ({} if total is None else {"CI_NODE_TOTAL": total})
    with pytest.raises(UsageError) as raised:
        part_name("test", GITLAB, env)
    message = str(raised.value)
    assert said in message and message.startswith("--part 'test': GitLab's ")
    assert "CI_NODE_INDEX must be 1 … CI_NODE_TOTAL" in message and len(message) < 300
    assert message.isprintable()


def test_the_count_comes_from_the_option_else_a_parallel_gitlab_job() -> None:
    assert expected_parts(4, GITLAB, {"CI_NODE_TOTAL": "3"}) == 4
    assert expected_parts(None, GITLAB, {"CI_NODE_TOTAL": "3"}) == 3
    assert expected_parts(None, GITLAB, {"CI_NODE_TOTAL": "1"}) is None  # GitLab's value in a job without parallel
    assert expected_parts(None, Context(ci="jenkins"), {"CI_NODE_TOTAL": "3"}) is None
    assert expected_parts(None, GITLAB, {"CI_NODE_TOTAL": "٣"}) is None
