"""Deployments and incidents recorded on a store server (`--upload URL`): the `DeliveryStore` seam over
`/api/v1/deployments` and `/api/v1/incidents`, so `deploy record` and `incident open|resolve` work the
same against the shared record as against the embedded store.

The server times every event by its own clock: a `now` given here is not sent.  A server that cannot be
reached or fails (5xx) is `DeliveryUndelivered` (exit 4, like an upload); one that refuses the request
(4xx) is a StoreError (exit 2) with the server's reason, except a deployment's verdict it does not hold
(422 whose `path` is verdict_id): UnknownVerdict, as the embedded store says it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from gatekeeper.delivery import Deployment, Incident
from gatekeeper.errors import StoreError
from gatekeeper.status import ExitStatus
from gatekeeper.store.codec import utc_text
from gatekeeper.store.delivery import (
    DeploymentRequest,
    IncidentNotFound,
    UnknownVerdict,
    deployment_from_document,
    incident_from_document,
    request_document,
)
from gatekeeper.store.http import API_PREFIX, TOKEN_ENV
from gatekeeper.store.remote import RemoteStore

if TYPE_CHECKING:
    import requests

#: Events one list request asks for.
PAGE = 1000


class DeliveryUndelivered(StoreError):
    """The event did not reach the store server (unreachable, or it failed): retry the step."""

    status = ExitStatus.UPLOAD_FAILED


class RemoteDeliveryStore(RemoteStore):
    """Deployments and incidents on a store server; the token (GATEKEEPER_TOKEN) needs the upload scope
    to record, read to list."""

    def record_deployment(self, request: DeploymentRequest, *, now: datetime | None = None) -> tuple[Deployment, bool]:
        response = self._send("POST", "/deployments", json=request_document(request), unprocessable=True)
        if response.status_code == 422:
            payload = response.json()
            if request.verdict_id is not None and isinstance(payload, dict) and payload.get("path") == "verdict_id":
                raise UnknownVerdict(request.verdict_id, request.project)
            self._refused(response)
        return self._parsed(deployment_from_document, response.json()), response.status_code == 201

    def shipped_commits(self, project: str, environment: str, limit: int) -> builtins.list[str]:
        params = {"project": project, "environment": environment, "limit": str(min(max(limit, 1), 100))}
        payload = self._send("GET", "/deployments/shipped", params=params).json()
        commits = payload.get("commits") if isinstance(payload, dict) else None
        if not isinstance(commits, list) or not all(isinstance(sha, str) for sha in commits):
            raise StoreError(self.base, "answered a commit list this gatekeeper does not understand")
        return commits

    def open_incident(
        self,
        *,
        project: str,
        environment: str,
        incident: str,
        caused_by: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Incident, bool]:
        body = {"project": project, "environment": environment, "incident": incident, "caused_by": caused_by}
        response = self._send("POST", "/incidents", json=body)
        return self._parsed(incident_from_document, response.json()), response.status_code == 201

    def resolve_incident(
        self, *, project: str, environment: str, incident: str, now: datetime | None = None
    ) -> tuple[Incident, bool]:
        body = {"project": project, "environment": environment, "incident": incident}
        response = self._send("POST", "/incidents/resolve", json=body, missing=True)
        if response.status_code == 404:
            raise IncidentNotFound(incident)
        payload = response.json()
        return self._parsed(incident_from_document, payload), bool(isinstance(payload, dict) and payload.get("changed"))

    def deployments(
        self,
        project: str,
        environment: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> builtins.list[Deployment]:
        return [
            self._parsed(deployment_from_document, item)
            for item in self._pages("/deployments", _window(project, environment, since, until))
        ]

    def incidents(
        self,
        project: str,
        environment: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> builtins.list[Incident]:
        return [
            self._parsed(incident_from_document, item)
            for item in self._pages("/incidents", _window(project, environment, since, until))
        ]

    # -- HTTP ------------------------------------------------------------------------------------

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[Any]:
        after: str | None = None
        while True:
            query = params | {"limit": str(PAGE)} | ({"after": after} if after else {})
            payload = self._send("GET", path, params=query).json()
            if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
                raise StoreError(self.base, "answered a list this gatekeeper does not understand")
            yield from payload["items"]
            after = payload.get("next_after")
            if not isinstance(after, str) or not payload["items"]:
                return

    def _send(
        self, method: str, path: str, *, missing: bool = False, unprocessable: bool = False, **kwargs: Any
    ) -> requests.Response:
        """One request; unreachable or 5xx is DeliveryUndelivered, any other refusal a StoreError (but a 404
        is answered when `missing`, a 422 when `unprocessable`: the caller reads it)."""
        import requests

        from gatekeeper.store.http import error_reason

        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self._session.request(
                method, f"{self.base}{API_PREFIX}{path}", headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as error:
            raise DeliveryUndelivered(self.base, f"cannot reach the store server ({error_reason(error)})") from None
        code = response.status_code
        if code < 300 or (missing and code == 404) or (unprocessable and code == 422):
            try:
                response.json()
            except ValueError:
                raise StoreError(
                    self.base, "answered something that is not JSON: is this a gatekeeper server?"
                ) from None
            return response
        self._refused(response)

    def _refused(self, response: requests.Response) -> NoReturn:
        """The server's refusal as the error to raise."""
        from gatekeeper.store.http import response_detail

        code = response.status_code
        if code >= 500:
            raise DeliveryUndelivered(self.base, f"answered HTTP {code}: {response_detail(response)}")
        if code == 401:
            hint = f"set {TOKEN_ENV} to an upload token" if self.token is None else f"{TOKEN_ENV} is not a live token"
            raise StoreError(
                self.base, f"refused the request (401: missing, invalid, expired or revoked token): {hint}"
            )
        if code == 404:
            raise StoreError(self.base, "has no deployment API (404): upgrade the server to gatekeeper with issue 19")
        raise StoreError(self.base, f"refused the request ({code}: {response_detail(response)})")

    def _parsed(self, parse: Any, document: Any) -> Any:
        try:
            return parse(document)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise StoreError(self.base, "answered an event this gatekeeper does not understand") from None


def _window(project: str, environment: str | None, since: datetime | None, until: datetime | None) -> dict[str, str]:
    params = {"project": project}
    if environment is not None:
        params["environment"] = environment
    if since is not None:
        params["since"] = utc_text(since)
    if until is not None:
        params["until"] = utc_text(until)
    return params
