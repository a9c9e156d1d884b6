"""`gatekeeper check --part NAME`: record a job's reports as one part of its pipeline; decide nothing.

The parts meet in the embedded store or on the store server (--upload); `check --pipeline-final` waits for
them and decides once (gatekeeper.store.pipeline).  A part is the reports' evidence compactly encoded
(gatekeeper.parts), a fraction of their size.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from gatekeeper.context import detect_context
from gatekeeper.errors import GatekeeperError, InputError, StoreError, UsageError, one_line
from gatekeeper.model import ReportInput
from gatekeeper.parsers import iter_reports
from gatekeeper.policy import load_policy
from gatekeeper.status import ExitStatus
from gatekeeper.words import plural

#: A name ending as one of a series does (`test 2/3`), whatever its numbers.
_SERIES_LIKE = re.compile(r" ([0-9]+)/([0-9]+)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class PartOptions:
    part: str  # as given; in a GitLab `parallel:` job the index is added (`test 2/3`)
    policy: str  # its `reports:` when none are given
    reports: Sequence[str] = ()
    overrides: Mapping[str, str | None] | None = None  # --project, --pipeline …, over the CI's
    store: str | None = None  # the embedded store; None: --no-store
    upload: str | None = None  # the store server, which then takes the part instead
    upload_timeout: float = 60.0
    undecided: InputError | None = None  # found before the reports (`scan`'s crashed scanner)


def record(options: PartOptions, out: TextIO) -> ExitStatus:
    """Read the reports, record them as one part of the pipeline, say what was recorded.

    Exit 0 once recorded (or when the same part already was), 2 on a bad report, policy or name (nothing
    recorded), 4 when the store cannot take it: the pipeline-final would otherwise wait for a part that
    never comes."""
    from hashlib import sha256

    from gatekeeper.parts import encode_part, part_from_inputs
    from gatekeeper.store.parts import part_key_problem
    from gatekeeper.store.pipeline import MAX_SERIES, open_part_store, part_name, pipeline_of

    policy = load_policy(options.policy)
    context = detect_context().with_overrides(**(options.overrides or {}))
    for note in context.notes:
        print(f"gatekeeper: warning: {note}", file=sys.stderr)
    project, pipeline = pipeline_of(context, "--part")
    name = part_name(options.part, context)
    problem = part_key_problem("part name", name)
    if problem is not None:
        raise UsageError(f"--part {name[:80]!a}: {problem}")
    series = _SERIES_LIKE.search(name)
    if series and not (_canonical(series[1], series[2]) and 1 <= int(series[1]) <= int(series[2]) <= MAX_SERIES):
        # `test 4/3`, `test 0/3` or `test 01/3` would be a part of its own, which no series expects: a typo
        raise UsageError(
            f"--part {name!r}: NAME i/N needs 1 <= i <= N <= {MAX_SERIES}, without leading zeros "
            "(the final job waits for NAME 1/N … NAME N/N)"
        )
    arguments = list(options.reports) or list(policy.reports)
    if not arguments and options.undecided is None:
        raise UsageError("no reports to read: name them on the command line or under `reports:` in the policy")
    inputs = list(iter_reports(arguments))
    if options.undecided is not None:
        raise options.undecided
    body = encode_part(part_from_inputs(inputs, project=project, pipeline=pipeline, name=name, context=context))
    where = "the store"
    try:
        with open_part_store(
            options.upload, options.store, options.upload_timeout, "--part records its part in a store"
        ) as (store, where):
            stored = store.put_part(project, pipeline, name, body)
    except UsageError:
        raise
    except GatekeeperError as error:
        said = error.problem if isinstance(error, StoreError) else str(error)  # `where` names the store already
        print(f"gatekeeper: error: part {name!r} not recorded in {where}: {one_line(said)}", file=sys.stderr)
        return ExitStatus.UPLOAD_FAILED
    done = "recorded" if stored else "already recorded (the same part, not stored twice)"
    out.write(
        f"gatekeeper: part {name!r} of pipeline {pipeline!r} ({project}) {done} in {where}: "  # printable, checked
        f"{_counts(inputs)}; {_size(len(body))}, sha256 {sha256(body).hexdigest()[:12]}\n"
    )
    out.flush()
    return ExitStatus.PASS


def _canonical(*numbers: str) -> bool:
    """Numbers as the final job names a series' parts: no leading zeros (`01/3` is not `1/3`)."""
    return all(number == str(int(number)) for number in numbers)


def _counts(inputs: Sequence[ReportInput]) -> str:
    """What the part holds, as the job's log says it: "2 reports, 31 tests, coverage of 12 files, 0 findings"."""
    tests = sum(report.evidence.tests.total for report in inputs if report.evidence.tests)
    files = len({path for report in inputs if report.evidence.coverage for path in report.evidence.coverage.files})
    findings = sum(len(report.evidence.findings) for report in inputs if report.evidence.findings is not None)
    counted = (plural(len(inputs), "report"), plural(tests, "test"), f"coverage of {plural(files, 'file')}")
    return ", ".join((*counted, plural(findings, "finding")))


def _size(size: int) -> str:
    return f"{size:,} bytes" if size < 10 * 1024 else f"{size / 1024:,.1f} KiB"
