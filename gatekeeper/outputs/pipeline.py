"""A pipeline-final's parts in words, shared by the text and markdown outputs (each escapes for itself)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gatekeeper.words import plural

if TYPE_CHECKING:
    from gatekeeper.verdict_sections import PipelineRecord


def pipeline_summary(pipeline: PipelineRecord, escape: Callable[[str], str], limit: int) -> tuple[str, list[str]]:
    """("3 parts merged (3 expected): a, b (retried), c", the missing parts' names), each name escaped.

    A retried part's last attempt counts; with parts missing (or none there) nothing was merged."""
    current = [part for part in pipeline.parts if not part.replaced]
    retried = {part.name for part in pipeline.parts if part.replaced}
    merged = len(current) + pipeline.parts_omitted
    expected = f" ({pipeline.expected:,} expected)" if pipeline.expected is not None else ""
    names = [escape(part.name) + (" (retried)" if part.name in retried else "") for part in current[:limit]]
    more = merged - len(names)
    listed = ", ".join(names) + (f" and {more:,} more" if more > 0 else "")
    done = "arrived" if pipeline.missing or not merged else "merged"
    headline = f"{plural(merged, 'part')} {done}{expected}" + (f": {listed}" if listed else "")
    return headline, [escape(name) for name in pipeline.missing[:limit]]
