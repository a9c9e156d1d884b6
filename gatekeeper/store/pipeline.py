"""A pipeline's parts in a part store: which to expect, waiting for them, merging them for one decision.

`check --part` records one job's part (gatekeeper.parts encodes it) in the embedded store or on the store
server; `check --pipeline-final` waits here, bounded, until every part it expects is there, merges them
(gatekeeper.parts.merge_parts: tests by id, coverage by line, findings by fingerprint) and decides once.
A part that has not arrived leaves the gate undecided (PartsMissing, exit 2, naming it): never a pass on
partial data.

Which parts to expect: `--expect-parts N` (or GitLab's CI_NODE_TOTAL where it is over 1), and every part
named `NAME i/N` (what `--part NAME` becomes in a GitLab `parallel:` job) names its whole series.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from gatekeeper.context import Context
from gatekeeper.errors import GatekeeperError, InputError, StoreRefused, UsageError, one_line
from gatekeeper.model import ReportInput
from gatekeeper.status import ExitStatus
from gatekeeper.verdict_sections import PartRecord, PipelineRecord
from gatekeeper.words import plural

if TYPE_CHECKING:
    from gatekeeper.parts import PartSummary
    from gatekeeper.store.parts import PartStore, StoredPart

#: `NAME i/N`: one of a series of N parts (GitLab names a `parallel:` job's instances so).
SERIES = re.compile(r"^(?P<base>\S(?:.*\S)?) (?P<index>[1-9][0-9]{0,3})/(?P<total>[1-9][0-9]{0,3})$")
#: The largest series a name can announce; a larger N (GitLab's own limit is 200) is a plain name.
MAX_SERIES = 1000
#: Missing parts named in a message and in the verdict; the rest are counted.
MISSING_LISTED = 20
#: A CI variable's count: ASCII digits, a few of them (a variable is text anyone can set).
_COUNT = re.compile(r"[0-9]{1,4}")
#: Seconds between looks at the store while waiting: doubling from the first, never over the last.
FIRST_POLL, LAST_POLL = 0.5, 15.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrival:
    """One look at a pipeline's parts: which names are there and which are still expected."""

    names: frozenset[str]
    expected: int | None  # how many distinct parts complete the pipeline; None: nothing says
    missing: tuple[str, ...] = ()  # the first MISSING_LISTED missing names known
    missing_count: int = 0  # every missing part, named or not

    @property
    def complete(self) -> bool:
        return bool(self.names) and self.expected is not None and self.missing_count == 0

    def describe(self) -> str:
        """ "2 of 3 parts arrived; missing: test 3/3" (unnamed ones counted: "and 1 more part")."""
        arrived = len(self.names)
        expected = self.expected if self.expected is not None else arrived + self.missing_count
        listed = ", ".join(self.missing)
        rest = self.missing_count - len(self.missing)
        if rest > 0:
            listed += f"{' and ' if listed else ''}{plural(rest, 'more part' if listed else 'part')}"
        return f"{arrived:,} of {plural(expected, 'part')} arrived; missing: {listed}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Gathered:
    """What a pipeline-final decides on: the merged parts as report inputs, and every attempt of each part."""

    inputs: list[ReportInput]
    record: PipelineRecord
    notes: tuple[str, ...] = ()


def arrival(names: frozenset[str], expected: int | None) -> Arrival:
    """Which parts are still missing, given the names there and the count expected (if any).

    Each `NAME i/N` name there expects `NAME 1/N` … `NAME N/N`; `expected`, when given, is the least
    number of distinct parts.  Pure, so the rule is tested without a store or a clock."""
    series: dict[str, int] = {}
    for name in names:
        found = SERIES.match(name)
        if found and int(found["index"]) <= int(found["total"]) <= MAX_SERIES:
            series[found["base"]] = max(series.get(found["base"], 0), int(found["total"]))
    missing: list[str] = []
    named_missing = 0
    for base in sorted(series):
        for index in range(1, series[base] + 1):
            name = f"{base} {index}/{series[base]}"
            if name not in names:
                named_missing += 1
                if len(missing) < MISSING_LISTED:
                    missing.append(name)
    known = len(names) + named_missing  # the parts the names themselves call for
    if expected is None:
        return Arrival(
            names=names, expected=known if series else None, missing=tuple(missing), missing_count=named_missing
        )
    unnamed = max(expected - known, 0)
    return Arrival(
        names=names, expected=max(expected, known), missing=tuple(missing), missing_count=named_missing + unnamed
    )


def part_name(name: str, context: Context, environ: Mapping[str, str] | None = None) -> str:
    """`--part NAME` as recorded: in a GitLab `parallel:` job, NAME plus its index (`test 2/3`), unless
    NAME already ends so (`--part "$CI_JOB_NAME"` does).

    A CI_NODE_INDEX that is not 1 … CI_NODE_TOTAL (0, past the total, not a number) is a usage error: the
    part recorded under the plain NAME would be one no series expects, and the final job would wait for
    the one it stands for."""
    env = os.environ if environ is None else environ
    index, total = env.get("CI_NODE_INDEX"), env.get("CI_NODE_TOTAL")
    if context.ci != "gitlab" or SERIES.match(name) or not index:  # unset (or empty): no parallel job
        return name
    if not (
        _COUNT.fullmatch(index) and total is not None and _COUNT.fullmatch(total) and 1 <= int(index) <= int(total)
    ):
        said = ", ".join(
            f"{key}={value[:40]!r}"
            for key, value in (("CI_NODE_INDEX", index), ("CI_NODE_TOTAL", total))
            if value is not None
        )
        raise UsageError(
            f"--part {name[:80]!r}: GitLab's {said} is no parallel job's index: CI_NODE_INDEX must be 1 … "
            "CI_NODE_TOTAL (or name the part NAME i/N yourself)"
        )
    return f"{name} {int(index)}/{int(total)}" if int(total) > 1 else name


def expected_parts(given: int | None, context: Context, environ: Mapping[str, str] | None = None) -> int | None:
    """`--expect-parts N`, else GitLab's CI_NODE_TOTAL where the final job itself runs in parallel."""
    if given is not None:
        return given
    total = (os.environ if environ is None else environ).get("CI_NODE_TOTAL", "")
    return int(total) if context.ci == "gitlab" and _COUNT.fullmatch(total) and int(total) > 1 else None


def pipeline_of(context: Context, what: str) -> tuple[str, str]:
    """The project and pipeline a part belongs to: both needed, so parts of two pipelines never mix."""
    from gatekeeper.store.parts import part_key_problem

    if not context.pipeline:
        raise UsageError(f"{what} needs the pipeline id: none detected from the CI environment; give --pipeline ID")
    if not context.project:
        raise UsageError(f"{what} needs the project: none detected from the CI environment; give --project NAME")
    for option, value in (("--project", context.project), ("--pipeline", context.pipeline)):
        problem = part_key_problem(option.removeprefix("--"), value)
        if problem is not None:
            raise UsageError(f"{option} {value[:80]!a}: {problem}")
    return context.project, context.pipeline


@contextmanager
def open_part_store(
    upload: str | None, store: str | None, timeout: float, what: str
) -> Iterator[tuple[PartStore, str]]:
    """The store server (`upload`, --upload) or else the embedded store, and how to name it in a message;
    neither is a usage error saying what (`what`) needs one."""
    if upload:
        from gatekeeper.store.remote_parts import RemotePartStore

        with RemotePartStore(upload, timeout=timeout) as remote:
            yield remote, f"the store server {remote.base}"
        return
    if store is None:
        raise UsageError(f"{what}: drop --no-store, or give --upload URL")
    from gatekeeper.store.sqlite import SqliteStore

    with SqliteStore(store) as embedded:
        yield embedded, f"the store {store}"


def gather(
    context: Context,
    *,
    upload: str | None,
    store: str | None,
    timeout: float,
    expect_parts: int | None,
    wait: float,
    log: TextIO,
) -> Gathered:
    """Wait until every expected part of the context's pipeline is in the store (or `wait` seconds have
    passed), then merge them; progress and warnings go to `log`.

    Raises PartsMissing (exit 2) naming what is missing, PartUnreadable (an InputError) on a part that does
    not decode and StoreError on a store that cannot be read: the caller records each as an undecided
    verdict (the first two with the parts that arrived)."""
    from gatekeeper.parts import merge_parts, summarise_parts

    project, pipeline = pipeline_of(context, "--pipeline-final")
    expected = expected_parts(expect_parts, context)
    with open_part_store(upload, store, timeout, "--pipeline-final reads a store") as (parts_store, where):
        stored, seen = _wait(parts_store, where, project, pipeline, expected, wait, log)
    try:
        merged = merge_parts(stored)  # the arrived parts' counts, for the verdict, even when some are missing
    except InputError as error:  # a part that does not decode: the verdict still lists what arrived
        listed = tuple(_record(summary) for summary in summarise_parts(stored))
        raise PartUnreadable(error, PartsMissing(seen, listed, expected).record) from None
    parts = tuple(_record(summary) for summary in merged.parts)
    if not seen.complete:
        raise PartsMissing(seen, parts, expected)
    if expected is not None and len(seen.names) > expected:
        print(
            f"gatekeeper: warning: {plural(len(seen.names), 'part')} arrived, {expected:,} expected: "
            "all are merged (is --expect-parts right?)",
            file=log,
        )
    return Gathered(
        inputs=list(merged.inputs),
        record=PipelineRecord(expected=seen.expected, parts=parts),
        notes=tuple(merged.notes),
    )


class PartsMissing(GatekeeperError):
    """Parts that had not arrived when the pipeline-final stopped waiting: the gate cannot decide (exit 2),
    and `record` says which, for the error verdict."""

    status = ExitStatus.UNDECIDED

    def __init__(self, seen: Arrival, parts: tuple[PartRecord, ...], expected: int | None) -> None:
        if not seen.names:
            problem = "no part of this pipeline arrived"
            if seen.expected is not None or expected is not None:
                problem += f" (of {plural(seen.expected or expected or 0, 'part')} expected)"
            problem += ": record them with `check --part NAME` in the pipeline's jobs, before this one"
        elif seen.expected is None:
            problem = (
                f"{plural(len(seen.names), 'part')} arrived, and nothing says how many to expect: give "
                "--expect-parts N (or name the parts NAME i/N)"
            )
        else:
            problem = seen.describe()
        super().__init__(problem)
        missing = seen.missing
        rest = seen.missing_count - len(missing)
        if rest > 0:  # unnamed (or past MISSING_LISTED): counted in one entry
            missing = (*missing, plural(rest, "more part" if missing else "part"))
        self.record = PipelineRecord(
            expected=seen.expected if seen.expected is not None else expected, missing=missing, parts=parts
        )


class PartUnreadable(InputError):
    """A stored part that does not decode: the gate cannot decide (exit 2); `record` lists the parts that
    arrived (the unreadable ones marked) and what is expected and missing, for the error verdict."""

    def __init__(self, error: InputError, record: PipelineRecord) -> None:
        super().__init__(error.path, error.problem)
        self.record = record


def _wait(
    store: PartStore, where: str, project: str, pipeline: str, expected: int | None, wait: float, log: TextIO
) -> tuple[list[StoredPart], Arrival]:
    """Look at the store until the parts are complete or `wait` seconds have passed (one look at least),
    backing off from FIRST_POLL to LAST_POLL; a line on stderr whenever what is missing changes.  A store
    that cannot be read is tried again while there is time (a server restarting), then its error raised."""
    deadline = time.monotonic() + wait
    pause = FIRST_POLL
    said = ""
    while True:
        try:
            stored = store.list_parts(project, pipeline)
        except StoreRefused:  # a refused token or scope stays refused: waiting cannot change it
            raise
        except GatekeeperError as error:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            state = f"cannot read it: {one_line(error)}"
            if state != said:
                print(f"gatekeeper: warning: {where}: {state}; trying again for {left:,.0f} s", file=log)
                said = state
            time.sleep(min(pause, left))
            pause = min(pause * 2, LAST_POLL)
            continue
        seen = arrival(frozenset(part.name for part in stored), expected)
        left = deadline - time.monotonic()
        if seen.complete or left <= 0:
            return stored, seen
        if seen.names and seen.expected is None:  # nothing will ever say how many: waiting is no use
            return stored, seen
        state = seen.describe() if seen.names else "no part yet"
        if state != said:
            print(
                f"gatekeeper: waiting for the parts of pipeline {pipeline!a} in {where} ({state}); "
                f"up to {left:,.0f} s more",
                file=log,
            )
            said = state
        time.sleep(min(pause, left))
        pause = min(pause * 2, LAST_POLL)


def _record(summary: PartSummary) -> PartRecord:
    """A stored attempt as the verdict lists it (`replaced`: a later attempt of its name counts instead)."""
    return PartRecord(
        name=summary.name,
        sha256=summary.sha256,
        bytes=summary.size,
        received_at=summary.received_at,
        replaced=summary.replaced,
        tests=summary.tests,
        files=summary.files,
        findings=summary.findings,
        unreadable=summary.unreadable,
    )
