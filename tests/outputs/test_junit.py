"""The junit output: one test case per gate, so Jenkins and GitLab show the gates as tests."""

from __future__ import annotations

from typing import Any

from junitparser import Error, Failure, JUnitXml, Skipped

from tests.outputs.cases import CASES, renderer

render = renderer("junit")


def _cases(verdict: dict[str, Any]) -> dict[str, Any]:
    xml = JUnitXml.fromstring(render(verdict))
    return {case.name: case for suite in xml for case in suite}


def test_one_case_per_gate_failures_for_failed_blocking_gates() -> None:
    verdict = CASES["failing"]()
    cases = _cases(verdict)
    assert list(cases) == [gate["id"] for gate in verdict["gates"]]
    for gate in verdict["gates"]:
        results = cases[gate["id"]].result
        kinds = [type(r) for r in results]
        if gate["status"] == "fail":
            assert kinds == [Failure]
            assert results[0].message == gate["message"]
        elif gate["status"] == "skip":
            assert kinds == [Skipped]
        else:
            assert kinds == []  # pass, and warn: a warning does not fail the build on its own


def test_a_warning_says_so_in_the_output() -> None:
    cases = _cases(CASES["warning"]())
    assert cases["few-medium-findings"].system_out == "WARNING: medium findings 2 > 1"


def test_suite_counts() -> None:
    xml = JUnitXml.fromstring(render(CASES["failing"]()))
    suite = next(iter(xml))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (7, 3, 0, 2)
    assert (xml.tests, xml.failures) == (7, 3)


def test_a_passing_run_has_no_failures() -> None:
    xml = JUnitXml.fromstring(render(CASES["passing"]()))
    assert all(case.is_passed for suite in xml for case in suite)


def test_an_undecided_run_is_one_error() -> None:
    cases = _cases(CASES["error"]())
    assert list(cases) == ["inputs"]
    (error,) = cases["inputs"].result
    assert isinstance(error, Error)
    assert error.message.startswith("build/coverage.xml: not well-formed XML")


def test_characters_xml_cannot_carry_are_dropped() -> None:
    verdict = CASES["failing"]()
    verdict["gates"][1]["message"] = "bad\x00byte\x1b[31m"
    cases = _cases(verdict)
    assert cases["tests-all-pass"].result[0].message == "badbyte[31m"
