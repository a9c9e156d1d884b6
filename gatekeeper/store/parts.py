"""Where a pipeline's parts are kept: the stored form and the seam every part store implements.

A part is one job's evidence (`gatekeeper.parts` encodes and decodes it); a store keeps its encoded
bytes as an opaque body, with the metadata a pipeline-final needs to list and order the attempts.
The order is the store's own `received_at`, never anything the client claims.  Implemented by the
embedded `SqliteStore`, by the store server (`/api/v1/parts`) and by `RemotePartStore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "MAX_PART_BYTES",
    "MAX_PART_KEY_CHARS",
    "PartStore",
    "StoredPart",
    "part_key_problem",
]

#: The largest encoded part a store takes (a part is a compact fraction of its reports).
MAX_PART_BYTES = 32 * 1024 * 1024

#: The longest project, pipeline or part name a store takes, in characters.
MAX_PART_KEY_CHARS = 255


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
    if len(value) > MAX_PART_KEY_CHARS:
        return f"{field} is longer than {MAX_PART_KEY_CHARS} characters"
    if not value.isprintable():
        return f"{field} has a control or non-printable character"
    if value != value.strip():
        return f"{field} has leading or trailing whitespace"
    return None
