"""`gatekeeper delivery`: a project's four delivery keys (DORA) per environment over the last days, from
the embedded store (`--store`) or computed by a store server (`--server URL`), with their Four Keys
buckets and what the numbers support recommending.

The joins are gatekeeper.dora's; the embedded store's events are read whole and computed here, the
server computes from its tables (`GET /api/v1/delivery/four-keys`).  Exit 0 (a report, not a gate);
2 for bad input or an unreadable store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from gatekeeper import dora
from gatekeeper.context import detect_context
from gatekeeper.errors import StoreError, UsageError
from gatekeeper.outputs.escape import terminal_cell
from gatekeeper.status import ExitStatus
from gatekeeper.words import plural

#: The longest window, in days (the server's bound too).
MAX_DAYS = 366


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryOptions:
    project: str | None
    environment: str | None
    days: int
    store: str | None
    server: str | None
    output_format: str = "text"


@dataclass(frozen=True, slots=True, kw_only=True)
class Measured:
    """One environment's four keys and the recommendations they support."""

    keys: dora.FourKeys
    advice: tuple[str, ...]


def run(options: DeliveryOptions, out: TextIO, err: TextIO, *, now: datetime | None = None) -> ExitStatus:
    project = options.project or detect_context().project
    if not project:
        raise UsageError("delivery: give --project NAME (no CI project detected)")
    if not 1 <= options.days <= MAX_DAYS:
        raise UsageError(f"delivery: --days must be 1 to {MAX_DAYS}, not {options.days}")
    if options.environment is not None:
        from gatekeeper.delivery import check_environment

        try:
            check_environment(options.environment, "--environment")
        except ValueError as error:
            raise UsageError(f"delivery: {error}") from None
    moment = now or datetime.now(timezone.utc)
    if options.server:
        measured = from_server(options.server, project, options.environment, options.days)
    else:
        from gatekeeper.store import default_store_path

        path = Path(options.store) if options.store else default_store_path()
        measured = from_store(path, project, options.environment, moment - timedelta(days=options.days), moment)
    if options.output_format == "json":
        document = {
            "project": project,
            "days": options.days,
            "environments": [dora.document(item.keys, item.advice) for item in measured],
        }
        json.dump(document, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return ExitStatus.PASS
    if not measured:
        where = f" to {options.environment}" if options.environment else ""
        out.write(f"No deployments of {terminal_cell(project)}{where} are recorded.\n")
        return ExitStatus.PASS
    for index, item in enumerate(measured):
        if index:
            out.write("\n")
        out.write("".join(line + "\n" for line in text_lines(item, options.days)))
    return ExitStatus.PASS


def from_store(path: Path, project: str, environment: str | None, since: datetime, until: datetime) -> list[Measured]:
    """Each environment's four keys from the embedded store's events (every one of the project, so a
    commit shipped before the window is not a change of it)."""
    from gatekeeper.store.sqlite import SqliteStore

    if not path.exists():
        raise StoreError(path, "no store here (record deployments with `gatekeeper deploy record`)")
    measured = []
    with SqliteStore(path, create=False) as store:
        deployments = store.deployments(project, environment)
        incidents = store.incidents(project, environment)
        names = sorted({event.environment for event in deployments})
        passing: dict[tuple[str, str], list[datetime]] = {}

        def passed_at(commit: str) -> list[datetime]:
            key = (project, commit)
            if key not in passing:
                passing[key] = [_time(text) for text in store.passing_times(project, commit)]
            return passing[key]

        def verdict_status(verdict_id: str) -> str | None:
            try:
                found = store.get(verdict_id)
            except StoreError:
                return None  # never recorded here: not a passing verdict
            status = found.get("status")
            return status if isinstance(status, str) else None

        def gated(event: Any) -> bool:
            return dora.gate_passing(
                event, verdict_status=verdict_status, commit_passed=lambda _project, sha: bool(passed_at(sha))
            )

        def last_pass(event: Any) -> datetime | None:
            before = [moment for moment in passed_at(event.commit) if moment <= event.deployed_at]
            return before[-1] if before else None

        for name in names:
            keys = dora.compute(
                deployments,
                incidents,
                project=project,
                environment=name,
                since=since,
                until=until,
                passing=gated,
            )
            waits = dora.verdict_waits(
                (event for event in deployments if event.environment == name),
                since=since,
                until=until,
                last_pass=last_pass,
            )
            measured.append(Measured(keys=keys, advice=tuple(dora.recommendations(keys, waits))))
    return measured


def from_server(url: str, project: str, environment: str | None, days: int) -> list[Measured]:
    """The four keys as the store server computes them (a read token in GATEKEEPER_TOKEN)."""
    import requests

    from gatekeeper.store.http import API_PREFIX, TOKEN_ENV, check_url, error_reason, new_session, response_detail

    base = check_url(url).rstrip("/")
    token = os.environ.get(TOKEN_ENV, "").strip()
    headers = {"Accept": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    params = {"project": project, "days": str(days)} | ({"environment": environment} if environment else {})
    session = new_session(base)
    try:
        response = session.get(f"{base}{API_PREFIX}/delivery/four-keys", params=params, headers=headers, timeout=60)
    except requests.RequestException as error:
        raise StoreError(base, f"cannot reach the store server ({error_reason(error)})") from None
    finally:
        session.close()
    if response.status_code == 401:
        raise StoreError(base, f"refused the request (401): set {TOKEN_ENV} to a live read token")
    if response.status_code >= 300:
        raise StoreError(base, f"answered HTTP {response.status_code}: {response_detail(response)}")
    try:
        payload = response.json()
        items = payload["environments"]
        if not isinstance(items, list):
            raise TypeError("environments is not a list")
        measured = []
        for item in items:
            keys, advice = dora.from_document(item, base)
            measured.append(Measured(keys=keys, advice=tuple(advice)))
    except (ValueError, KeyError, TypeError) as error:
        raise StoreError(base, f"answered something that is not the four keys ({error})") from None
    return measured


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


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
            f"{plural(keys.changes, 'change')} (commit to first successful deployment)",
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


def write_all(measured: Sequence[Measured], days: int, out: TextIO) -> None:
    for item in measured:
        out.write("".join(line + "\n" for line in text_lines(item, days)))
