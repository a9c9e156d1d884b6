"""`gatekeeper incident open|resolve ID`: record an incident in an environment, and its end.

The ID is the client's (an alerting or ticket system's); opening the same ID again, or resolving it
again, changes nothing and says so (exit 0).  `--caused-by SHA` links the incident to the first
successful deployment that shipped that commit (change failure rate); a resolution is linked to the
first successful deployment after the opening, if any (time to restore).  Exit 2 for bad input or an
incident never opened, 4 when the store server could not be reached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gatekeeper.context import detect_context
from gatekeeper.delivery import (
    ENVIRONMENT_VARIABLE,
    Incident,
    check_environment,
    check_event_id,
    check_text,
    resolve_commit,
)
from gatekeeper.errors import UsageError
from gatekeeper.status import ExitStatus
from gatekeeper.store.delivery import IncidentNotFound, check_incident_fields, incident_document
from gatekeeper.store.delivery_stores import open_delivery_store
from gatekeeper.words import short_commit


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentOptions:
    incident: str
    environment: str | None
    project: str | None = None
    caused_by: str | None = None
    store: str | None = None
    upload: str | None = None
    output_format: str = "text"


def _fields(options: IncidentOptions, verb: str) -> tuple[str, str, str, str | None]:
    import os

    environment = options.environment or os.environ.get(ENVIRONMENT_VARIABLE) or None
    project = options.project or detect_context().project
    if environment is None:
        raise UsageError(f"incident {verb}: give --environment NAME")
    if project is None:
        raise UsageError(f"incident {verb}: give --project NAME (no CI project detected)")
    try:
        # Each value checked under the name the user knows it by (the store's checks name API fields).
        check_text(project, "--project" if options.project else "the CI's project (give --project)")
        check_environment(environment, "--environment" if options.environment else ENVIRONMENT_VARIABLE)
        check_event_id(options.incident, "ID")
        caused_by = None if options.caused_by is None else resolve_commit(options.caused_by, "--caused-by", Path("."))
        return check_incident_fields(project, environment, options.incident, caused_by)
    except ValueError as error:
        raise UsageError(f"incident {verb}: {error}") from None


def open_(options: IncidentOptions, out: TextIO) -> ExitStatus:
    project, environment, incident, caused_by = _fields(options, "open")
    with open_delivery_store(options.store, options.upload) as (store, where):
        stored, created = store.open_incident(
            project=project, environment=environment, incident=incident, caused_by=caused_by
        )
    if options.output_format == "json":
        out.write(json.dumps(incident_document(stored) | {"created": created}, indent=2) + "\n")
        return ExitStatus.PASS
    what = _described(stored)
    if created:
        out.write(f"opened {what} in {where}\n")
    else:
        out.write(f"already open since {stored.opened_at:%Y-%m-%d %H:%M:%S} UTC: {what} in {where}; nothing changed\n")
    return ExitStatus.PASS


def resolve(options: IncidentOptions, out: TextIO) -> ExitStatus:
    if options.caused_by is not None:
        raise UsageError("incident resolve: --caused-by is given when opening")
    project, environment, incident, _ = _fields(options, "resolve")
    with open_delivery_store(options.store, options.upload) as (store, where):
        try:
            stored, changed = store.resolve_incident(project=project, environment=environment, incident=incident)
        except IncidentNotFound:
            raise UsageError(
                f"incident resolve: incident {incident} was never opened in {project} {environment} ({where})"
            ) from None
    if options.output_format == "json":
        out.write(json.dumps(incident_document(stored) | {"changed": changed}, indent=2) + "\n")
        return ExitStatus.PASS
    assert stored.resolved_at is not None
    minutes = int((stored.resolved_at - stored.opened_at).total_seconds() // 60)
    restored = (
        f", after deployment {stored.resolved_by_deployment[:12]}" if stored.resolved_by_deployment is not None else ""
    )
    when = f"{minutes // 60} h {minutes % 60} min after it was opened{restored}"
    if changed:
        out.write(f"resolved {_described(stored)} {when}, in {where}\n")
    else:
        out.write(f"already resolved {_described(stored)} {when}; nothing changed\n")
    return ExitStatus.PASS


def _described(incident: Incident) -> str:
    text = f"incident {incident.incident} of {incident.project} in {incident.environment}"
    if incident.caused_by is not None:
        shipped = (
            f"shipped by deployment {incident.caused_by_deployment[:12]}"
            if incident.caused_by_deployment is not None
            else "no successful deployment recorded shipped it"
        )
        text += f" (caused by {short_commit(incident.caused_by)}: {shipped})"
    return text
