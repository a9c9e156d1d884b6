"""`gatekeeper upload` and `gatekeeper spool flush|list`: verdict files in, one line per verdict out.

How delivery goes (spool first, then each verdict, the spool as fallback) is `gatekeeper.sinks.delivery`,
which `gatekeeper check --upload` uses as well.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, TextIO

from gatekeeper.errors import InputError, UsageError
from gatekeeper.sinks.delivery import deliver_all, result_line, store_url, token
from gatekeeper.sinks.spool import FlushReport, Spool, flush
from gatekeeper.sinks.upload import DeliveryResult, body_of, verdict_id_of, verdict_problem
from gatekeeper.status import ExitStatus
from gatekeeper.words import plural

MAX_VERDICT_BYTES = 16 << 20


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
        verdict_id_of(verdict)  # it has an id, and it is text JSON can carry
        body_of(verdict)
    except UsageError as error:
        raise InputError(path, str(error)) from None
    except UnicodeEncodeError as error:
        character = error.object[error.start : error.end].encode("unicode_escape").decode("ascii")
        raise InputError(path, f"holds a lone surrogate {character}, which is not Unicode text") from None
    if not str(verdict.get("schema")).startswith("gatekeeper.verdict/"):
        what = "a rejected verdict's reason" if "rejected_at" in verdict else "no `schema` gatekeeper.verdict/…"
        raise InputError(path, f"not a verdict: {what}")
    problem = verdict_problem(verdict)  # before anything is sent: the server would refuse it for ever
    if problem is not None:
        raise InputError(path, problem)
    return dict(verdict)


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
        out.write(result_line(result, spool, sent.problems.get(verdict_id)) + "\n")
    failed = any(not r.delivered for r in sent.outcomes.values()) or any(not r.delivered for r in earlier)
    return ExitStatus.UPLOAD_FAILED if failed else ExitStatus.PASS


def spool_flush(url: str | None, spool_dir: str | None, timeout: float, out: TextIO, err: TextIO) -> ExitStatus:
    """`gatekeeper spool flush`: 0 if the spool is empty afterwards (of what could be delivered), else 4."""
    base = store_url(url)
    spool = Spool(spool_dir)
    report = flush(base, token(err, base), directory=spool.directory, timeout=timeout)
    for result in report.results:
        out.write(result_line(result, spool, report.problems.get(result.verdict_id)) + "\n")
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


def _summarise_earlier(results: list[DeliveryResult], report: FlushReport, spool: Spool, out: TextIO) -> None:
    delivered = sum(r.delivered for r in results)
    if delivered:
        out.write(f"delivered {plural(delivered, 'earlier spooled verdict')}\n")
    for result in results:
        if not result.delivered:
            out.write(f"earlier spooled {result_line(result, spool, report.problems.get(result.verdict_id))}\n")


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
