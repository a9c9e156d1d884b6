"""The four delivery keys of a project, read from where its events are: the embedded store (its events
read whole, computed by gatekeeper.dora, with its verdicts for the gate and the waits) or a store server
(which computes them from its tables: `GET /api/v1/delivery/four-keys`).  For `gatekeeper delivery` and
`gatekeeper report`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from gatekeeper import dora
from gatekeeper.dora import Measured
from gatekeeper.errors import StoreError, path_status

__all__ = ["MAX_DAYS", "from_server", "from_store"]

#: The longest window, in days (the server's bound too).
MAX_DAYS = 366


def from_store(path: Path, project: str, environment: str | None, since: datetime, until: datetime) -> list[Measured]:
    """Each environment's four keys from the embedded store's events (every one of the project, so a
    commit shipped before the window is not a change of it)."""
    from gatekeeper.store.sqlite import SqliteStore

    if path_status(path, StoreError) is None:  # a name too long, a symlink loop: unreadable, not absent
        raise StoreError(path, "no store here (record deployments with `gatekeeper deploy record`)")
    measured = []
    with SqliteStore(path, create=False) as store:
        deployments = store.deployments(project, environment)
        incidents = store.incidents(project, environment)
        # an environment with incidents and no deployments still has a time to restore
        names = sorted({*(event.environment for event in deployments), *(event.environment for event in incidents)})
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
    from gatekeeper.store.remote_four_keys import four_keys_from_server

    return four_keys_from_server(url, project, environment, days)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
