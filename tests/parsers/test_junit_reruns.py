"""Re-run data in JUnit files: Surefire's flaky and rerun elements, and re-runs written as repeated cases
(pytest-rerunfailures, a real file in tests/data/flaky), read alike by the C scanner and the streaming parser."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from gatekeeper.model import Outcome, TestResults
from gatekeeper.parsers import junit
from tests.conftest import REPO, corpus_path

RERUNFAILURES = REPO / "tests" / "data" / "flaky" / "pytest-rerunfailures.xml"


@pytest.fixture(params=["accelerated", "streaming"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every test runs on both paths: the C scanner (where built) and the pure-Python parser."""
    if request.param == "streaming":
        monkeypatch.setattr(junit, "Scanner", None)
    elif junit.Scanner is None:
        pytest.skip("the C scanner is not built here")
    yield request.param


def read_tests(path: Path) -> TestResults:
    tests = junit.parse(path).tests
    assert tests is not None
    return tests


def listed(tests: TestResults) -> list[tuple[str, str, bool, int]]:
    return [(case.name, case.outcome.value, case.flaky, case.attempts) for case in tests.notable]


def test_surefire_flaky_failures_make_a_passing_test_flaky(reader: str) -> None:
    # one <testcase> that passed after two <flakyFailure> attempts; the suite says tests="3" failures="2"
    tests = read_tests(corpus_path("tests/surefire/TEST-io.olamy.FlakyTest.xml"))
    assert (tests.total, tests.passed, tests.failed, tests.flaky) == (1, 1, 0, 1)
    assert listed(tests) == [("testApp", "passed", True, 3)]


def test_surefire_rerun_failures_keep_a_test_failed_not_flaky(reader: str) -> None:
    # <failure> and three <rerunFailure>: failed on all four attempts
    tests = read_tests(corpus_path("tests/surefire/TEST-io.olamy.AlwaysFailTest.xml"))
    assert (tests.total, tests.failed, tests.flaky) == (1, 1, 0)
    assert listed(tests) == [("testApp", "failed", False, 4)]
    assert tests.notable[0].message == "built to fail"


def test_rerun_records_alone_still_fail_the_test(reader: str, tmp_path: Path) -> None:
    """A trimmed file keeps only the re-runs' records: every attempt failed, so the test did."""
    path = tmp_path / "TEST-trimmed.xml"
    path.write_text(
        '<testsuite name="t" tests="2"><testcase classname="a.B" name="one">'
        '<rerunFailure message="still broken"/><rerunFailure message="still broken"/></testcase>'
        '<testcase classname="a.B" name="two"><rerunError message="crashed"/></testcase></testsuite>'
    )
    tests = read_tests(path)
    assert (tests.total, tests.failed, tests.errors, tests.flaky) == (2, 1, 1, 0)
    assert listed(tests) == [("one", "failed", False, 3), ("two", "error", False, 2)]
    assert tests.notable[0].message == "still broken"


def test_pytest_rerunfailures_attempts_are_one_test_each(reader: str) -> None:
    """Counted by hand in tests/data/flaky/README.md: 13 case elements, 6 tests."""
    tests = read_tests(RERUNFAILURES)
    assert (tests.total, tests.passed, tests.failed, tests.errors, tests.skipped) == (6, 3, 1, 1, 1)
    assert tests.flaky == 2
    assert sorted(listed(tests)) == [
        ("test_always_fails", "failed", False, 3),
        ("test_errors_in_setup", "error", False, 3),
        ("test_flaky_once", "passed", True, 2),
        ("test_flaky_twice", "passed", True, 3),
    ]
    by_name = {case.name: case for case in tests.notable}
    assert by_name["test_flaky_twice"].message == "passed after 2 failed attempts"
    assert by_name["test_always_fails"].message.startswith("AssertionError: always wrong")


def test_repeated_cases_with_failed_attempts_then_a_pass_are_flaky(reader: str, tmp_path: Path) -> None:
    """Another re-run shape: each attempt with its own result, the suite counting tests once."""
    path = tmp_path / "retried.xml"
    path.write_text(
        '<testsuites><testsuite name="s" tests="3">'
        '<testcase classname="c" name="a"><failure message="boom 1"/></testcase>'
        '<testcase classname="c" name="a"><failure message="boom 2"/></testcase>'
        '<testcase classname="c" name="a"/>'
        '<testcase classname="c" name="b"/>'
        '<testcase classname="c" name="d"><error message="gone"/></testcase>'
        '<testcase classname="c" name="d"><failure message="still"/></testcase>'
        "</testsuite></testsuites>"
    )
    tests = read_tests(path)
    assert (tests.total, tests.passed, tests.failed, tests.errors, tests.flaky) == (3, 2, 1, 0, 1)
    assert sorted(listed(tests)) == [("a", "passed", True, 3), ("d", "failed", False, 2)]
    flaky = next(case for case in tests.notable if case.flaky)
    assert flaky.message == "passed after 2 failed attempts: boom 2"


def test_repeated_cases_stay_separate_tests_where_the_counts_agree(reader: str, tmp_path: Path) -> None:
    """Nothing says they were re-runs: one <testcase> is one test, as the contract says."""
    path = tmp_path / "dupes.xml"
    path.write_text(
        '<testsuite name="s" tests="3"><testcase classname="c" name="a"><failure message="x"/></testcase>'
        '<testcase classname="c" name="a"/><testcase classname="c" name="b"/></testsuite>'
    )
    tests = read_tests(path)
    assert (tests.total, tests.passed, tests.failed, tests.flaky) == (3, 2, 1, 0)


def test_repeats_are_only_those_in_a_row(reader: str, tmp_path: Path) -> None:
    """Re-run writers put attempts together; the same name apart is another test (or unknowable)."""
    path = tmp_path / "apart.xml"
    path.write_text(
        '<testsuite name="s" tests="2"><testcase classname="c" name="a"><failure message="x"/></testcase>'
        '<testcase classname="c" name="b"/><testcase classname="c" name="a"/>'
        '<testcase classname="c" name="b"/></testsuite>'
    )
    tests = read_tests(path)
    assert (tests.total, tests.flaky) == (4, 0)


def test_other_suites_of_the_file_are_left_alone(reader: str, tmp_path: Path) -> None:
    path = tmp_path / "two-suites.xml"
    path.write_text(
        '<testsuites><testsuite name="rerun" tests="1">'
        '<testcase classname="c" name="a"/><testcase classname="c" name="a"/></testsuite>'
        '<testsuite name="plain" tests="2"><testcase classname="c" name="a"><failure message="x"/></testcase>'
        '<testcase classname="c" name="a"/></testsuite></testsuites>'
    )
    tests = read_tests(path)
    assert (tests.total, tests.passed, tests.failed, tests.flaky) == (3, 2, 1, 1)
    assert sorted(listed(tests)) == [("a", "failed", False, 1), ("a", "passed", True, 2)]
    assert Outcome.FAILED in {case.outcome for case in tests.notable}


def test_another_writers_suite_with_a_passing_case_twice_holds_two_tests(reader: str) -> None:
    """Jenkins' own test data: tests="1", the same passing case twice, no pytest attributes: two tests."""
    tests = read_tests(corpus_path("edge/tests/jenkins-bad-duration.xml"))
    assert (tests.total, tests.passed, tests.flaky) == (2, 2, 0)


def test_outputs_say_a_failure_failed_on_every_attempt(tmp_path: Path) -> None:
    from gatekeeper.context import Context
    from gatekeeper.engine import decide
    from gatekeeper.outputs import renderer_for
    from gatekeeper.parsers import merge, read_report
    from gatekeeper.policy import load_policy
    from gatekeeper.verdict import build

    policy = tmp_path / "policy.yaml"
    policy.write_text("policy: p\ngates:\n  - id: t\n    metric: tests.pass_percent\n    min: 100\n")
    report = read_report(RERUNFAILURES)
    loaded = load_policy(policy)
    outcome = decide(merge([report]), loaded, Context(), date(2026, 12, 7))
    verdict = build(outcome=outcome, policy=loaded, context=Context(), inputs=[report], duration_ms=1)
    text = renderer_for("text")(verdict)
    assert "failed  rerun_suite.test_always_fails (failed on all 3 attempts): AssertionError: always wrong" in text
    assert "flaky   rerun_suite.test_flaky_twice: passed after 2 failed attempts" in text
    assert "`rerun_suite.test_errors_in_setup` error (failed on all 3 attempts)" in renderer_for("markdown")(verdict)
