"""`gatekeeper release define|check`: name a release's members once, then ask whether it may ship.

Both work on the embedded store (`--store`) or on a store server (`--server`, token from
GATEKEEPER_TOKEN).  `check` exits 0 only when every member is clear, 1 when any is blocked (each
with what blocks it), 2 when it cannot decide (unknown release, bad release file, unreadable store).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol, TextIO

from gatekeeper.errors import StoreError, UsageError
from gatekeeper.outputs.escape import terminal_cell
from gatekeeper.release import Member, MemberReadiness, Readiness, Release, assess, load_release
from gatekeeper.status import ExitStatus
from gatekeeper.store import default_store_path
from gatekeeper.words import plural, short_commit


class _ReleaseStore(Protocol):
    """What both stores offer for releases (SqliteStore and RemoteStore)."""

    def get_release(self, name: str) -> Release | None: ...

    def put_release(self, release: Release) -> bool: ...

    def latest_for(
        self, project: str, *, commit: str | None = None, pipeline: str | None = None
    ) -> dict[str, Any] | None: ...


def _open(
    stack: ExitStack, store_path: str | Path | None, server: str | None, *, create: bool
) -> tuple[_ReleaseStore, str]:
    """The store to use, and where it is (a file or the server's URL) for messages."""
    if server:
        from gatekeeper.store.remote import RemoteStore

        remote = stack.enter_context(RemoteStore(server))
        return remote, remote.base
    from gatekeeper.store.sqlite import SqliteStore

    path = Path(store_path) if store_path else default_store_path()
    return stack.enter_context(SqliteStore(path, create=create)), str(path)


def define(file: str, store_path: str | Path | None, server: str | None, out: TextIO) -> ExitStatus:
    """Store the release a file describes (replacing one of the same name), to check it by name later."""
    release = load_release(file)
    with ExitStack() as stack:
        store, where = _open(stack, store_path, server, create=True)
        created = store.put_release(release)
    level = f", required policy level {release.level}" if release.level is not None else ""
    verb = "defined" if created else "redefined"
    out.write(f"release {release.name} {verb} in {where} ({plural(len(release.members), 'member')}{level})\n")
    return ExitStatus.PASS


def check(
    name: str | None,
    file: str | None,
    store_path: str | Path | None,
    server: str | None,
    output_format: str,
    out: TextIO,
) -> ExitStatus:
    """Whether every member of the release has a clear latest verdict: 0 ready, 1 blocked."""
    if (name is None) == (file is None):
        raise UsageError("name the release to check: --release NAME or --file FILE (one of them)")
    release = load_release(file) if file is not None else None
    with ExitStack() as stack:
        store, where = _open(stack, store_path, server, create=False)
        if release is None:
            assert name is not None
            release = store.get_release(name)
            if release is None:
                raise StoreError(where, f"no release named {name!r} (define it with `gatekeeper release define FILE`)")
        readiness = assess(release, _lookup(store))
    if output_format == "json":
        json.dump(readiness.to_document(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        _write_text(readiness, out)
    return ExitStatus.PASS if readiness.ready else ExitStatus.GATE_FAILED


def _lookup(store: _ReleaseStore) -> Callable[[Member], dict[str, Any] | None]:
    return lambda member: store.latest_for(member.project, commit=member.commit, pipeline=member.pipeline)


def _write_text(readiness: Readiness, out: TextIO) -> None:
    """The decision and its reason first, then one line per member with what blocks it beneath."""
    release = readiness.release
    required = f" (required policy level {release.level})" if release.level is not None else ""
    total = len(readiness.members)
    blocked = sum(1 for member in readiness.members if not member.clear)
    if readiness.ready:
        everyone = "its one member is" if total == 1 else f"all {total:,} members"
        out.write(f"READY    release {release.name}: {everyone} clear{required}\n")
    else:
        out.write(f"BLOCKED  release {release.name}: {blocked:,} of {plural(total, 'member')} blocked{required}\n")
    rows = [_row(member) for member in readiness.members]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))] if rows else []
    for member, row in zip(readiness.members, rows, strict=True):
        out.write("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")
        for blocker in member.blockers:
            out.write(f"      {terminal_cell(blocker)}\n")
    if readiness.keys:
        out.write(f"  issue keys ({len(readiness.keys):,}): {terminal_cell(', '.join(readiness.keys))}\n")
        unpassed = readiness.keys_without_passing_verdict
        if unpassed:
            out.write(f"  without a passing verdict ({len(unpassed):,}): {terminal_cell(', '.join(unpassed))}\n")


def _row(member: MemberReadiness) -> tuple[str, ...]:
    """A member's table row; a full commit hash is abbreviated as git does (the JSON keeps it whole)."""
    who = member.member
    short = short_commit(who.commit)
    label = who.label if who.commit is None or short == who.commit else f"{who.project} commit {short}"
    return (
        member.state.value,
        terminal_cell(label),
        terminal_cell(member.status),
        "-" if member.level is None else f"level {member.level}",
        "-" if member.verdict_id is None else f"verdict {terminal_cell(member.verdict_id)[:12]}",
    )
