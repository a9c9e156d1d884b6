"""Reading verdicts and releases from a store server, so `verdicts list|show` and `release check` work
the same against the shared record as against the embedded store.

Read-only for verdicts (they reach the server by `upload`, through the spool); the one write here is
defining a release, which needs an admin token.  Every failure is a one-line StoreError naming the
server and what to do: unreachable, token refused (401), scope too narrow (403), server trouble.
"""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gatekeeper.errors import StoreRefused, one_line
from gatekeeper.flaky import TestRun
from gatekeeper.release import AmbiguousCommit, Release, commit_prefix, release_from_document
from gatekeeper.store import StoreError, VerdictSummary
from gatekeeper.store.http import API_PREFIX, TOKEN_ENV, check_url

if TYPE_CHECKING:
    import requests

#: Seconds one request may take.
REQUEST_TIMEOUT_SECONDS = 30.0
#: The largest page the server's list answers (`GET /api/v1/verdicts?limit=`).
PAGE = 500
#: Test runs the server answers at most (`GET /api/v1/test-runs?limit=`), as the embedded store reads.
TEST_RUN_LIMIT = 500


class RemoteStore:
    """The `VerdictStore` read methods over `GET /api/v1/…`; the token comes from GATEKEEPER_TOKEN."""

    #: The token a 401 without one asks for.
    TOKEN_KIND = "a read token"

    def __init__(self, url: str, token: str | None = None, *, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        from gatekeeper.store.http import new_session

        base = check_url(url).rstrip("/")
        self.base = base[: -len(API_PREFIX)] if base.endswith(API_PREFIX) else base
        self.token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
        self.timeout = timeout
        self._session = new_session(self.base)

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # -- verdicts --------------------------------------------------------------------------------

    def add(self, verdict: Mapping[str, Any]) -> bool:
        raise StoreError(self.base, "verdicts reach the store server by `gatekeeper upload`, not through a reader")

    def get(self, id_or_prefix: str) -> dict[str, Any]:
        """The verdict with this id, or with the one id starting with this prefix (≥ MIN_PREFIX chars),
        as the embedded store resolves it: the full id first, then `GET /verdicts?id_prefix=`."""
        from gatekeeper.store.sqlite import MIN_PREFIX

        response = self._request("GET", f"/verdicts/{quote(id_or_prefix, safe='')}", missing_ok=True)
        if response.status_code not in (404, 422):
            return self._object(response)
        if response.status_code == 422 or len(id_or_prefix) < MIN_PREFIX:
            raise StoreError(
                self.base,
                f"no verdict with id {id_or_prefix!r} (give the full id or at least {MIN_PREFIX} characters of it)",
            )
        items, _ = self._page({"id_prefix": id_or_prefix}, limit=3, cursor=None)
        # A server from before id_prefix ignores it and lists the newest verdicts: keep only real matches.
        found = sorted(item.id for item in items if item.id.startswith(id_or_prefix))
        if not found:
            raise StoreError(self.base, f"no verdict with id {id_or_prefix!r} or starting with it")
        if len(found) > 1:
            more = " and more" if len(found) > 2 else ""
            raise StoreError(
                self.base, f"id prefix {id_or_prefix!r} is ambiguous: {', '.join(found[:2])}{more}; give more of it"
            )
        response = self._request("GET", f"/verdicts/{quote(found[0], safe='')}", missing_ok=True)
        if response.status_code == 404:  # pragma: no cover - deleted between the two requests
            raise StoreError(self.base, f"no verdict with id {found[0]!r}")
        return self._object(response)

    def latest(self, project: str | None = None, branch: str | None = None) -> dict[str, Any] | None:
        summaries = self.list(project=project, branch=branch, limit=1)
        return self.get(summaries[0].id) if summaries else None

    def latest_for(
        self, project: str, *, commit: str | None = None, pipeline: str | None = None
    ) -> dict[str, Any] | None:
        """The newest verdict of `project` at this commit, or of this pipeline run: a release member's.  A
        commit of 7+ hex digits with no verdict of its own finds the one commit it abbreviates, as the
        embedded store does; AmbiguousCommit when two commits of the project start with it."""
        if (commit is None) == (pipeline is None):
            raise ValueError("give exactly one of commit and pipeline")
        page = self._page({"project": project, "commit": commit, "pipeline": pipeline}, limit=1, cursor=None)
        if page[0]:
            return self.get(page[0][0].id)
        prefix = None if commit is None else commit_prefix(commit)
        found = None if prefix is None else self._abbreviated(project, prefix)
        return None if found is None else self.get(found)

    def _abbreviated(self, project: str, prefix: str) -> str | None:
        """The id of the newest verdict of `project` at the one commit `prefix` starts, paging newest first
        until a second commit shows.  A server before `commit_prefix` ignores it and lists the project's
        verdicts at any commit: the first that does not start with `prefix` says so, and then no verdict
        is found (as before), since whether another commit starts with it cannot be told."""
        newest: VerdictSummary | None = None
        for summary in self._summaries({"project": project, "commit_prefix": prefix}, None):
            if summary.project != project or not (summary.commit or "").startswith(prefix):
                return None
            if newest is None:
                newest = summary
            elif summary.commit != newest.commit:
                raise AmbiguousCommit(project, prefix, sorted((str(newest.commit), str(summary.commit))))
        return None if newest is None else newest.id

    def list(
        self,
        project: str | None = None,
        branch: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
        limit: int | None = 50,
        offset: int = 0,
    ) -> builtins.list[VerdictSummary]:
        """Summaries, newest (as the server received them) first; the server pages by cursor, so an
        offset is skipped page by page."""
        wanted = None if limit is None else max(limit, 0) + max(offset, 0)
        found: builtins.list[VerdictSummary] = []
        for summary in self._summaries(_filters(project, branch, status, since), wanted):
            found.append(summary)
        return found[max(offset, 0) :]

    def count(
        self,
        project: str | None = None,
        branch: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
    ) -> int:
        """How many verdicts `list` would give with no limit; the API has no count, so this pages
        through every summary (one request per 500): callers that can, avoid it."""
        return sum(1 for _ in self._summaries(_filters(project, branch, status, since), None))

    def _summaries(self, filters: dict[str, str | None], wanted: int | None) -> Iterator[VerdictSummary]:
        cursor: str | None = None
        given = 0
        while wanted is None or given < wanted:
            size = PAGE if wanted is None else min(PAGE, wanted - given)
            items, cursor = self._page(filters, limit=size, cursor=cursor)
            for item in items:
                yield item
                given += 1
            if cursor is None or not items:
                return

    def _page(
        self, filters: Mapping[str, str | None], *, limit: int, cursor: str | None
    ) -> tuple[builtins.list[VerdictSummary], str | None]:
        params = {key: value for key, value in filters.items() if value is not None}
        params["limit"] = str(max(limit, 1))
        if cursor is not None:
            params["cursor"] = cursor
        payload = self._object(self._request("GET", "/verdicts", params=params))
        try:
            items = [_summary(item) for item in payload["items"]]
            next_cursor = payload.get("next_cursor")
        except (KeyError, TypeError, ValueError):
            raise StoreError(self.base, "answered a verdict list this gatekeeper does not understand") from None
        return items, next_cursor if isinstance(next_cursor, str) else None

    def test_runs(
        self, project: str, job: str | None, since: datetime | str, limit: int = TEST_RUN_LIMIT
    ) -> builtins.list[TestRun]:
        """The embedded store's `test_runs` over `GET /api/v1/test-runs`: what the verdicts of one job of a
        project say of their tests, oldest first, the newest the server received since `since`
        (gatekeeper.flaky reads them for flaky history)."""
        params = {"project": project, "since": since.isoformat() if isinstance(since, datetime) else since}
        params |= {"limit": str(max(min(limit, TEST_RUN_LIMIT), 1))} | ({} if job is None else {"job": job})
        payload = self._object(self._request("GET", "/test-runs", params=params))
        try:
            return [_test_run(item) for item in payload["items"]]
        except (KeyError, TypeError, ValueError):
            raise StoreError(self.base, "answered test runs this gatekeeper does not understand") from None

    # -- releases --------------------------------------------------------------------------------

    def get_release(self, name: str) -> Release | None:
        response = self._request("GET", f"/releases/{quote(name, safe='')}", missing_ok=True)
        if response.status_code in (404, 422):
            return None
        try:
            return release_from_document(self._object(response))
        except ValueError:
            raise StoreError(
                self.base, f"answered release {name!r} in a form this gatekeeper does not understand"
            ) from None

    def put_release(self, release: Release) -> bool:
        """Define the release on the server (an admin token); True when it was new."""
        response = self._request("PUT", f"/releases/{quote(release.name, safe='')}", json=release.to_document())
        return response.status_code == 201

    # -- HTTP ------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any) -> requests.Response:
        import requests

        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self._session.request(
                method, f"{self.base}{API_PREFIX}{path}", headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as error:
            raise StoreError(self.base, f"cannot reach the store server ({_reason(error)})") from None
        code = response.status_code
        if code < 300 or (missing_ok and code in (404, 422)):
            return response
        from gatekeeper.store.http import response_detail

        if code == 401:
            hint = f"set {TOKEN_ENV} to {self.TOKEN_KIND}" if self.token is None else f"{TOKEN_ENV} is not a live token"
            problem = f"refused the request (401: missing, invalid, expired or revoked token): {hint}"
        elif code == 403:
            problem = f"refused the request (403: {response_detail(response)})"
        else:
            problem = f"answered HTTP {code}: {response_detail(response)}"
        if 400 <= code < 500 and code not in (408, 429):
            raise StoreRefused(self.base, problem)
        raise StoreError(self.base, problem)

    def _object(self, response: requests.Response) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise StoreError(self.base, "answered something that is not a JSON object: is this a gatekeeper server?")
        return payload


def _filters(
    project: str | None, branch: str | None, status: str | None, since: datetime | str | None
) -> dict[str, str | None]:
    return {
        "project": project,
        "branch": branch,
        "status": status,
        "since": since.isoformat() if isinstance(since, datetime) else since,
    }


def _summary(item: Mapping[str, Any]) -> VerdictSummary:
    return VerdictSummary(
        id=str(item["id"]),
        created_at=str(item["created_at"]),
        status=str(item["status"]),
        project=item.get("project"),
        branch=item.get("branch"),
        commit=item.get("commit"),
        pipeline=item.get("pipeline"),
        policy_name=item.get("policy_name"),
        level_achieved=item.get("level_achieved"),
        received_at=item.get("received_at"),  # absent from a server before issue 13
    )


def _test_run(item: Mapping[str, Any]) -> TestRun:
    """A run as the server sent it; anything of another shape is a ValueError (the caller says whose)."""
    failed, flaky, commit = item["failed"], item["flaky"], item.get("commit")
    if not all(isinstance(names, list) and all(isinstance(n, str) for n in names) for names in (failed, flaky)):
        raise ValueError("failed and flaky must be lists of test ids")
    if not (isinstance(commit, str) or commit is None) or not isinstance(item["complete"], bool):
        raise ValueError("commit must be text and complete a boolean")
    return TestRun(
        verdict_id=str(item["verdict_id"]),
        commit=commit or None,
        failed=frozenset(failed),
        flaky=frozenset(flaky),
        complete=item["complete"],
    )


def _reason(error: BaseException) -> str:
    """requests' messages nest the cause deep inside; the innermost one says what happened ("Failed to
    establish a new connection: [Errno 111] Connection refused"), without the host and port the message
    names already.  (The last 200 characters of the whole cut "url:" in two.)"""
    cause, seen = error, {id(error)}
    while True:
        inner = getattr(cause, "reason", None)  # urllib3's MaxRetryError
        if not isinstance(inner, BaseException) and cause.args and isinstance(cause.args[0], BaseException):
            inner = cause.args[0]  # requests' ConnectionError wraps urllib3's error
        if not isinstance(inner, BaseException) or id(inner) in seen:
            break
        cause = inner
        seen.add(id(cause))
    text = _CONNECTION_PREFIX.sub("", one_line(cause))
    return text[:200]


#: How urllib3 starts a connection's error: "HTTPConnection(host='127.0.0.1', port=1): ".
_CONNECTION_PREFIX = re.compile(r"^\w+\(host=.*?, port=\d+\): ")
