"""Delivery to the store server with the spool as its fallback: what `gatekeeper upload` and
`gatekeeper check --upload` share.

The spool is flushed first, oldest first, so nothing newer overtakes an older undelivered verdict; then
each new verdict is sent, and only one that was not delivered is written to the spool (or, refused for
good, to its rejected/ folder).  So delivery never needs a writable spool: a read-only or full disk
costs only the fallback, with a warning.  Exactly-once storage is the server's idempotent PUT.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

from gatekeeper.errors import GatekeeperError, UsageError, one_line
from gatekeeper.sinks.spool import FlushReport, Spool, SpoolError
from gatekeeper.sinks.upload import DeliveryResult, Outcome, deliver, verdict_id_of
from gatekeeper.store.http import TOKEN_ENV, URL_ENV, check_url, is_loopback, new_session


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


def deliver_checked(verdict: dict[str, Any], url: str, spool_dir: str | None, timeout: float, err: TextIO) -> bool:
    """The upload step of `check --upload`: never raises, reports a failure as one line on stderr."""
    try:
        base = store_url(url)
        spool = Spool(spool_dir)
        sent = deliver_all([verdict], base, token(err, base), spool, timeout)
    except GatekeeperError as error:
        err.write(f"gatekeeper: warning: verdict not uploaded: {one_line(error)}\n")
        return False
    if sent.spool_problem is not None:
        err.write(f"gatekeeper: warning: {sent.spool_problem}\n")
    verdict_id = verdict_id_of(verdict)
    for earlier in sent.earlier.results:  # one line for each older verdict that is still not stored
        if earlier.verdict_id != verdict_id and not earlier.delivered:
            line = result_line(earlier, spool, sent.earlier.problems.get(earlier.verdict_id))
            err.write(f"gatekeeper: warning: earlier spooled verdict {line}\n")
    result = sent.outcomes[verdict_id]
    if not result.delivered:
        err.write(
            f"gatekeeper: warning: verdict not uploaded: {result_line(result, spool, sent.problems.get(verdict_id))}\n"
        )
    else:  # one line, on stderr: standard output is the rendered verdict (JSON for a script, perhaps)
        err.write(f"gatekeeper: {result_line(result, spool)} on {base}\n")
    return result.delivered


def result_line(result: DeliveryResult, spool: Spool, problem: str | None = None) -> str:
    """One line on one verdict: what happened, the server's reason, and where it is kept (or why not)."""
    if result.delivered:  # 200: the server had it already (an idempotent re-upload); 201: stored now
        done = "already stored" if result.status_code == 200 else "delivered"
        return f"{done} {result.verdict_id}" + (f"; {problem}" if problem else "")
    if result.final:
        return f"{result.outcome.value} {result.describe()}; {problem or f'kept in {spool.rejected_directory}'}"
    if problem:
        return f"not delivered {result.describe()}; {problem}"
    return f"spooled {result.describe()}; kept in {spool.directory} for the next upload or `gatekeeper spool flush`"
