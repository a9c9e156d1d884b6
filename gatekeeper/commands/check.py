"""`gatekeeper check`: read the reports, apply the policy, decide, record, and exit with a code CI understands."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gatekeeper.context import COMMIT_OPTION, Context, detect_context, detect_diff_base, pipeline_seconds
from gatekeeper.diff.load import ChangeRequest, load_change, repository_paths
from gatekeeper.engine import Decision, decide
from gatekeeper.errors import GatekeeperError, InputError, StoreError, UsageError, one_line
from gatekeeper.model import ReportInput, case_id
from gatekeeper.outputs import renderer_for
from gatekeeper.packs import model_levels
from gatekeeper.parsers import iter_reports, merge
from gatekeeper.policy import Policy, load_policy
from gatekeeper.status import ExitStatus
from gatekeeper.trace import LAST_VERDICTS, Trace
from gatekeeper.verdict import LIST_LIMIT, Verdict, build, build_error, new_id
from gatekeeper.words import plural, short_commit

if TYPE_CHECKING:
    from gatekeeper.change import Change
    from gatekeeper.engine import Baseline
    from gatekeeper.flaky import FlakyHistory
    from gatekeeper.store.pipeline import Gathered


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOptions:
    policy: str
    reports: Sequence[str] = ()
    output_format: str = "text"
    outputs: Sequence[tuple[str, str]] = ()  # (format, path)
    warn_exit_code: int | None = None
    overrides: dict[str, str | None] | None = None
    store: str | None = None  # None: do not record
    today: date | None = None
    baseline: str | None = None  # a verdict file; else the store's latest on the policy's reference branch
    color: bool = False
    upload: str | None = None  # store server base URL: flush the spool, then upload this verdict
    push: str | None = None  # Pushgateway base URL
    require_upload: bool = False  # a failed upload or push exits 4 (unless the gate itself exits 1 or 2)
    upload_timeout: float = 60.0  # seconds for the whole delivery, retries included
    spool: str | None = None  # None: $GATEKEEPER_SPOOL or .gatekeeper/spool
    undecided: InputError | None = None  # found before the reports (a scanner crashed): an error verdict
    #: The change to judge: --diff-base or --diff-file, else the merge request's base the CI names.
    change: ChangeRequest = field(default_factory=ChangeRequest)
    #: Decide on every part of the pipeline (gatekeeper.store.pipeline), waiting up to `wait_seconds` for
    #: `expect_parts` of them, instead of reading reports (`check --part` records them: commands.pipeline).
    pipeline_final: bool = False
    expect_parts: int | None = None
    wait_seconds: float = 300.0


_NO_PROJECT = (
    "gatekeeper: warning: the verdict names no project (no CI project detected): "
    "give `check --project NAME` so the store, baselines and releases can find it"
)


def run(options: CheckOptions, out: TextIO) -> ExitStatus:
    started = time.monotonic()
    policy = load_policy(options.policy)
    context = _full_commit(detect_context().with_overrides(**(options.overrides or {})))
    for note in context.notes:
        print(f"gatekeeper: warning: {note}", file=sys.stderr)
    loaded = load_change(options.change, detect_diff_base(), Path.cwd())  # before the reports: a bad base is exit 2
    for note in loaded.warnings:
        print(f"gatekeeper: warning: {note}", file=sys.stderr)
    gathered = _gathered(options, policy, context, started, out) if options.pipeline_final else None
    arguments = [] if gathered is not None else list(options.reports) or list(policy.reports)
    if gathered is None and not arguments and options.undecided is None:
        raise UsageError("no reports to read: name them on the command line or under `reports:` in the policy")
    inputs: list[ReportInput] = [] if gathered is None else gathered.inputs
    try:
        for report in iter_reports(arguments):
            inputs.append(report)
        if options.undecided is not None:
            raise options.undecided  # recorded like a bad report, with the reports that were read
    except InputError as error:
        verdict = build_error(
            problem=str(error), policy=policy, context=context, inputs=inputs, duration_ms=_since(started)
        )
        _deliver(verdict, options, out)
        raise
    now = datetime.now(timezone.utc)
    left_out: list[str] = []  # a start time no pipeline has (57 years ago): no metric, said once
    seconds = pipeline_seconds(context, now, left_out)
    for note in left_out:
        print(f"gatekeeper: warning: {note}", file=sys.stderr)
    trace = _trace(options, policy, context, loaded.change)
    if loaded.change is not None:  # the one call site: report paths become repository paths the change names
        from gatekeeper.diff.paths import align_inputs  # (imported only to judge a change: issue 16)

        inputs = align_inputs(inputs, repository_paths(loaded.change, Path.cwd()))
    outcome = decide(
        merge(inputs),
        policy,
        context,
        options.today or now.date(),
        baseline=_baseline(options, policy, context, judging_change=loaded.change is not None),
        observed={**trace.metrics(), **({} if seconds is None else {"pipeline.duration_seconds": seconds})},
        levels=model_levels(policy.model),
        change=loaded.change,
    )
    verdict_id = new_id()
    verdict = build(
        outcome=outcome,
        policy=policy,
        context=context,
        inputs=inputs,
        duration_ms=_since(started),
        verdict_id=verdict_id,
        histories=_flaky_histories(options, policy, context, inputs, verdict_id, options.today or now.date()),
        trace=trace,
        pipeline=None if gathered is None else gathered.record,
    )
    if not context.project:  # stored, it is a verdict of no project: no trend, baseline or release finds it
        print(_NO_PROJECT, file=sys.stderr)  # (once decided: a bad input is the one thing to say before)
    delivered = _deliver(verdict, options, out)
    status = exit_status(outcome.status, options.warn_exit_code)
    if options.require_upload and not delivered and status not in (ExitStatus.GATE_FAILED, ExitStatus.UNDECIDED):
        # 4 replaces a pass (or warn code), never a gate failure: "fix your code" outranks "the upload failed",
        # and a CI script that retries on 4 (infrastructure) must not retry a real gate failure.
        print("gatekeeper: error: the verdict could not be delivered and --require-upload was given", file=sys.stderr)
        return ExitStatus.UPLOAD_FAILED
    return status


def _gathered(options: CheckOptions, policy: Policy, context: Context, started: float, out: TextIO) -> Gathered:
    """The pipeline's parts, merged (--pipeline-final); parts missing or unreadable (or a store that cannot
    be read) are recorded as an undecided verdict naming them, then raised (exit 2): never a pass on partial
    data."""
    from gatekeeper.store.pipeline import PartsMissing, PartUnreadable, gather

    if options.reports:
        raise UsageError(
            "--pipeline-final decides on the pipeline's parts, not on reports: record those with `check --part NAME`"
        )
    try:
        gathered = gather(
            context,
            upload=options.upload,
            store=options.store,
            timeout=options.upload_timeout,
            expect_parts=options.expect_parts,
            wait=options.wait_seconds,
            log=sys.stderr,
        )
    except (PartsMissing, InputError, StoreError) as error:  # the parts, bad or not there: no decision
        record = error.record if isinstance(error, PartsMissing | PartUnreadable) else None
        verdict = build_error(
            problem=str(error), policy=policy, context=context, inputs=[], duration_ms=_since(started), pipeline=record
        )
        _deliver(verdict, options, out)
        raise
    for note in gathered.notes:
        print(f"gatekeeper: warning: {note}", file=sys.stderr)
    return gathered


def _trace(options: CheckOptions, policy: Policy, context: Context, change: Change | None) -> Trace:
    """The requirement keys of the change (gatekeeper.trace): its commits — the judged change's, else those
    since the branch's last verdict in the store, else HEAD's — and its branch name and merge request title."""
    from gatekeeper.context import detect_change_title
    from gatekeeper.trace import DEFAULT_KEY_PATTERN, source_keys, trace_change

    pattern = policy.trace_key_pattern or DEFAULT_KEY_PATTERN
    title, notes = detect_change_title()
    sources = source_keys(branch=context.branch, title=None if title is None else title.title, pattern=pattern)
    if change is not None and change.base is not None and change.head is not None:
        trace = trace_change(Path.cwd(), pattern=pattern, base=change.base, head=change.head, sources=sources)
    else:
        since = _checked_commits(options, context)
        # The commit --commit named reads as itself; the CI's (or the work tree's) is HEAD, as it reads in the job.
        label = short_commit(context.commit) if context.commit and context.commit_from == COMMIT_OPTION else "HEAD"
        trace = trace_change(Path.cwd(), pattern=pattern, since=since, sources=sources, at=context.commit, label=label)
    if any(metric.startswith("trace.") for gate in policy.gates for metric in gate.condition.metrics()):
        for note in (*notes, *trace.notes):  # only where a gate judges the trace: elsewhere it is noise
            print(f"gatekeeper: warning: {note}", file=sys.stderr)
    return trace


def _full_commit(context: Context) -> Context:
    """The verdict's commit as the clone names it in full (`--commit abc1234`, `HEAD`, a tag): deployments
    record full ids and "a passing verdict at exactly that commit" joins on them.  Unchanged when it is a
    full id already (no git run); kept as given outside a clone or when the clone has no such commit, if it
    is a commit id (7 to 64 hex digits, as `deploy record` takes one), else a usage error naming where it
    came from (`--commit` or the CI's variable): the verdict records a commit id, never other text.  Named by
    neither the CI nor --commit, it is the work tree's HEAD, as `deploy record` takes it (else a gate that
    passed looks like none)."""
    from gatekeeper.diff.git import GitFailed, checked_out_commit, commit_in_clone, is_commit_id

    if not context.commit:
        head = checked_out_commit(Path.cwd())
        return context if head is None else replace(context, commit=head)
    if is_commit_id(context.commit):
        return context
    source = context.commit_from or "the CI's commit"
    try:
        full = commit_in_clone(Path.cwd(), context.commit, source)
    except (GitFailed, GatekeeperError):
        full = None
    if full is not None:
        return replace(context, commit=full)
    from gatekeeper.delivery import is_commit, not_a_commit

    if not is_commit(context.commit):
        raise UsageError(not_a_commit(context.commit, source))
    return replace(context, commit=context.commit.lower())


def _checked_commits(options: CheckOptions, context: Context) -> list[str]:
    """The commits of the branch's newest verdicts in the embedded store, newest first: the commits since
    the last of them are the ones to trace.  None without a store, a project or a branch."""
    if options.store is None or not context.project or not context.branch or not _store_exists(options.store):
        return []
    from gatekeeper.store.sqlite import SqliteStore

    try:
        with SqliteStore(options.store, create=False) as store:
            found = store.list(project=context.project, branch=context.branch, limit=2 * LAST_VERDICTS)
    except GatekeeperError as error:
        print(f"gatekeeper: warning: commits since the last verdict not found: {one_line(error)}", file=sys.stderr)
        return []
    return [summary.commit for summary in found if summary.commit]


def _baseline(options: CheckOptions, policy: Policy, context: Context, *, judging_change: bool) -> Baseline | None:
    """Ratchets need one (the policy's, or its model's level packs'), and so does a change, whose new findings
    and failures are those the baseline did not have; an unreadable store leaves none."""
    if options.baseline is not None:
        from gatekeeper.baseline import from_file  # (imported only where a baseline is read: issue 16)

        return from_file(options.baseline)
    policies = (policy, *model_levels(policy.model))
    if options.store is None or not (judging_change or any(p.has_ratchets for p in policies)):
        return None
    from gatekeeper.baseline import from_store

    try:
        return from_store(options.store, context.project, policy.baseline_branch)
    except GatekeeperError as error:
        print(f"gatekeeper: warning: no baseline: {error}", file=sys.stderr)
        return None


def _flaky_histories(
    options: CheckOptions, policy: Policy, context: Context, inputs: list[ReportInput], verdict_id: str, today: date
) -> dict[str, FlakyHistory] | None:
    """The store's flaky record (gatekeeper.flaky) of the tests this run lists, this run the newest of the
    window: from the store server when the verdict goes to one (--upload: every runner's history), else
    from the embedded store; None without either, a project or a listed test.  An unreadable store
    leaves none."""
    notable = [case for report in inputs if report.evidence.tests for case in report.evidence.tests.notable]
    local = options.store is not None and _store_exists(options.store)
    if not (options.upload or local) or not context.project or not notable:
        return None
    from gatekeeper import flaky  # (imported only where there is a history to read: issue 16)

    since = (today - timedelta(days=policy.flaky_window_days)).isoformat()
    try:
        if options.upload:
            from gatekeeper.store.remote import RemoteStore

            with RemoteStore(options.upload, timeout=options.upload_timeout) as remote:
                runs = remote.test_runs(context.project, context.job, since)
        else:
            from gatekeeper.store.sqlite import SqliteStore

            with SqliteStore(str(options.store), create=False) as store:
                runs = store.test_runs(context.project, context.job, since)
    except GatekeeperError as error:
        print(f"gatekeeper: warning: no flaky history: {one_line(error)}", file=sys.stderr)
        return None
    # Only the listed tests carry their record (verdict.build lists the first LIST_LIMIT at most, in this
    # order): not a record per failing test on a broken build (17,875 of them: ~55 ms), nor this run's
    # outcome of every one of them.
    listed = [case_id(case.classname, case.name) for case in notable[:LIST_LIMIT]]
    current = flaky.run_of(verdict_id, context.commit, notable, complete=True, tests=listed)
    return flaky.history(
        [*runs, current], window_days=policy.flaky_window_days, clear_after=policy.flaky_clear_after, tests=listed
    )


def _store_exists(store: str) -> bool:
    """Whether the embedded store is there to read; a path the OS refuses to look at reads as absent here,
    and recording the verdict then says why in its warning (a store never changes the decision)."""
    try:
        return Path(store).exists()
    except (OSError, ValueError):
        return False


def exit_status(decision: Decision, warn_exit_code: int | None) -> ExitStatus:
    if decision is Decision.FAIL:
        return ExitStatus.GATE_FAILED
    if decision is Decision.ERROR:
        return ExitStatus.UNDECIDED
    if decision is Decision.WARN and warn_exit_code is not None:
        return warn_exit_code  # type: ignore[return-value]  # the user's own code, by request
    return ExitStatus.PASS


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _deliver(verdict: Verdict, options: CheckOptions, out: TextIO) -> bool:
    """Record the verdict and write every requested output; a store problem never changes the decision.

    Returns whether every requested remote sink (--upload, --push) got the verdict; only
    --require-upload turns a False into an exit code.
    """
    document = verdict.to_json()  # the JSON edge: the store and the upload take the document
    if options.store is not None:
        _record(document, options.store)
    out.write(renderer_for(options.output_format)(verdict, color=options.color))
    for output_format, path in options.outputs:
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(renderer_for(output_format)(verdict), encoding="utf-8")
        except OSError as error:
            raise UsageError(f"{path}: cannot write the {output_format} output: {error.strerror}") from None
    out.flush()
    delivered = True
    if options.upload:
        from gatekeeper.sinks.delivery import deliver_checked

        delivered = deliver_checked(document, options.upload, options.spool, options.upload_timeout, sys.stderr)
    if options.push:
        delivered = _push(verdict, options.push, options.upload_timeout) and delivered
    return delivered


def _push(verdict: Verdict, url: str, timeout: float) -> bool:
    """Push to the Pushgateway; a failure is one line on stderr, never spooled (it keeps only the latest)."""
    from gatekeeper.sinks.push import push

    try:
        result = push(verdict, url, timeout=timeout)
    except GatekeeperError as error:
        print(f"gatekeeper: warning: metrics not pushed: {one_line(error)}", file=sys.stderr)
        return False
    if not result.ok:
        code = f"HTTP {result.status_code}" if result.status_code is not None else "no response"
        tried = plural(result.attempts, "attempt")
        print(f"gatekeeper: warning: metrics not pushed to {url} ({code}, {tried}): {result.detail}", file=sys.stderr)
    return result.ok


def _record(verdict: dict[str, Any], store_path: str) -> None:
    from gatekeeper.store.sqlite import SqliteStore

    try:
        with SqliteStore(store_path) as store:
            store.add(verdict)
    except GatekeeperError as error:
        print(f"gatekeeper: warning: verdict not recorded: {error}", file=sys.stderr)
