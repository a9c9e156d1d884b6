"""Real encoded parts (`gatekeeper.parts.encode_part`) for the part store tests."""

from __future__ import annotations

from gatekeeper.parts import Part, encode_part


def part_body(project: str, pipeline: str, name: str, seed: int = 0) -> bytes:
    """An encoded part of this pipeline; another `seed` is another attempt (other bytes, same part)."""
    return encode_part(Part(project=project, pipeline=pipeline, name=name, commit="c0ffee", job=f"attempt {seed}"))
