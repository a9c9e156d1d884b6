"""Where verdicts are recorded: the seam every store implements, and what they share.

The embedded store (`gatekeeper.store.sqlite`) is the default; `gatekeeper.store.remote` reads the
same from a store server.  Implementations are imported where used, so importing this package stays
cheap.
"""

from __future__ import annotations

import builtins
import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from gatekeeper.errors import StoreError
from gatekeeper.model import Decision

__all__ = [
    "MAX_INDEXED_BYTES",
    "STORE_ENV",
    "StoreError",
    "VerdictStore",
    "VerdictSummary",
    "default_store_path",
    "indexed_text_problem",
    "make_workspace_directory",
]

#: The environment variable naming the embedded store file (the CLI's `--store` defaults to it).
STORE_ENV = "GATEKEEPER_STORE"

#: Verdict statuses a store accepts; the contract in DESIGN.md ("Verdict"), spelled once in model.Decision.
VERDICT_STATUSES: tuple[str, ...] = tuple(decision.value for decision in Decision)

#: Longest text (UTF-8 bytes) a store server takes in a verdict's indexed fields (project, branch, commit,
#: pipeline, job, policy name) or a metric name: two of them, a time and an id stay inside PostgreSQL's btree
#: index row limit (2704 bytes), past which an insert failed as if the database were down; SQLite agrees.
#: The server refuses more (422, gatekeeper.server.db); the client refuses to send it (gatekeeper.sinks.upload).
MAX_INDEXED_BYTES = 1000


def indexed_text_problem(text: str) -> str | None:
    """Why a store server could never index this text (None when it can): a NUL character, which PostgreSQL
    text cannot hold, or more than MAX_INDEXED_BYTES in UTF-8 (encoded only when its length leaves doubt)."""
    if "\x00" in text:
        return "must not contain NUL characters"
    if len(text) > MAX_INDEXED_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_INDEXED_BYTES:
        return f"longer than {MAX_INDEXED_BYTES} bytes"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class VerdictSummary:
    """The indexed columns of one stored verdict: enough to list verdicts without reading bodies.

    Times are UTC in one fixed-width form (`2026-11-25T14:03:00.123456Z`), so text order is time
    order.  `created_at` is the verdict's claim (the client's clock); `received_at` is when the store
    recorded it (its own clock), which decides "latest" and every order; None only from a store server
    older than it.
    """

    id: str
    created_at: str
    status: str
    project: str | None
    branch: str | None
    commit: str | None
    pipeline: str | None
    policy_name: str | None
    level_achieved: int | None
    received_at: str | None = None


class VerdictStore(Protocol):
    """What `check` records into and `verdicts list|show` reads from, whatever keeps the verdicts."""

    def add(self, verdict: Mapping[str, Any]) -> bool:
        """Record a verdict; False when one with the same id and body is already there."""
        ...

    def get(self, id_or_prefix: str) -> dict[str, Any]:
        """The verdict with this id, or with the one id that starts with this prefix (≥ 6 chars)."""
        ...

    def latest(self, project: str | None = None, branch: str | None = None) -> dict[str, Any] | None: ...

    def list(
        self,
        project: str | None = None,
        branch: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
        limit: int | None = 50,
        offset: int = 0,
    ) -> builtins.list[VerdictSummary]: ...

    def count(
        self,
        project: str | None = None,
        branch: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
    ) -> int: ...

    def close(self) -> None: ...


def default_store_path() -> Path:
    """`$GATEKEEPER_STORE`, else `.gatekeeper/verdicts.db` in the current directory (the CI workspace)."""
    configured = os.environ.get(STORE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(".gatekeeper") / "verdicts.db"


WORKSPACE_DIRECTORY = ".gatekeeper"


def make_workspace_directory(directory: Path) -> None:
    """Create `directory`; where it lies in a `.gatekeeper/` folder, keep that folder out of git.

    The store, the spool and the server's default database live in the job's workspace, often a
    developer's checkout: a `.gitignore` of `*` inside keeps them out of `git status` and commits.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for folder in (directory, *directory.parents):
        if folder.name == WORKSPACE_DIRECTORY:
            ignore = folder / ".gitignore"
            if not ignore.exists():
                with contextlib.suppress(OSError):  # a read-only folder still works; only this is lost
                    ignore.write_text("# written by gatekeeper: its store and spool stay out of git\n*\n")
            return
