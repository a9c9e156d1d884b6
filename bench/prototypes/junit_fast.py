"""A prototype of a cheaper hot path for gatekeeper/parsers/junit.py, to show the lead what it gains.

The real `_Handler` still does every cold path (result elements, failure bodies, suites, leaf-suite
counts, notable cases); only the hot path moves into closures over local variables, which CPython
reads and writes much faster than attributes.  bench/prototypes/check.py shows the results are
identical to gatekeeper's, down to the float sum of durations, on every corpus and generated file.

1. A passing `<testcase/>` costs one start and one end call that touch only local variables: no
   `_close_case` / `to_float` calls, no per-case resets (they are reset after the rare slow case).
   A case with any child element (a result, a flaky record, output) is closed by `_close_case`.
2. Outside a case, `<properties>` (Surefire writes ~50 `<property>` per file; pytest's
   record_property adds some) switches the start handler off and installs a one-line end handler
   until `</properties>`: each property then costs one tiny call instead of two full ones.
"""

from __future__ import annotations

from pathlib import Path

from gatekeeper.errors import InputError
from gatekeeper.model import Evidence, TestResults
from gatekeeper.parsers import junit
from gatekeeper.parsers._xml import make_parser, parse_file, to_float

_INFINITY = float("inf")
_SUITE_ELEMENTS = frozenset({"testsuite", "testsuites"})


def parse(path: Path) -> Evidence:
    """`gatekeeper.parsers.junit.parse`, with the hot path below."""
    parser = make_parser()
    handler = junit._Handler(parser)
    counter = handler.counter
    case: dict[str, str] | None = None
    depth = 0
    passed = 0
    duration = 0.0
    slow = False  # the open case has a child element: close it the careful way
    mark_suite = False  # the innermost open suite has not been marked as holding cases yet

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal case, depth, slow, mark_suite
        if case is not None:
            depth += 1
            if depth == 1:
                slow = True
                handler._case_child(name, attributes)
        elif name == "testcase" and handler.root_seen:
            case = attributes
            if mark_suite:
                handler.suites[-1].holds_cases = True
                mark_suite = False
        elif name == "properties" and handler.root_seen:
            parser.StartElementHandler = None
            parser.EndElementHandler = end_properties
        else:
            handler.start(name, attributes)  # suites and the root check
            if name in _SUITE_ELEMENTS:
                mark_suite = True

    def end_properties(name: str) -> None:
        if name == "properties":
            parser.StartElementHandler = start
            parser.EndElementHandler = end

    def end(name: str) -> None:
        nonlocal case, depth, passed, duration, slow, mark_suite
        if case is None:
            handler.end(name)
            if name in _SUITE_ELEMENTS:
                mark_suite = bool(handler.suites) and not handler.suites[-1].holds_cases
        elif depth:
            if depth == 1 and handler.body is not None:
                handler._end_body()
            depth -= 1
        elif not slow and "status" not in case:
            value = case.get("time")  # a passing case: the hot path
            if value:
                try:
                    seconds = float(value)
                except ValueError:
                    seconds = to_float(value)
                if 0.0 <= seconds < _INFINITY:
                    duration += seconds
            passed += 1
            case = None
        else:
            handler.case = case
            counter.duration = duration
            handler._close_case()
            duration = counter.duration
            handler.result = handler.flaky_attempts = 0
            handler.message = None
            case = None
            slow = False

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parse_file(parser, path)
    except junit.NotJUnit as error:
        raise InputError(
            path, f"not a JUnit report: the root element is <{error.root}>, not <testsuites> or <testsuite>"
        ) from None
    results = TestResults(
        passed=counter.passed + passed,
        failed=counter.failed,
        errors=counter.errors,
        skipped=counter.skipped,
        flaky=counter.flaky,
        duration_seconds=duration,
        notable=tuple(counter.notable),
    )
    return Evidence(tests=results, notes=tuple(counter.notes))
