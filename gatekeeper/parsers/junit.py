"""JUnit XML in all its dialects (pytest, Surefire, Ant, Jest, Mocha, PHPUnit, Go, xUnit.net, …).

One `<testcase>` is one test, whatever a file's `tests=` attributes claim: they are wrong in Surefire
re-runs, gotestsum and trimmed files.  Only a leaf `<testsuite>` (no `<testcase>` and no nested suite
inside) falls back to its own count attributes, and the evidence notes that it did.

Streams with pyexpat; passing cases are only counted, so memory stays flat at any size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from gatekeeper.errors import InputError
from gatekeeper.model import Evidence, Outcome, TestCase, TestResults
from gatekeeper.parsers._xml import make_parser, parse_file, to_float, to_int

#: A case's result elements, by severity (the most severe one wins).
_ERROR, _FAILURE, _SKIPPED = 3, 2, 1
_RESULT_ELEMENTS = {"error": _ERROR, "failure": _FAILURE, "skipped": _SKIPPED}
#: Surefire's records of failed attempts of a test that finally passed.
_FLAKY_ELEMENTS = frozenset({"flakyFailure", "flakyError"})
#: `status` values meaning a case did not run, where no result element says so.
_NOT_RUN_STATUS = frozenset({"disabled", "skipped", "notrun", "not run", "ignored"})
#: Elements that group cases; either may be the root.
_SUITE_ELEMENTS = frozenset({"testsuite", "testsuites"})
MESSAGE_LIMIT = 500


@dataclass(slots=True)
class _Suite:
    element: str
    name: str
    attributes: dict[str, str]
    holds_cases: bool = False
    holds_suites: bool = False

    @property
    def label(self) -> str:
        return f"suite '{self.name}'" if self.name else f"unnamed <{self.element}>"


@dataclass(slots=True)
class _Counter:
    """Mutable tallies while streaming; frozen into TestResults at the end."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0
    duration: float = 0.0
    notable: list[TestCase] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class NotJUnit(Exception):
    """The root element shows the file is not JUnit XML."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.root = root


class _Handler:
    """pyexpat callbacks; the hot path is a passing `<testcase/>`: one start and one end call."""

    def __init__(self, parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.counter = _Counter()
        self.suites: list[_Suite] = []
        self.root_seen = False
        # The open test case, if any, and how deep we are inside it (1 = a direct child).
        self.case: dict[str, str] | None = None
        self.depth = 0
        self.result = 0
        self.flaky_attempts = 0
        self.message: str | None = None
        self.body: list[str] | None = None

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if self.case is not None:
            self.depth += 1
            if self.depth == 1:
                self._case_child(name, attributes)
        elif not self.root_seen and name not in _SUITE_ELEMENTS:
            raise NotJUnit(name)
        elif name == "testcase":
            self.case = attributes
            self.depth = 0
            self.result = 0
            self.flaky_attempts = 0
            self.message = None
            if self.suites:
                self.suites[-1].holds_cases = True
        elif name in _SUITE_ELEMENTS:
            if self.suites:
                self.suites[-1].holds_suites = True
            self.suites.append(_Suite(name, attributes.get("name", ""), attributes))
            self.root_seen = True

    def _case_child(self, name: str, attributes: dict[str, str]) -> None:
        """A direct child of a test case: a result element, a Surefire flaky record, or output."""
        severity = _RESULT_ELEMENTS.get(name)
        if severity is not None:
            if severity > self.result:
                self.result = severity
                self.message = attributes.get("message") or None
                if self.message is None and severity > _SKIPPED:
                    self.body = []
                    self.parser.CharacterDataHandler = self.text
        elif name in _FLAKY_ELEMENTS:
            self.flaky_attempts += 1
            if self.message is None:
                self.message = attributes.get("message") or None

    def text(self, data: str) -> None:
        """Collects a failure's body, only while one without a message attribute is open."""
        if self.body is not None and sum(map(len, self.body)) < MESSAGE_LIMIT:
            self.body.append(data)

    def end(self, name: str) -> None:
        if self.case is not None:
            if self.depth == 0:  # expat checks nesting, so this is the case's own end tag
                self._close_case()
                return
            if self.depth == 1 and self.body is not None:
                self._end_body()
            self.depth -= 1
        elif name in _SUITE_ELEMENTS:
            suite = self.suites.pop()
            if not suite.holds_cases and not suite.holds_suites:
                self._count_from_attributes(suite)

    def _end_body(self) -> None:
        """The first line of a failure's body stands in for its missing message attribute."""
        assert self.body is not None
        text = "".join(self.body).strip()
        self.message = text.splitlines()[0][:MESSAGE_LIMIT] if text else None
        self.body = None
        self.parser.CharacterDataHandler = None

    def _close_case(self) -> None:
        case = self.case
        assert case is not None
        counter = self.counter
        duration = to_float(case.get("time"))
        counter.duration += duration
        result = self.result
        if result == 0:
            if case.get("status", "").lower() in _NOT_RUN_STATUS:
                counter.skipped += 1
            else:
                counter.passed += 1
                if self.flaky_attempts:
                    counter.flaky += 1
                    self._remember(case, Outcome.PASSED, duration, flaky=True)
        elif result == _SKIPPED:
            counter.skipped += 1
        elif result == _FAILURE:
            counter.failed += 1
            self._remember(case, Outcome.FAILED, duration)
        else:
            counter.errors += 1
            self._remember(case, Outcome.ERROR, duration)
        self.case = None
        if self.body is not None:
            self.body = None
            self.parser.CharacterDataHandler = None

    def _remember(self, case: dict[str, str], outcome: Outcome, duration: float, flaky: bool = False) -> None:
        message = self.message or ""
        if flaky:
            message = f"passed after {self.flaky_attempts} failed attempt(s): {message}".rstrip(": ")
        self.counter.notable.append(
            TestCase(
                suite=self.suites[-1].name if self.suites else "",
                classname=case.get("classname") or case.get("class") or "",
                name=case.get("name", ""),
                outcome=outcome,
                duration_seconds=duration,
                message=message[:MESSAGE_LIMIT],
                flaky=flaky,
            )
        )

    def _count_from_attributes(self, suite: _Suite) -> None:
        """A leaf suite with no case elements: trust its counts, since they are all there is.

        The note is written even when the counts are zero, so "0 tests" is explained in the output.
        Negative counts are junk and read as 0.  Its `time` is not added: durations are case times.
        """
        attributes = suite.attributes
        tests = max(to_int(attributes.get("tests")), 0)
        failed = max(to_int(attributes.get("failures")), 0)
        errors = max(to_int(attributes.get("errors")), 0)
        skipped = max(to_int(attributes.get("skipped")) or to_int(attributes.get("skip")), 0)
        skipped += max(to_int(attributes.get("disabled")), 0)
        counter = self.counter
        counter.failed += failed
        counter.errors += errors
        counter.skipped += skipped
        counter.passed += max(tests - failed - errors - skipped, 0)
        counter.notes.append(
            f"{suite.label} has no <testcase>: counted from its attributes "
            f"(tests={tests}, failures={failed}, errors={errors}, skipped={skipped})"
        )


def parse(path: Path) -> Evidence:
    """Count the test cases of one JUnit XML file."""
    parser = make_parser()
    handler = _Handler(parser)
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    try:
        parse_file(parser, path)
    except NotJUnit as error:
        raise InputError(
            path, f"not a JUnit report: the root element is <{error.root}>, not <testsuites> or <testsuite>"
        ) from None
    counter = handler.counter
    results = TestResults(
        passed=counter.passed,
        failed=counter.failed,
        errors=counter.errors,
        skipped=counter.skipped,
        flaky=counter.flaky,
        duration_seconds=counter.duration,
        notable=tuple(counter.notable),
    )
    return Evidence(tests=results, notes=tuple(counter.notes))
