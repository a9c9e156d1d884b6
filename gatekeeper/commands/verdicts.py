"""`gatekeeper verdicts list|show`: read back what `check` recorded, in the embedded store or on a
store server (`--server`, the same read API the pages use)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from gatekeeper.errors import path_status
from gatekeeper.outputs import renderer_for
from gatekeeper.outputs.escape import clean, terminal_cell
from gatekeeper.since import parse_since
from gatekeeper.status import ExitStatus
from gatekeeper.store import StoreError, VerdictStore, VerdictSummary, default_store_path
from gatekeeper.verdict import dumps, parse
from gatekeeper.words import short_commit


def list_verdicts(
    store_path: str | Path | None,
    project: str | None,
    branch: str | None,
    status: str | None,
    limit: int | None,
    output_format: str,
    out: TextIO,
    *,
    since: str | None = None,
    server: str | None = None,
) -> ExitStatus:
    """Recorded verdicts, newest first (by when the store recorded each).  `since` is what `report --since`
    takes (an age such as 30d, or an ISO-8601 date).  No store yet is not an error: nothing has been recorded."""
    from gatekeeper.store.sqlite import SqliteStore

    period = None if since is None else parse_since(since, datetime.now(timezone.utc))  # before any store is read
    if server:
        return _list_remote(server, project, branch, status, period, limit, output_format, out)
    path = Path(store_path) if store_path else default_store_path()
    if path_status(path, StoreError) is None:  # a symlink loop is unreadable, not "nothing recorded"
        if output_format == "json":
            out.write("[]\n")  # scripts get valid JSON; the table says why it is empty
        else:
            out.write(f"no verdicts recorded yet (store: {path})\n")
        return ExitStatus.PASS
    with SqliteStore(path, create=False) as store:
        summaries = store.list(project=project, branch=branch, status=status, since=period, limit=limit)
        total = store.count(project=project, branch=branch, status=status, since=period)
    if output_format == "json":
        _write_json(summaries, out)
        return ExitStatus.PASS
    if total == 0:
        filtered = any(value is not None for value in (project, branch, status, since))
        what = "no verdicts match these filters" if filtered else "no verdicts recorded yet"
        out.write(f"{what} (store: {path})\n")
        return ExitStatus.PASS
    _write_table(summaries, out)
    if total > len(summaries):
        out.write(f"({len(summaries)} of {total} shown; --limit N shows more)\n")
    return ExitStatus.PASS


def _list_remote(
    server: str,
    project: str | None,
    branch: str | None,
    status: str | None,
    since: datetime | None,
    limit: int | None,
    output_format: str,
    out: TextIO,
) -> ExitStatus:
    """As `list_verdicts`, from a store server: one more than asked tells whether more exist (the API
    has no count, and counting 100,000 verdicts page by page is not worth a footer)."""
    from gatekeeper.store.remote import RemoteStore

    with RemoteStore(server) as store:
        wanted = None if limit is None else limit + 1
        summaries = store.list(project=project, branch=branch, status=status, since=since, limit=wanted)
        where = store.base
    more = limit is not None and len(summaries) > limit
    summaries = summaries[:limit]
    if output_format == "json":
        _write_json(summaries, out)
        return ExitStatus.PASS
    if not summaries:
        filtered = any(value is not None for value in (project, branch, status, since))
        what = "no verdicts match these filters" if filtered else "no verdicts recorded yet"
        out.write(f"{what} (server: {where})\n")
        return ExitStatus.PASS
    _write_table(summaries, out)
    if more:
        out.write(f"(newest {len(summaries)} shown; --limit N shows more)\n")
    return ExitStatus.PASS


def show_verdict(
    store_path: str | Path | None,
    verdict_id: str,
    output_format: str,
    out: TextIO,
    *,
    project: str | None = None,
    branch: str | None = None,
    server: str | None = None,
) -> ExitStatus:
    """One recorded verdict by id, unique id prefix (6+ characters, in the embedded store or on a server),
    or "latest" (of a project/branch, if given)."""
    from gatekeeper.store.sqlite import SqliteStore

    store: VerdictStore
    if server:
        from gatekeeper.store.remote import RemoteStore

        store = RemoteStore(server)
        path: str | Path = store.base
    else:
        path = Path(store_path) if store_path else default_store_path()
        path_status(path, StoreError)  # a name too long, a symlink loop: unreadable, not absent
        store = SqliteStore(path, create=False)
    try:
        if verdict_id == "latest":
            verdict = store.latest(project=project, branch=branch)
            if verdict is None:
                scope = " ".join(f"{k} {v}" for k, v in (("project", project), ("branch", branch)) if v)
                raise StoreError(path, f"no verdicts recorded yet{f' for {scope}' if scope else ''}")
        else:
            verdict = store.get(verdict_id)
    finally:
        store.close()
    if output_format == "json":  # the document as it was stored (the JSON edge)
        out.write(clean(dumps(verdict)))
    else:
        out.write(renderer_for(output_format)(parse(verdict, f"{path}: verdict {verdict_id}")))
    return ExitStatus.PASS


def _write_table(summaries: list[VerdictSummary], out: TextIO) -> None:
    """Newest first by `recorded`, the store's own clock (what orders the list); `created` is the verdict's
    claim (the client's clock), shown beside it: a verdict uploaded late or from a skewed clock is not out
    of order, only claimed so."""
    header = ("recorded (UTC)", "created (UTC)", "status", "project", "branch", "commit", "level", "id")
    rows = [
        (
            _time_cell(summary.received_at),
            _time_cell(summary.created_at),
            terminal_cell(summary.status),
            terminal_cell(summary.project),
            terminal_cell(summary.branch),
            terminal_cell(short_commit(summary.commit, "")) or "-",
            terminal_cell(summary.level_achieved),
            terminal_cell(summary.id[:12]),
        )
        for summary in summaries
    ]
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    for row in (header, *rows):
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")


def _time_cell(text: str | None) -> str:
    """A stored UTC time to the second ('-' when a store server older than `received_at` gives none)."""
    return terminal_cell(text[:19].replace("T", " ")) if text else "-"


def _write_json(summaries: list[VerdictSummary], out: TextIO) -> None:
    """The summaries as JSON; a lone surrogate in a stored value becomes U+FFFD, as in `check --format json`."""
    out.write(clean(json.dumps([asdict(summary) for summary in summaries], indent=2, ensure_ascii=False)) + "\n")
