"""Re-runs written as repeated `<testcase>` elements: one test, decided by its last attempt.

pytest-rerunfailures (checked with 16.7 on pytest 9.2: tests/data/flaky/README.md) writes every attempt
of a re-run test as its own `<testcase>`, in a row: the earlier attempts empty (they look like passes),
only the last one with its `<failure>` or `<error>`, and the suite's `tests=` counting each test once.
So where a suite holds more case elements than its `tests=` says, a case repeated in a row is one test
re-run, and the last attempt decides: passed is flaky, failed is failed on every attempt.  Empty earlier
attempts are read as failures only in a suite pytest wrote (its attributes and no others): Jenkins' own
test data has a suite of another writer, tests="1", holding the same passing case twice, which is two
tests.  Earlier attempts that carry a failure are re-runs whoever wrote them.  Elsewhere repeated cases
stay separate tests (one `<testcase>` is one test), since nothing says they were re-runs.

Finding the repeats takes a second, id-aware pass over the file; the first pass asks for it only when a
suite's counts show repeats, so ordinary reports pay nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.parsers._xml import make_parser, parse_file

#: An attempt's outcome, by severity as the JUnit reader ranks result elements.
PASSED, SKIPPED, FAILED, ERRORED = 0, 1, 2, 3
_RESULTS = {"error": ERRORED, "failure": FAILED, "skipped": SKIPPED}
_NOT_RUN = frozenset({"disabled", "skipped", "notrun", "not run", "ignored"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Repeat:
    """A case repeated in a row within one suite: its earlier attempts' outcomes, and the last one's."""

    suite: str
    classname: str
    name: str
    earlier: tuple[int, ...]
    last: int
    #: Where the last attempt is: its position among the file's `<testcase>` elements (0 is the first).
    last_case: int = -1

    @property
    def attempts(self) -> int:
        return len(self.earlier) + 1


#: The attributes pytest's junitxml writes on a `<testsuite>`: a suite with no others is pytest's.
PYTEST_SUITE = frozenset({"name", "errors", "failures", "skipped", "tests", "time", "timestamp", "hostname"})


def find_repeats(path: Path, suites: Mapping[str, bool]) -> list[Repeat]:
    """The re-runs among the cases repeated in a row in the named suites of a JUnit file, in document order.

    `suites` says of each suite whether empty attempts before the last are re-runs (pytest's suites);
    elsewhere only a repeat with a failed or errored earlier attempt is one.
    """
    parser = make_parser()
    found: list[Repeat] = []
    open_suites: list[str] = []
    case: tuple[str, str] | None = None  # (classname, name) of the open case
    depth = 0
    outcome = PASSED
    previous: tuple[str, str, str] | None = None  # suite, classname, name of the case just closed
    attempts: list[int] = []
    cases = 0  # `<testcase>` elements opened so far
    last_case = -1  # the position of the one just closed

    def flush() -> None:
        nonlocal previous, attempts
        if previous is not None and len(attempts) > 1:
            suite, classname, name = previous
            if not suites[suite] and not any(outcome in (FAILED, ERRORED) for outcome in attempts[:-1]):
                previous, attempts = None, []
                return
            found.append(
                Repeat(
                    suite=suite,
                    classname=classname,
                    name=name,
                    earlier=tuple(attempts[:-1]),
                    last=attempts[-1],
                    last_case=last_case,
                )
            )
        previous, attempts = None, []

    def start(element: str, attributes: dict[str, str]) -> None:
        nonlocal case, depth, outcome, cases
        if case is not None:
            depth += 1
            if depth == 1:
                outcome = max(outcome, _RESULTS.get(element, PASSED))
        elif element == "testcase":
            cases += 1
            case = (attributes.get("classname") or attributes.get("class") or "", attributes.get("name", ""))
            depth = 0
            status = attributes.get("status", "").lower()
            outcome = SKIPPED if status in _NOT_RUN else PASSED
        elif element in ("testsuite", "testsuites"):
            flush()
            open_suites.append(attributes.get("name", ""))

    def end(element: str) -> None:
        nonlocal case, depth, previous, last_case
        if case is None:
            if element in ("testsuite", "testsuites"):
                flush()
                open_suites.pop()
            return
        if depth:
            depth -= 1
            return
        suite = open_suites[-1] if open_suites else ""
        key = (suite, *case)
        case = None
        if suite not in suites:
            flush()
            return
        if key != previous:
            flush()
        previous = key
        attempts.append(outcome)
        last_case = cases - 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parse_file(parser, path)
    flush()
    return found
