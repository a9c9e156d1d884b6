"""`gatekeeper delivery`: a project's four delivery keys (DORA) per environment over the last days, from
the embedded store (`--store`) or computed by a store server (`--server URL`), with their Four Keys
buckets and what the numbers support recommending.

The joins are gatekeeper.dora's; the embedded store's events are read whole and computed in this
process (gatekeeper.store.four_keys), the server computes from its tables (`GET
/api/v1/delivery/four-keys`).  Exit 0 (a report, not a gate); 2 for bad input or an unreadable store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TextIO

from gatekeeper import dora
from gatekeeper.context import detect_context
from gatekeeper.errors import UsageError
from gatekeeper.outputs import delivery
from gatekeeper.outputs.escape import terminal_cell
from gatekeeper.status import ExitStatus
from gatekeeper.store import four_keys
from gatekeeper.store.four_keys import MAX_DAYS


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryOptions:
    project: str | None
    environment: str | None
    days: int
    store: str | None
    server: str | None
    output_format: str = "text"


def run(options: DeliveryOptions, out: TextIO, err: TextIO, *, now: datetime | None = None) -> ExitStatus:
    project = options.project or detect_context().project
    if not project:
        raise UsageError("delivery: give --project NAME (no CI project detected)")
    if not 1 <= options.days <= MAX_DAYS:
        raise UsageError(f"delivery: --days must be 1 to {MAX_DAYS}, not {options.days}")
    from gatekeeper.delivery import check_environment, check_text

    try:
        check_text(project, "--project" if options.project else "the CI's project (give --project)")
        if options.environment is not None:
            check_environment(options.environment, "--environment")
    except ValueError as error:
        raise UsageError(f"delivery: {error}") from None
    moment = now or datetime.now(timezone.utc)
    if options.server:
        measured = four_keys.from_server(options.server, project, options.environment, options.days)
    else:
        from gatekeeper.store import default_store_path

        path = Path(options.store) if options.store else default_store_path()
        measured = four_keys.from_store(
            path, project, options.environment, moment - timedelta(days=options.days), moment
        )
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
        out.write("".join(line + "\n" for line in delivery.text_lines(item, options.days)))
    return ExitStatus.PASS
