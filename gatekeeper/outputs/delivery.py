"""The four delivery keys as text: the table rows, the heading and the gate line that `gatekeeper
delivery` prints and `gatekeeper report` lays out in HTML or markdown (each escapes them its own way)."""

from __future__ import annotations

import re

from gatekeeper import dora
from gatekeeper.dora import Measured
from gatekeeper.outputs.escape import html_text, terminal_cell
from gatekeeper.words import plural

__all__ = ["advice_html", "heading", "rows", "text_lines", "ungated_line"]

#: A `code` span in a recommendation (dora writes commands that way), matched in escaped text: escaping
#: neither makes nor removes a backtick.
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _rating(rating: dora.Rated | None) -> str:
    return "-" if rating is None else f"{rating.bucket.value} ({rating.label})"


def rows(keys: dora.FourKeys) -> list[tuple[str, str, str, str]]:
    """(key, value, bucket, counted from) for each of the four keys: the text, markdown and HTML tables."""
    duration = dora.format_duration
    percent = keys.change_failure_percent
    per_week, per_day = keys.per_week, keys.per_day
    return [
        (
            "deployment frequency",
            "-" if per_week is None or per_day is None else f"{per_week:.1f} a week ({per_day:.2f} a day)",
            _rating(keys.frequency_rating),
            plural(keys.successful, "successful deployment"),
        ),
        (
            "lead time for changes",
            f"median {duration(keys.lead_time_median)}, p90 {duration(keys.lead_time_p90)}",
            _rating(keys.lead_time_rating),
            f"{plural(keys.changes, 'change')} (commit to first successful deployment)"
            + (f"; {note}" if (note := dora.dated_after_note(keys)) else ""),
        ),
        (
            "change failure rate",
            "-" if percent is None else f"{percent:.0f}%",
            _rating(keys.change_failure_rating),
            f"{keys.failed} failed + {keys.caused_incident} that caused an incident, "
            f"of {plural(keys.deployments, 'deployment')}",
        ),
        (
            "time to restore",
            f"median {duration(keys.restore_median)}",
            _rating(keys.restore_rating),
            f"{keys.restored} of {plural(keys.incidents, 'incident')} restored"
            + (f", {keys.open_incidents} open" if keys.open_incidents else ""),
        ),
    ]


def heading(keys: dora.FourKeys, days: int) -> str:
    bucket = "not rated" if keys.bucket is None else keys.bucket.value.upper()
    return (
        f"{keys.project} to {keys.environment}, last {plural(days, 'day')} "
        f"({keys.since:%Y-%m-%d %H:%M} to {keys.until:%Y-%m-%d %H:%M} UTC): Four Keys bucket {bucket}"
    )


def ungated_line(keys: dora.FourKeys) -> str:
    if not keys.ungated:
        return "every deployment had a passing gate verdict" if keys.deployments else "no deployments in the window"
    return f"deployed without a passing gate: {keys.ungated} of {plural(keys.deployments, 'deployment')}"


def advice_html(line: str) -> str:
    """A recommendation as HTML for the pages and `report`: escaped first, then each `code` span made a
    <code> element (never the other way round, so nothing in the text becomes markup); a lone backtick stays."""
    return _CODE_SPAN.sub(r"<code>\1</code>", html_text(line))


def text_lines(item: Measured, days: int) -> list[str]:
    """The four keys as terminal text: a heading, an aligned table, the gate line, the recommendations."""
    keys = item.keys
    table = rows(keys)
    widths = [max(len(row[column]) for row in table) for column in range(3)]
    lines = [terminal_cell(heading(keys, days))]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        lines.append(terminal_cell("  " + "  ".join([*cells, row[3]])))
    lines.append("  " + ungated_line(keys))
    if item.advice:
        lines.append("  recommendations:")
        lines.extend(terminal_cell(f"    - {line}") for line in item.advice)
    return lines
