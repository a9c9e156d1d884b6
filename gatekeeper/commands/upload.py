"""`gatekeeper upload`, `gatekeeper spool flush|list`, and the upload step of `gatekeeper check --upload`.

Every verdict to deliver is written to the spool *first* and then the spool is flushed, oldest first.
So a run killed mid-upload loses nothing, older spooled verdicts are delivered before newer ones, and
the one code path (flush) does all delivering.  Exactly-once storage is the server's idempotent PUT.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, TextIO
from urllib.parse import urlsplit

from gatekeeper.errors import GatekeeperError, InputError, UsageError
from gatekeeper.spool import FlushReport, Spool, flush, safe_name
from gatekeeper.status import ExitStatus
from gatekeeper.upload import TOKEN_ENV, URL_ENV, DeliveryResult, Outcome, check_url, is_loopback, verdict_id_of

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
    try:
        verdict = json.loads(text)
    except ValueError as error:
        raise InputError(path, f"not JSON: {error}") from None
    try:
        verdict_id_of(verdict)
    except UsageError as error:
        raise InputError(path, str(error)) from None
    return dict(verdict)


def deliver_all(
    verdicts: Sequence[dict[str, Any]], url: str, token_value: str | None, spool: Spool, timeout: float
) -> tuple[FlushReport, dict[str, DeliveryResult]]:
    """Spool the verdicts, flush the whole spool; what became of each given verdict, by id."""
    for verdict in verdicts:
        spool.add(verdict)
    report = flush(url, token_value, directory=spool.directory, timeout=timeout)
    by_id = {result.verdict_id: result for result in report.results}
    waiting = {entry.verdict_id for entry in spool.entries()}
    outcomes: dict[str, DeliveryResult] = {}
    for verdict in verdicts:
        verdict_id = verdict_id_of(verdict)
        result = by_id.get(verdict_id)
        if result is None:
            if safe_name(verdict_id) in waiting:
                result = DeliveryResult(
                    verdict_id,
                    Outcome.UNDELIVERED,
                    None,
                    0,
                    f"waiting behind older spooled verdicts ({report.stopped or 'locked'})",
                )
            else:  # a concurrent flush took it from the spool: it was delivered (or rejected) there
                result = DeliveryResult(verdict_id, Outcome.DELIVERED, None, 0, "delivered by a concurrent flush")
        outcomes[verdict_id] = result
    return report, outcomes


def upload(
    paths: Sequence[str], url: str | None, spool_dir: str | None, timeout: float, out: TextIO, err: TextIO
) -> ExitStatus:
    """`gatekeeper upload`: 0 if everything was delivered, 4 if anything was spooled or rejected."""
    base = store_url(url)
    verdicts = [read_verdict(path) for path in paths]  # all readable before anything is sent
    spool = Spool(spool_dir)
    report, outcomes = deliver_all(verdicts, base, token(err, base), spool, timeout)
    given = set(outcomes)
    earlier = [r for r in report.results if r.verdict_id not in given]
    _summarise_earlier(earlier, out)
    for result in outcomes.values():
        out.write(_line(result, spool) + "\n")
    failed = any(not r.delivered for r in outcomes.values()) or any(not r.delivered for r in earlier)
    return ExitStatus.UPLOAD_FAILED if failed else ExitStatus.PASS


def spool_flush(url: str | None, spool_dir: str | None, timeout: float, out: TextIO, err: TextIO) -> ExitStatus:
    """`gatekeeper spool flush`: 0 if the spool is empty afterwards (of what could be delivered), else 4."""
    base = store_url(url)
    spool = Spool(spool_dir)
    report = flush(base, token(err, base), directory=spool.directory, timeout=timeout)
    for result in report.results:
        out.write(_line(result, spool) + "\n")
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
            out.write(f"  {item['id']}  {item['outcome']} HTTP {item['status_code']}: {item['detail']}\n")
    return ExitStatus.PASS


def deliver_checked(verdict: dict[str, Any], url: str, spool_dir: str | None, timeout: float, err: TextIO) -> bool:
    """The upload step of `check --upload`: never raises, reports a failure as one line on stderr."""
    try:
        base = store_url(url)
        spool = Spool(spool_dir)
        report, outcomes = deliver_all([verdict], base, token(err, base), spool, timeout)
    except GatekeeperError as error:
        err.write(f"gatekeeper: warning: verdict not uploaded: {' '.join(str(error).split())}\n")
        return False
    result = outcomes[verdict_id_of(verdict)]
    earlier_failed = [r for r in report.failed if r.verdict_id != result.verdict_id]
    if not result.delivered:
        err.write(f"gatekeeper: warning: verdict not uploaded: {_line(result, spool)}\n")
    elif earlier_failed:
        err.write(
            f"gatekeeper: warning: {len(earlier_failed)} earlier spooled verdict(s) not delivered: "
            f"{_line(earlier_failed[0], spool)}\n"
        )
    return result.delivered


def _summarise_earlier(results: list[DeliveryResult], out: TextIO) -> None:
    delivered = sum(r.delivered for r in results)
    if delivered:
        out.write(f"delivered {delivered} earlier spooled verdict(s)\n")
    for result in results:
        if not result.delivered:
            out.write(f"earlier spooled {result.describe()}\n")


def _line(result: DeliveryResult, spool: Spool) -> str:
    if result.delivered:
        return f"delivered {result.verdict_id}"
    if result.final:
        return f"rejected {result.describe()}; kept in {spool.rejected_directory}"
    return f"spooled {result.describe()}; kept in {spool.directory} for the next upload or `gatekeeper spool flush`"


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
