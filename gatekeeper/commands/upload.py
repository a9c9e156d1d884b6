"""`gatekeeper upload`, `gatekeeper spool flush|list`, and the upload step of `gatekeeper check --upload`.

The spool is flushed first, oldest first, so nothing newer overtakes an older undelivered verdict; then
each new verdict is sent, and only one that was not delivered is written to the spool (or, refused for
good, to its rejected/ folder).  So delivery never needs a writable spool: a read-only or full disk
costs only the fallback, with a warning.  Exactly-once storage is the server's idempotent PUT.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TextIO
from urllib.parse import urlsplit

from gatekeeper.errors import GatekeeperError, InputError, UsageError
from gatekeeper.sinks.spool import FlushReport, Spool, SpoolError, flush
from gatekeeper.sinks.upload import (
    TOKEN_ENV,
    URL_ENV,
    DeliveryResult,
    Outcome,
    body_of,
    check_url,
    deliver,
    id_problem,
    is_loopback,
    new_session,
    verdict_id_of,
)
from gatekeeper.status import ExitStatus

MAX_VERDICT_BYTES = 16 << 20


def store_url(url: str | None) -> str:
    """The store server's base URL from the option (or its env var, which click already read)."""
    if not url:
        raise UsageError(f"no store server URL: give --url URL or set {URL_ENV}")
    return check_url(url)


def token(err: TextIO, url: str) -> str | None:
    """The bearer token, from the environment only: a flag would show in process lists and CI logs."""
    value = os.environ.get(TOKEN_ENV) or None
    if value is None:
        err.write(f"gatekeeper: warning: {TOKEN_ENV} is not set: uploading without a token\n")
    elif urlsplit(url).scheme == "http" and not is_loopback(url):
        err.write(f"gatekeeper: warning: sending {TOKEN_ENV} over plain http to {urlsplit(url).hostname}; use https\n")
    return value


def read_verdict(path: str) -> dict[str, Any]:
    try:
        if path == "-":
            text = sys.stdin.read(MAX_VERDICT_BYTES + 1)
        else:
            with open(path, encoding="utf-8") as file:
                text = file.read(MAX_VERDICT_BYTES + 1)
    except OSError as error:
        raise InputError(path, f"cannot read it: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text, so not a verdict") from None
    if len(text) > MAX_VERDICT_BYTES:
        raise InputError(path, f"larger than {MAX_VERDICT_BYTES >> 20} MiB, so not a verdict")
    from gatekeeper.parsers import json_depth_problem

    # Before json.loads; stdin may hold surrogate escapes: refused below.
    problem = json_depth_problem(text.encode("utf-8", "surrogatepass"))
    if problem is not None:
        raise InputError(path, f"{problem}, so not a verdict")
    try:
        verdict = json.loads(text)
    except ValueError as error:
        raise InputError(path, f"not JSON: {error}") from None
    try:
        verdict_id = verdict_id_of(verdict)
        body_of(verdict)
    except UsageError as error:
        raise InputError(path, str(error)) from None
    except UnicodeEncodeError as error:
        character = error.object[error.start : error.end].encode("unicode_escape").decode("ascii")
        raise InputError(path, f"holds a lone surrogate {character}, which is not Unicode text") from None
    if not str(verdict.get("schema")).startswith("gatekeeper.verdict/"):
        what = "a rejected verdict's reason" if "rejected_at" in verdict else "no `schema` gatekeeper.verdict/…"
        raise InputError(path, f"not a verdict: {what}")
    problem = id_problem(verdict_id)
    if problem is not None:
        raise InputError(path, problem)
    return dict(verdict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What `deliver_all` did: the spool's older verdicts first, then each given verdict by id."""

    earlier: FlushReport
    outcomes: dict[str, DeliveryResult]
    problems: dict[str, str]  # a given verdict's id -> why it could not be kept (spooled or set aside) either
    spool_problem: str | None = None  # the spool could not be read at all


def deliver_all(
    verdicts: Sequence[dict[str, Any]], url: str, token_value: str | None, spool: Spool, timeout: float
) -> Delivery:
    """Flush the spool, then send each verdict; spool only what was not delivered.

    Once the server stops answering (a flush or a send ends undelivered), the rest is spooled without
    trying, which keeps the order and the time budget.  A spool that cannot be read or written never
    stops a delivery: that is reported, and only costs the fallback."""
    deadline = time.monotonic() + timeout
    session = new_session(url)
    try:

        def send(verdict: dict[str, Any], left: float) -> DeliveryResult:
            return deliver(verdict, url, token_value, timeout=left, session=session)

        spool_problem = None
        try:
            earlier = spool.flush(send, timeout=timeout)
        except SpoolError as error:  # it cannot even be listed: there is nothing older to send first
            earlier, spool_problem = FlushReport(), str(error)
        done = {r.verdict_id: r for r in earlier.results if r.delivered or r.final}
        stopped = earlier.stopped
        outcomes: dict[str, DeliveryResult] = {}
        problems: dict[str, str] = {}
        for verdict in verdicts:
            verdict_id = verdict_id_of(verdict)
            result = done.get(verdict_id)  # it was in the spool, and the flush has dealt with it
            if result is None:
                left = deadline - time.monotonic()
                if stopped is None and left > 0:
                    result = send(verdict, left)
                    if not (result.delivered or result.final):
                        stopped = result.detail
                else:
                    why = f"after an earlier failure: {stopped}" if stopped else "time budget spent"
                    result = DeliveryResult(verdict_id, Outcome.UNDELIVERED, None, 0, why)
                problem = _keep(spool, verdict, result)
                if problem is not None:
                    problems[verdict_id] = problem
            outcomes[verdict_id] = result
    finally:
        session.close()
    return Delivery(earlier, outcomes, problems, spool_problem)


def _keep(spool: Spool, verdict: dict[str, Any], result: DeliveryResult) -> str | None:
    """Spool an undelivered verdict, or set a refused one aside; why that failed, if it did."""
    try:
        if result.final:
            spool.reject(result, verdict)
        elif not result.delivered:
            spool.add(verdict)
    except SpoolError as error:
        return f"{'not set aside' if result.final else 'not spooled'} either: {error}"
    return None


def upload(
    paths: Sequence[str], url: str | None, spool_dir: str | None, timeout: float, out: TextIO, err: TextIO
) -> ExitStatus:
    """`gatekeeper upload`: 0 if everything was delivered, 4 if anything was spooled or rejected."""
    base = store_url(url)
    verdicts = [read_verdict(path) for path in paths]  # all readable before anything is sent
    spool = Spool(spool_dir)
    sent = deliver_all(verdicts, base, token(err, base), spool, timeout)
    if sent.spool_problem is not None:
        err.write(f"gatekeeper: warning: {sent.spool_problem}\n")
    earlier = [r for r in sent.earlier.results if r.verdict_id not in sent.outcomes]
    _summarise_earlier(earlier, sent.earlier, spool, out)
    for verdict_id, result in sent.outcomes.items():
        out.write(_line(result, spool, sent.problems.get(verdict_id)) + "\n")
    failed = any(not r.delivered for r in sent.outcomes.values()) or any(not r.delivered for r in earlier)
    return ExitStatus.UPLOAD_FAILED if failed else ExitStatus.PASS


def spool_flush(url: str | None, spool_dir: str | None, timeout: float, out: TextIO, err: TextIO) -> ExitStatus:
    """`gatekeeper spool flush`: 0 if the spool is empty afterwards (of what could be delivered), else 4."""
    base = store_url(url)
    spool = Spool(spool_dir)
    report = flush(base, token(err, base), directory=spool.directory, timeout=timeout)
    for result in report.results:
        out.write(_line(result, spool, report.problems.get(result.verdict_id)) + "\n")
    delivered = sum(r.delivered for r in report.results)
    out.write(
        f"{delivered} delivered, {len(report.failed)} not delivered, {report.remaining} waiting in {spool.directory}\n"
    )
    return ExitStatus.UPLOAD_FAILED if report.failed else ExitStatus.PASS


def spool_list(spool_dir: str | None, output_format: str, out: TextIO) -> ExitStatus:
    """`gatekeeper spool list`: what waits to be delivered, and what was refused and why."""
    spool = Spool(spool_dir)
    waiting: list[dict[str, Any]] = [
        {"id": e.verdict_id, "spooled_at": _time(e.spooled_ns), "path": str(e.path)} for e in spool.entries()
    ]
    rejected: list[dict[str, Any]] = [
        {
            "id": reason.get("id") or path.stem,
            "outcome": reason.get("outcome"),
            "status_code": reason.get("status_code"),
            "detail": reason.get("detail"),
            "path": str(path),
        }
        for path, reason in spool.rejected()
    ]
    if output_format == "json":
        out.write(json.dumps({"spool": str(spool.directory), "waiting": waiting, "rejected": rejected}, indent=2))
        out.write("\n")
        return ExitStatus.PASS
    out.write(f"{len(waiting)} waiting in {spool.directory}\n")
    for item in waiting:
        out.write(f"  {item['spooled_at']}  {item['id']}\n")
    if rejected:
        out.write(f"{len(rejected)} rejected (in {spool.rejected_directory}; fix, then `gatekeeper upload FILE`)\n")
        for item in rejected:
            code = "not sent" if item["status_code"] is None else f"HTTP {item['status_code']}"
            out.write(f"  {item['id']}  {item['outcome']} ({code}): {item['detail']}\n")
    return ExitStatus.PASS


def deliver_checked(verdict: dict[str, Any], url: str, spool_dir: str | None, timeout: float, err: TextIO) -> bool:
    """The upload step of `check --upload`: never raises, reports a failure as one line on stderr."""
    try:
        base = store_url(url)
        spool = Spool(spool_dir)
        sent = deliver_all([verdict], base, token(err, base), spool, timeout)
    except GatekeeperError as error:
        err.write(f"gatekeeper: warning: verdict not uploaded: {' '.join(str(error).split())}\n")
        return False
    if sent.spool_problem is not None:
        err.write(f"gatekeeper: warning: {sent.spool_problem}\n")
    verdict_id = verdict_id_of(verdict)
    for earlier in sent.earlier.results:  # one line for each older verdict that is still not stored
        if earlier.verdict_id != verdict_id and not earlier.delivered:
            line = _line(earlier, spool, sent.earlier.problems.get(earlier.verdict_id))
            err.write(f"gatekeeper: warning: earlier spooled verdict {line}\n")
    result = sent.outcomes[verdict_id]
    if not result.delivered:
        err.write(f"gatekeeper: warning: verdict not uploaded: {_line(result, spool, sent.problems.get(verdict_id))}\n")
    return result.delivered


def _summarise_earlier(results: list[DeliveryResult], report: FlushReport, spool: Spool, out: TextIO) -> None:
    delivered = sum(r.delivered for r in results)
    if delivered:
        out.write(f"delivered {delivered} earlier spooled verdict(s)\n")
    for result in results:
        if not result.delivered:
            out.write(f"earlier spooled {_line(result, spool, report.problems.get(result.verdict_id))}\n")


def _line(result: DeliveryResult, spool: Spool, problem: str | None = None) -> str:
    """One line on one verdict: what happened, the server's reason, and where it is kept (or why not)."""
    if result.delivered:
        return f"delivered {result.verdict_id}" + (f"; {problem}" if problem else "")
    if result.final:
        return f"{result.outcome.value} {result.describe()}; {problem or f'kept in {spool.rejected_directory}'}"
    if problem:
        return f"not delivered {result.describe()}; {problem}"
    return f"spooled {result.describe()}; kept in {spool.directory} for the next upload or `gatekeeper spool flush`"


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
