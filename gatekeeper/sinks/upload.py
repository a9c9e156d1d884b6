"""The store-server client: deliver one verdict, retrying what is worth retrying, within a time budget.

`PUT {URL}/api/v1/verdicts/{id}` is idempotent on the verdict id, so a retry after a lost response can
never store a verdict twice; that is what makes retrying (and the spool) safe.  What is *not* retried:
an answer that will not change on its own, which is any 4xx but 408 and 429 (409 conflict, 401/403
auth, 404 no such path, 413 too large, 422 invalid...).  A verdict whose id or indexed field (project,
branch, commit, pipeline, job, policy name, metric name) the server could never take is refused here,
before anything is sent.
"""

from __future__ import annotations

import email.utils
import enum
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gatekeeper.errors import UsageError
from gatekeeper.store import indexed_text_problem
from gatekeeper.store.http import API_PREFIX, error_reason, new_session, response_detail
from gatekeeper.words import plural

if TYPE_CHECKING:
    import requests

DEFAULT_ATTEMPTS = 6
DEFAULT_TIMEOUT_SECONDS = 60.0  # the whole delivery, retries included
REQUEST_TIMEOUT_SECONDS = 15.0  # one request
BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 8.0
MAX_RETRY_AFTER_SECONDS = 30.0  # a server asking for more is treated as down for this run

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
CONFLICT_STATUSES = frozenset({409})

#: The ids the store server takes (its `gatekeeper.server.app.ID_PATTERN`; a test keeps the two equal):
#: nothing that a URL path could read as another segment, a query or a fragment (`/`, `..`, `?`, `#`).
ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
_ID = re.compile(ID_PATTERN)


class Outcome(str, enum.Enum):
    DELIVERED = "delivered"
    """2xx: the server holds the verdict (201 new, 200 already there)."""
    CONFLICT = "conflict"
    """409: the server holds a different verdict under this id; retrying cannot help."""
    REJECTED = "rejected"
    """Any other 4xx but 408/429, or an id no server takes: refused for good; retrying cannot help."""
    UNDELIVERED = "undelivered"
    """Network trouble, 5xx, 408/429, a redirect: keep it and try again on a later run."""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    verdict_id: str
    outcome: Outcome
    status_code: int | None
    attempts: int
    detail: str

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.DELIVERED

    @property
    def final(self) -> bool:
        """Conflicts and rejections go to the spool's `rejected/` folder; nothing else is final but success."""
        return self.outcome in (Outcome.CONFLICT, Outcome.REJECTED)

    def describe(self) -> str:
        if self.attempts == 0:
            return f"{self.verdict_id} (not sent): {self.detail}"
        code = f"HTTP {self.status_code}" if self.status_code is not None else "no response"
        return f"{self.verdict_id} ({code}, {plural(self.attempts, 'attempt')}): {self.detail}"


def id_problem(verdict_id: str) -> str | None:
    """Why the store server could never take this id, or None when it can."""
    if _ID.match(verdict_id):
        return None
    return f"id {verdict_id[:80]!r} can never be stored: a verdict id must match {ID_PATTERN}"


#: A verdict's fields a store server indexes, and where `check` took each from (for the message that names it).
_INDEXED_FIELDS = (
    ("context", "project", "--project or the CI's project"),
    ("context", "branch", "--branch or the CI's branch"),
    ("context", "commit", "--commit or the CI's commit"),
    ("context", "pipeline", "--pipeline or the CI's pipeline id"),
    ("context", "job", "the CI's job name"),
    ("policy", "name", "the policy's name"),
)


def verdict_problem(verdict: dict[str, Any]) -> str | None:
    """Why the store server could never take this verdict, or None: its id (ID_PATTERN), or a field it indexes
    (a NUL, or over MAX_INDEXED_BYTES in UTF-8, by the server's own rule), named with where it came from."""
    problem = id_problem(verdict_id_of(verdict))
    if problem is not None:
        return problem
    for section, name, source in _INDEXED_FIELDS:
        values = verdict.get(section)
        value = values.get(name) if isinstance(values, dict) else None
        found = indexed_text_problem(value) if isinstance(value, str) else None
        if isinstance(value, str) and found is not None:
            return f"{section}.{name} ({source}) {_shown(value)} can never be stored: {found} (UTF-8)"
    metrics = verdict.get("metrics")
    for metric in metrics if isinstance(metrics, dict) else ():
        found = indexed_text_problem(metric)
        if found is not None:
            return f"metric name {_shown(metric)} can never be stored: {found} (UTF-8)"
    return None


def _shown(value: str) -> str:
    """The start of a value, ASCII-quoted, for a one-line message (it may be 5,000 characters of anything)."""
    return ascii(value[:40]) + ("…" if len(value) > 40 else "")


def verdict_url(base: str, verdict_id: str) -> str:
    """`{base}/api/v1/verdicts/{id}`; a base that already ends in /api/v1 is accepted too.

    An id outside ID_PATTERN is refused: quoting does not help `..`, which a client or proxy may resolve
    to the parent path before the server sees it."""
    problem = id_problem(verdict_id)
    if problem is not None:
        raise UsageError(problem)
    base = base.rstrip("/")
    if base.endswith(API_PREFIX):
        base = base[: -len(API_PREFIX)]
    return f"{base}{API_PREFIX}/verdicts/{quote(verdict_id, safe='')}"


def body_of(verdict: dict[str, Any]) -> bytes:
    """One canonical serialisation, so a retried or spooled verdict is byte-for-byte the same body."""
    return json.dumps(verdict, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def verdict_id_of(verdict: Any) -> str:
    verdict_id = verdict.get("id") if isinstance(verdict, dict) else None
    if not isinstance(verdict_id, str) or not verdict_id.strip():
        raise UsageError("not a verdict: it has no `id` (the upload's idempotency key)")
    return verdict_id


def backoff(attempt: int, base: float = BASE_DELAY_SECONDS, cap: float = MAX_DELAY_SECONDS) -> float:
    """Full jitter (uniform over 0..base·2^attempt, capped): many clients retrying do not stampede."""
    return random.uniform(0.0, min(cap, base * (2**attempt)))


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), or None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.now(timezone.utc).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


def deliver(
    verdict: dict[str, Any],
    url: str,
    token: str | None,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    request_timeout: float = REQUEST_TIMEOUT_SECONDS,
    base_delay: float = BASE_DELAY_SECONDS,
    max_delay: float = MAX_DELAY_SECONDS,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """PUT one verdict; never raises for network or server trouble, it says what happened instead."""
    import requests

    verdict_id = verdict_id_of(verdict)
    problem = verdict_problem(verdict)
    if problem is not None:  # refused here, before anything is sent: the server would refuse it for ever
        return DeliveryResult(verdict_id, Outcome.REJECTED, None, 0, problem)
    target = verdict_url(url, verdict_id)
    body = body_of(verdict)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    own_session = session is None
    http = new_session(url) if session is None else session
    deadline = time.monotonic() + timeout
    status: int | None = None
    detail = "not attempted"
    tried = 0
    try:
        for attempt in range(max(1, attempts)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                detail = f"gave up after {timeout:g} s: {detail}"
                break
            tried += 1
            wait: float | None = None
            try:
                response = http.put(
                    target, data=body, headers=headers, timeout=min(request_timeout, remaining), allow_redirects=False
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                status, detail = None, error_reason(error)
            except requests.RequestException as error:  # an invalid URL, too many redirects...: not transient
                return DeliveryResult(verdict_id, Outcome.UNDELIVERED, None, tried, error_reason(error))
            else:
                status, detail = response.status_code, response_detail(response)
                response.close()
                if 200 <= status < 300:
                    return DeliveryResult(verdict_id, Outcome.DELIVERED, status, tried, detail)
                if status in CONFLICT_STATUSES:
                    return DeliveryResult(verdict_id, Outcome.CONFLICT, status, tried, detail)
                if 400 <= status < 500 and status not in RETRY_STATUSES:
                    # Refused for good: kept aside by the caller, so it never blocks the verdicts behind it.
                    if status in (404, 405):
                        detail = f"{detail} (is {url} the store server's base URL?)"
                    return DeliveryResult(verdict_id, Outcome.REJECTED, status, tried, detail)
                if status < 500 and status not in RETRY_STATUSES:
                    # 1xx/3xx (redirects are not followed): most likely a wrong URL. Keep the verdict.
                    return DeliveryResult(verdict_id, Outcome.UNDELIVERED, status, tried, detail)
                wait = retry_after(response.headers.get("Retry-After"))
                if wait is not None and wait > MAX_RETRY_AFTER_SECONDS:
                    detail = f"{detail} (server asks to wait {wait:g} s)"
                    break
            if attempt + 1 >= attempts:
                break
            pause = wait if wait is not None else backoff(attempt, base_delay, max_delay)
            if time.monotonic() + pause >= deadline:
                detail = f"gave up after {timeout:g} s: {detail}"
                break
            sleep(pause)
    finally:
        if own_session:
            http.close()
    return DeliveryResult(verdict_id, Outcome.UNDELIVERED, status, tried, detail)
