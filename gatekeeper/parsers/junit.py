"""JUnit XML in all its dialects (pytest, Surefire, Ant, Jest, Mocha, PHPUnit, Go, xUnit.net, …).

One `<testcase>` is one test, whatever a file's `tests=` attributes claim: they are wrong in Surefire
re-runs, gotestsum and trimmed files.  Only a leaf `<testsuite>` (no `<testcase>` and no nested suite
inside) falls back to its own count attributes, and the evidence notes that it did.  A file whose root
is a bare `<testcase>` is that one test case (as Jenkins reads it), with a note.

Streams with expat; passing cases are only counted, so memory stays flat at any size.  Speed is the
work per element (expat itself is fast), so the hot path -- a passing `<testcase/>` -- runs in C where
the optional `_junit_speedups` extension is built (`read_accelerated`), else in closures over local
variables (`_install`); everything rarer goes through `_Handler` on both paths, so they agree exactly.
`<property>` elements outside a case (Surefire writes ~50 per file) are skipped until the block ends:
nothing inside a `<properties>` block is a test or a suite.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from xml.parsers import expat

from gatekeeper.errors import InputError
from gatekeeper.model import Evidence, Outcome, TestCase, TestResults
from gatekeeper.parsers import open_report, pieces
from gatekeeper.parsers._reruns import ERRORED, FAILED, PASSED, PYTEST_SUITE, SKIPPED, Repeat, find_repeats
from gatekeeper.parsers._xml import make_parser, parse_file, to_float

try:
    from gatekeeper.parsers._junit_speedups import Scanner
except ImportError:  # not built (no C compiler at install): the streaming parser does it all
    Scanner = None  # type: ignore[assignment, misc]

#: A case's result elements, by severity (the most severe one wins).
_ERROR, _FAILURE, _SKIPPED = 3, 2, 1
_RESULT_ELEMENTS = {"error": _ERROR, "failure": _FAILURE, "skipped": _SKIPPED}
#: Surefire's records of failed attempts of a test that finally passed.
_FLAKY_ELEMENTS = frozenset({"flakyFailure", "flakyError"})
#: Surefire's records of re-runs that failed too (beside the case's `<failure>`): failed, never flaky.
_RERUN_ELEMENTS = {"rerunFailure": _FAILURE, "rerunError": _ERROR}
#: A case's children that change its outcome: a case with none of them is a plain pass.
_RECORD_ELEMENTS = frozenset(_RESULT_ELEMENTS) | _FLAKY_ELEMENTS | frozenset(_RERUN_ELEMENTS)
#: `status` values meaning a case did not run, where no result element says so.
_NOT_RUN_STATUS = frozenset({"disabled", "skipped", "notrun", "not run", "ignored"})
#: Elements that group cases; either may be the root.
_SUITE_ELEMENTS = frozenset({"testsuite", "testsuites"})
#: The same names, as the C scanner takes them.
_RECORD_NAMES, _SUITE_NAMES = tuple(sorted(_RECORD_ELEMENTS)), tuple(sorted(_SUITE_ELEMENTS))
MESSAGE_LIMIT = 500
#: How much of a failure's body is read for its first line: the same however the text arrives in pieces.
_BODY_LIMIT = 8 * MESSAGE_LIMIT
#: `time` strings already read, and their value (see `_seconds`): at most _REMEMBERED_TIMES of them.
_SECONDS: dict[str, float] = {}
_REMEMBERED_TIMES = 4096
#: One test case as a pipeline part records it (`parse_cases`): suite, classname, name, outcome (ranked as
#: _reruns' PASSED, SKIPPED, FAILED, ERRORED) and attempts (more than 1: re-run; passed so, it is flaky).
CaseRecord = tuple[str, str, str, int, int]


class _Suite:
    """An open `<testsuite>`/`<testsuites>`: what it holds decides whether its attributes are counted.

    (This and `_Counter` are plain classes, not dataclasses: creating a dataclass costs ~0.35 ms at
    import, and importing this module is on every run's path.)
    """

    __slots__ = ("attributes", "cases_before", "element", "holds_cases", "holds_suites", "name")

    def __init__(self, element: str, name: str, attributes: dict[str, str], cases_before: int = 0) -> None:
        self.element = element
        self.name = name
        self.attributes = attributes
        self.holds_cases = False
        self.holds_suites = False
        self.cases_before = cases_before  # cases read before it opened: what it holds is the difference

    @property
    def label(self) -> str:
        return f"suite '{self.name}'" if self.name else f"unnamed <{self.element}>"


class _Counter:
    """Mutable tallies of the cold paths while streaming; frozen into TestResults at the end."""

    __slots__ = ("errors", "failed", "flaky", "notable", "notes", "passed", "skipped")

    def __init__(self) -> None:
        self.passed = self.failed = self.errors = self.skipped = self.flaky = 0
        self.notable: list[TestCase] = []
        self.notes: list[str] = []


class NotJUnit(Exception):
    """The root element shows the file is not JUnit XML."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.root = root


if TYPE_CHECKING:  # only the type checker needs the protocol
    from typing import Protocol

    class _TextSource(Protocol):
        """What `_Handler` needs of its parser (pyexpat's, or the C scanner): to switch text on and off."""

        CharacterDataHandler: Callable[[str], object] | None


class _Handler:
    """The cold paths: suites, a case's result elements and failure text, and closing such a case."""

    def __init__(self) -> None:
        self.parser: _TextSource | None = None  # set once the parser exists
        self.counter = _Counter()
        self.suites: list[_Suite] = []
        # What the open case's result elements said; reset when a case is closed here.
        self.result = 0
        self.flaky_attempts = 0
        self.rerun_attempts = 0  # Surefire's failed re-runs of a failed case
        self.rerun_result = 0  # their severity, for a case with no result element of its own
        self.message: str | None = None
        # Plain passes the hot path has counted so far (set by the reader), and the suites that hold
        # more case elements than their `tests=` says: re-runs written as repeated cases (see _reruns).
        self.passes: Callable[[], int] = lambda: 0
        self.repeated_suites: dict[str, bool] = {}  # name -> pytest wrote it (see _reruns.find_repeats)
        # The start of a failure's body, collected only while one without a message attribute is open.
        self.body: list[str] | None = None
        self.body_length = 0
        # Every case counted one by one, in document order, when a pipeline part asks (`parse_cases`).
        self.cases: list[CaseRecord] | None = None

    def start_root(self, name: str, attributes: dict[str, str]) -> bool:
        """Open the root suite; True when the root is a bare `<testcase>`, which the caller opens as a case.

        Jenkins' junit model reads a file holding one `<testcase>` as one test, so it is one here too.
        """
        if name == "testcase":
            self.counter.notes.append("the root element is a bare <testcase>: read as one test case")
            return True
        if name not in _SUITE_ELEMENTS:
            raise NotJUnit(name)
        self.start_suite(name, attributes)
        return False

    def start_suite(self, name: str, attributes: dict[str, str]) -> None:
        if self.suites:
            self.suites[-1].holds_suites = True
        self.suites.append(_Suite(name, attributes.get("name", ""), attributes, self._cases()))

    def _cases(self) -> int:
        """Case elements read so far (leaf suites' attribute counts included: they hold none, so no matter)."""
        counter = self.counter
        return self.passes() + counter.passed + counter.failed + counter.errors + counter.skipped

    def case_record(self, name: str, attributes: dict[str, str]) -> None:
        """A direct child of a test case that is a result element or a Surefire flaky or re-run record."""
        severity = _RESULT_ELEMENTS.get(name)
        rerun = _RERUN_ELEMENTS.get(name)
        if rerun is not None:
            self.rerun_attempts += 1
            self.rerun_result = max(self.rerun_result, rerun)
            if self.message is None and self.result == 0:
                self.message = attributes.get("message") or None
        elif severity is not None:
            if severity > self.result:
                self.result = severity
                self.message = attributes.get("message") or None
                if self.message is None and severity > _SKIPPED:
                    self._collect_text(True)
        else:
            self.flaky_attempts += 1
            if self.message is None:
                self.message = attributes.get("message") or None

    def text(self, data: str) -> None:
        """Collects the start of a failure's body: its first `_BODY_LIMIT` characters, whatever the pieces."""
        if self.body is not None and self.body_length < _BODY_LIMIT:
            self.body.append(data)
            self.body_length += len(data)

    def _collect_text(self, on: bool) -> None:
        """Start or stop collecting a failure's body; `body` is a list exactly while collecting."""
        assert self.parser is not None
        self.body = [] if on else None
        self.body_length = 0
        self.parser.CharacterDataHandler = self.text if on else None

    def end_suite(self) -> None:
        suite = self.suites.pop()
        if not suite.holds_cases and not suite.holds_suites:
            self._count_from_attributes(suite)
        elif not suite.holds_suites and self._claims_fewer(suite):
            self.repeated_suites[suite.name] = set(suite.attributes) <= PYTEST_SUITE

    def _claims_fewer(self, suite: _Suite) -> bool:
        """Whether a suite holds more case elements than its `tests=` says: re-runs as repeated cases."""
        claimed = suite.attributes.get("tests")
        return claimed is not None and claimed.strip().isdigit() and self._cases() - suite.cases_before > int(claimed)

    def end_body(self) -> None:
        """The first line of a failure's body stands in for its missing message attribute."""
        assert self.body is not None
        text = "".join(self.body)[:_BODY_LIMIT].strip()
        self.message = text.splitlines()[0][:MESSAGE_LIMIT] if text else None
        self._collect_text(False)

    def close_case(self, case: dict[str, str]) -> float:
        """Count a case that is not a plain pass; returns its duration for the running sum."""
        counter = self.counter
        duration = to_float(case.get("time"))
        result = self.result or self.rerun_result  # re-runs alone (no <failure> kept): failed all the same
        if result == 0:
            if case.get("status", "").lower() in _NOT_RUN_STATUS:
                counter.skipped += 1
                result = _SKIPPED
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
        if self.cases is not None:  # the result ranks as _reruns' outcomes do: 0 passed, 1, 2, 3
            self.record(case, result, 1 + self.flaky_attempts + self.rerun_attempts)
        self.result = self.flaky_attempts = self.rerun_attempts = self.rerun_result = 0
        self.message = None
        if self.body is not None:
            self._collect_text(False)
        return duration

    def record(self, case: dict[str, str], outcome: int, attempts: int) -> None:
        """Keep a case's identity and outcome (`parse_cases` only)."""
        assert self.cases is not None
        suite = self.suites[-1].name if self.suites else ""
        classname = case.get("classname") or case.get("class") or ""
        self.cases.append((suite, classname, case.get("name", ""), outcome, attempts))

    def _remember(self, case: dict[str, str], outcome: Outcome, duration: float, flaky: bool = False) -> None:
        message = self.message or ""
        if flaky:
            from gatekeeper.words import plural  # a cold path: the parse path imports only its own modules

            message = f"passed after {plural(self.flaky_attempts, 'failed attempt')}: {message}".rstrip(": ")
        self.counter.notable.append(
            TestCase(
                suite=self.suites[-1].name if self.suites else "",
                classname=case.get("classname") or case.get("class") or "",
                name=case.get("name", ""),
                outcome=outcome,
                duration_seconds=duration,
                message=message[:MESSAGE_LIMIT],
                flaky=flaky,
                attempts=1 + self.flaky_attempts + self.rerun_attempts,
            )
        )

    def _count_from_attributes(self, suite: _Suite) -> None:
        """A leaf suite with no case elements: trust its counts, since they are all there is.

        The note is written even when the counts are zero, so "0 tests" is explained in the output.
        A value that is no count (negative, junk, above MAX_COUNT) is read as 0, as a bad `time` is,
        and the note quotes what the file said.  Its `time` is not added: durations are case times.
        """
        attributes = suite.attributes
        refused: list[str] = []
        tests = _count(attributes, "tests", refused)
        failed = _count(attributes, "failures", refused)
        errors = _count(attributes, "errors", refused)
        skipped = _count(attributes, "skipped", refused) or _count(attributes, "skip", refused)
        skipped += _count(attributes, "disabled", refused)
        counter = self.counter
        counter.failed += failed
        counter.errors += errors
        counter.skipped += skipped
        counter.passed += max(tests - failed - errors - skipped, 0)
        counter.notes.append(
            f"{suite.label} has no <testcase>: counted from its attributes "
            f"(tests={tests}, failures={failed}, errors={errors}, skipped={skipped})"
            + (f"; not counts, so read as 0: {', '.join(refused)}" if refused else "")
        )


#: A suite's count attribute above this counts no tests (a mangled or hostile file): not trusted.
MAX_COUNT = 10**12


def _count(attributes: dict[str, str], name: str, refused: list[str]) -> int:
    """A count attribute ("38.0" too: old writers); 0 when absent, and 0 noted in `refused` (as the file
    wrote it) when it is negative, junk, fractional or above MAX_COUNT."""
    value = attributes.get(name)
    if value is None or not value.strip():
        return 0
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number.is_integer() and 0 <= number <= MAX_COUNT:
        return int(number)
    refused.append(f"{name}={value[:40]!r}")
    return 0


def _seconds(value: str | None) -> float:
    """`to_float(value)`, remembered: writers round case times (pytest and Surefire to the millisecond),
    so reports hold few distinct ones, and a dict lookup costs a fraction of `float()` on the text."""
    seconds = to_float(value)
    if value is not None and len(_SECONDS) < _REMEMBERED_TIMES:
        _SECONDS[value] = seconds
    return seconds


def _install(parser: expat.XMLParserType, handler: _Handler) -> Callable[[], tuple[int, float]]:
    """Set the parser's handlers; returns what the hot path counted: (plain passes, sum of durations).

    CPython reads and writes local (closure) variables much faster than attributes, so a passing
    `<testcase/>` costs one start and one end call that touch only those and the dict of durations
    met so far.  A case with child elements swaps in `end_in_case` until it closes, so `end` need not
    track depth; one with a result element or a flaky record is closed by `_Handler.close_case`.
    Durations are added in document order on every path: the float sum is the same as one by one.
    """
    case: dict[str, str] | None = None  # the open test case
    depth = 0  # how deep inside it (1 = a direct child)
    record = False  # the open case has a result element or a flaky record
    mark_suite = False  # the innermost open suite is not yet marked as holding cases
    nested = 0  # <properties> blocks open inside the one being skipped
    passed = 0
    duration = 0.0
    suites = handler.suites
    seconds_of = _SECONDS
    recording = handler.cases is not None  # a pipeline part wants every case (`parse_cases`)

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal case, depth, record, mark_suite
        if case is not None:
            depth += 1
            if depth == 1:
                parser.EndElementHandler = end_in_case
                if name in _RECORD_ELEMENTS:
                    record = True
                    handler.case_record(name, attributes)
        elif name == "testcase":
            case = attributes
            if mark_suite:
                suites[-1].holds_cases = True
                mark_suite = False
        elif name in _SUITE_ELEMENTS:
            handler.start_suite(name, attributes)
            mark_suite = True
        elif name == "properties":
            parser.StartElementHandler = start_in_properties
            parser.EndElementHandler = end_properties

    def start_root(name: str, attributes: dict[str, str]) -> None:
        nonlocal case, mark_suite
        if handler.start_root(name, attributes):
            case = attributes
        else:
            mark_suite = True
        parser.StartElementHandler = start

    def start_in_properties(name: str, attributes: dict[str, str]) -> None:
        nonlocal nested
        if name == "properties":
            nested += 1

    def end_properties(name: str) -> None:
        nonlocal nested
        if name == "properties":
            if nested:
                nested -= 1
            else:
                parser.StartElementHandler = start
                parser.EndElementHandler = end

    def end(name: str) -> None:
        """Outside a case, or at the end of a case without child elements (the hot path)."""
        nonlocal case, mark_suite, passed, duration
        if case is None:
            if name in _SUITE_ELEMENTS:
                handler.end_suite()
                mark_suite = bool(suites) and not suites[-1].holds_cases
        elif "status" not in case:  # a plain pass
            try:
                duration += seconds_of[case["time"]]
            except KeyError:
                duration += _seconds(case.get("time"))
            passed += 1
            if recording:
                handler.record(case, PASSED, 1)
            case = None
        else:
            duration += handler.close_case(case)
            case = None

    def end_in_case(name: str) -> None:
        """Inside a case with child elements, up to and including the case's own end tag."""
        nonlocal case, depth, record, passed, duration
        if depth:
            if depth == 1 and handler.body is not None:
                handler.end_body()
            depth -= 1
            return
        assert case is not None  # expat checks nesting: this is the case's own end tag
        if record or "status" in case:
            duration += handler.close_case(case)
        else:  # only output or properties inside: still a plain pass
            duration += _seconds(case.get("time"))
            passed += 1
            if recording:
                handler.record(case, PASSED, 1)
        case = None
        record = False
        parser.EndElementHandler = end

    parser.StartElementHandler = start_root
    parser.EndElementHandler = end
    handler.passes = lambda: passed
    return lambda: (passed, duration)


def read_streaming(path: Path, cases: list[CaseRecord] | None = None) -> tuple[_Handler, tuple[int, float]]:
    """Read with pyexpat and Python handlers: takes every document, and words every error.

    With `cases`, every case counted one by one is appended to it (see `parse_cases`).
    """
    parser = make_parser()
    handler = _Handler()
    handler.parser = parser
    handler.cases = cases
    hot_path = _install(parser, handler)
    parse_file(parser, path)
    return handler, hot_path()


def read_accelerated(path: Path) -> tuple[_Handler, tuple[int, float]] | None:
    """Read with the C scanner; None when it does not take the document, to be read by `read_streaming`.

    It declines a document with a DOCTYPE (the streaming parser refuses entities in its own words), one
    in UTF-16 or UTF-32, and one with any XML error (the streaming parser words it).
    """
    handler = _Handler()
    scanner = Scanner(handler, to_float, _RECORD_NAMES, _SUITE_NAMES)
    handler.parser = scanner
    handler.passes = lambda: int(scanner.counts()[0])
    with open_report(path) as stream:
        remaining = pieces(stream)
        chunk = next(remaining, b"")
        while True:
            following = next(remaining, None)
            # The last piece is given as final: expat then parses it without copying it first.
            if not scanner.feed(chunk, following is None):
                return None
            if following is None:
                return handler, scanner.counts()
            chunk = following


def evidence(read: tuple[_Handler, tuple[int, float]]) -> Evidence:
    """What either reader counted, as evidence."""
    handler, (passed, duration) = read
    counter = handler.counter
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


def parse(path: Path) -> Evidence:
    """Count the test cases of one JUnit XML file."""
    try:
        read = (Scanner is not None and read_accelerated(path)) or read_streaming(path)
        if read[0].repeated_suites:
            fold_repeats(read[0].counter, find_repeats(path, read[0].repeated_suites))
        return evidence(read)
    except NotJUnit as error:
        raise _not_junit(path, error) from None


def parse_cases(path: Path) -> tuple[Evidence, list[CaseRecord] | None]:
    """`parse`, and every test case it counted one by one, in document order, a re-run test once (its last
    attempt, with `attempts` > 1): what a pipeline part needs to merge tests by identity (gatekeeper.parts).

    Read by the streaming reader, since the C scanner counts plain passes without their names: `parse`
    stays as fast as ever, and only a part pays for the names.  Cases a leaf suite counts from its
    attributes have no identity and are not listed; the list is None when the re-runs found cannot be
    matched to the cases read (a document stranger than any writer's), so identities are not to be trusted.
    """
    cases: list[CaseRecord] | None = []
    try:
        read = read_streaming(path, cases)
        if read[0].repeated_suites:
            repeats = find_repeats(path, read[0].repeated_suites)
            fold_repeats(read[0].counter, repeats)
            cases = _fold_case_records(read[0].cases or [], repeats)
        return evidence(read), cases
    except NotJUnit as error:
        raise _not_junit(path, error) from None


def _not_junit(path: Path, error: NotJUnit) -> InputError:
    return InputError(
        path, f"not a JUnit report: the root element is <{error.root}>, not <testsuites>, <testsuite> or <testcase>"
    )


def _fold_case_records(cases: list[CaseRecord], repeats: list[Repeat]) -> list[CaseRecord] | None:
    """One record per re-run test, as `fold_repeats` counts it: the last attempt's, with every attempt counted;
    None when a re-run's attempts are not the cases at its position."""
    dropped: set[int] = set()
    for repeat in repeats:
        last, first = repeat.last_case, repeat.last_case - len(repeat.earlier)
        key = (repeat.suite, repeat.classname, repeat.name)
        if first < 0 or last >= len(cases) or any(cases[i][:3] != key for i in range(first, last + 1)):
            return None
        dropped.update(range(first, last))
        cases[last] = (*key, cases[last][3], repeat.attempts)
    return [case for index, case in enumerate(cases) if index not in dropped]


def fold_repeats(counter: _Counter, repeats: list[Repeat]) -> None:
    """Count each repeated case once, by its last attempt (see _reruns): the earlier attempts' counts and
    listed failures go; a last attempt that passed makes the test flaky, one that failed lists it once."""
    from gatekeeper.words import plural  # a cold path

    groups: dict[tuple[str, str, str], deque[tuple[Repeat, int]]] = {}
    for repeat in repeats:
        for outcome in repeat.earlier:
            if outcome == PASSED:
                counter.passed -= 1
            elif outcome == SKIPPED:
                counter.skipped -= 1
            elif outcome == FAILED:
                counter.failed -= 1
            else:
                counter.errors -= 1
        # the listed (failed, errored) cases this repeat wrote, in order: its earlier failures, then its last
        listed = sum(1 for outcome in (*repeat.earlier, repeat.last) if outcome in (FAILED, ERRORED))
        if listed:
            groups.setdefault((repeat.suite, repeat.classname, repeat.name), deque()).append((repeat, listed))
    kept: list[TestCase] = []
    seen: dict[tuple[str, str, str], int] = {}
    messages: dict[tuple[str, str, str], str] = {}
    for case in counter.notable:
        key = (case.suite, case.classname, case.name)
        queue = groups.get(key)
        if not queue or case.flaky:
            kept.append(case)
            continue
        repeat, listed = queue[0]
        index = seen.get(key, 0)
        if index == listed - 1 and repeat.last in (FAILED, ERRORED):
            kept.append(replace(case, attempts=repeat.attempts))
        else:
            messages[key] = case.message
        seen[key] = index + 1
        if index + 1 == listed:
            queue.popleft()
            seen[key] = 0
    for repeat in repeats:
        if repeat.last != PASSED:
            continue
        key = (repeat.suite, repeat.classname, repeat.name)
        message = f"passed after {plural(len(repeat.earlier), 'failed attempt')}: {messages.get(key, '')}"
        counter.flaky += 1
        kept.append(
            TestCase(
                suite=repeat.suite,
                classname=repeat.classname,
                name=repeat.name,
                outcome=Outcome.PASSED,
                message=message.rstrip(": ")[:MESSAGE_LIMIT],
                flaky=True,
                attempts=repeat.attempts,
            )
        )
    counter.notable = kept
