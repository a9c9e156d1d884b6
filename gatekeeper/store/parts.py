"""Where a pipeline's parts are kept: the stored form and the seam every part store implements.

A part is one job's evidence (`gatekeeper.parts` encodes and decodes it); a store keeps its encoded
bytes as an opaque body, with the metadata a pipeline-final needs to list and order the attempts.
The order is the store's own `received_at`, never anything the client claims.  Implemented by the
embedded `SqliteStore`, by the store server (`/api/v1/parts`) and by `RemotePartStore`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gatekeeper.errors import StoreError

__all__ = [
    "MAX_PART_ATTEMPTS",
    "MAX_PART_BYTES",
    "MAX_PART_KEY_BYTES",
    "PartStore",
    "StoredPart",
    "checked_part",
    "full_pipeline_problem",
    "part_key_problem",
]

#: The largest encoded part a store takes (a part is a compact fraction of its reports).
MAX_PART_BYTES = 32 * 1024 * 1024

#: The most attempts of parts a store keeps for one pipeline (GitLab's `parallel:` goes to 200 jobs, each
#: retried a few times): bounds what a deciding job lists and reads.  A new attempt beyond it is refused.
MAX_PART_ATTEMPTS = 1000

#: The longest project, pipeline or part name a store takes, in UTF-8 bytes: the three and a sha256 stay
#: well inside PostgreSQL's btree index row limit (2704 bytes), whatever the script.
MAX_PART_KEY_BYTES = 255


@dataclass(frozen=True, slots=True)
class StoredPart:
    """One stored attempt of a part: the encoded body and what the store recorded about it.

    `received_at` is the store's clock, UTC in the stores' fixed-width form
    (`2026-11-25T14:03:00.123456Z`), so text order is time order.
    """

    project: str
    pipeline: str
    name: str
    sha256: str
    size: int
    received_at: str
    body: bytes


class PartStore(Protocol):
    """What `check --part` records into and `check --pipeline-final` reads from."""

    def put_part(self, project: str, pipeline: str, name: str, body: bytes) -> bool:
        """Store one encoded part; False when this exact part (same name and sha256) is already there."""
        ...

    def list_parts(self, project: str, pipeline: str) -> list[StoredPart]:
        """Every stored attempt of every part of the pipeline, oldest first by `received_at`."""
        ...


def part_key_problem(field: str, value: object) -> str | None:
    """What is wrong with a project, pipeline or part name (None when fine).

    Names come from CI variables and HTTP requests, so they are hostile: a bounded length of printable
    characters, no leading or trailing whitespace.
    """
    if not isinstance(value, str):
        return f"{field} must be a string"
    if not value:
        return f"{field} is empty"
    if not value.isprintable():  # also a lone surrogate, which is not text
        return f"{field} has a control or non-printable character"
    if len(value) > MAX_PART_KEY_BYTES // 4 and len(value.encode("utf-8")) > MAX_PART_KEY_BYTES:
        return f"{field} is longer than {MAX_PART_KEY_BYTES} bytes (UTF-8)"
    if value != value.strip():
        return f"{field} has leading or trailing whitespace"
    return None


def checked_part(store: str | Path, project: str, pipeline: str, name: str, body: bytes) -> str:
    """The body's sha256 (lower-case hex) once the names and the size are fine for a store; a
    StoreError naming the store and what is wrong otherwise."""
    for field, value in (("project", project), ("pipeline", pipeline), ("part name", name)):
        problem = part_key_problem(field, value)
        if problem is not None:
            raise StoreError(store, f"cannot store a part: {problem}")
    if not isinstance(body, bytes):
        raise StoreError(store, f"cannot store part {name!r}: its body must be bytes")
    size = len(body)
    if size == 0:
        raise StoreError(store, f"cannot store part {name!r}: it is empty")
    if size > MAX_PART_BYTES:
        raise StoreError(store, f"cannot store part {name!r}: {size} bytes, over the limit of {MAX_PART_BYTES}")
    return hashlib.sha256(body).hexdigest()


def full_pipeline_problem(pipeline: str) -> str:
    """Why a new attempt of a part is refused once its pipeline holds MAX_PART_ATTEMPTS of them."""
    return (
        f"pipeline {pipeline!r} already holds {MAX_PART_ATTEMPTS} part attempts, the most a store keeps "
        "for one pipeline: is a job recording parts in a loop?"
    )
