"""A pipeline's parts on a store server (`/api/v1/parts`): the `PartStore` that `check --part` and
`check --pipeline-final` use with `--upload`.

The server, token (GATEKEEPER_TOKEN), timeouts, TLS and one-line errors are `RemoteStore`'s; what this
adds is retrying.  A part is put idempotently (the server keeps one row per name and sha256), so a PUT
whose answer was lost is simply sent again: network errors, 408, 429 and 5xx are retried with jittered
backoff (urllib3's, honouring Retry-After up to `MAX_RETRY_AFTER_SECONDS`), `attempts` in all.

What happens to a part that still cannot be delivered: `put_part` raises a StoreError naming the
server and the last reason, and keeps nothing locally (unlike a verdict, which the spool keeps for a
later run): the job that made the part fails, and the part is made again and re-sent when the job is
retried.  Meanwhile the pipeline's deciding job finds the part missing and stays undecided (exit 2,
naming it), never passing on partial data.
"""

from __future__ import annotations

import builtins
import hashlib
from typing import TYPE_CHECKING, Any

from gatekeeper.store import StoreError
from gatekeeper.store.parts import StoredPart, checked_part
from gatekeeper.store.remote import REQUEST_TIMEOUT_SECONDS, RemoteStore

if TYPE_CHECKING:
    from urllib3.util.retry import Retry

#: Requests per operation, the first included.
DEFAULT_ATTEMPTS = 5
#: The first backoff, doubled at each retry (full jitter) and capped by MAX_BACKOFF_SECONDS.
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
#: A server asking to wait longer than this is waited for this long only.
MAX_RETRY_AFTER_SECONDS = 30.0
#: Answers that may change on their own: worth sending the same request again.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class RemotePartStore(RemoteStore):
    """`PartStore` over `PUT`/`GET /api/v1/parts`; bodies are checked against the sha256 listed."""

    #: Parts are recorded with an upload token, which also reads them (as a read token does).
    TOKEN_KIND = "an upload token allowed for the project"

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = BACKOFF_SECONDS,
    ) -> None:
        super().__init__(url, token, timeout=timeout)
        from requests.adapters import HTTPAdapter

        adapter = HTTPAdapter(max_retries=_retry(max(attempts, 1) - 1, backoff))
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        #: Bodies fetched so far by (project, pipeline, name, sha256): a stored attempt never changes, so
        #: a deciding job that looks again while it waits for the last parts fetches only the new ones.
        self._bodies: dict[tuple[str, str, str, str], bytes] = {}

    def __enter__(self) -> RemotePartStore:
        return self

    def put_part(self, project: str, pipeline: str, name: str, body: bytes) -> bool:
        """Send one encoded part; False when the server had this exact part already (200), True when it
        stored it now (201).  Names and size are checked here first, as every part store checks them."""
        checked_part(self.base, project, pipeline, name, body)
        response = self._request(
            "PUT",
            "/parts",
            params={"project": project, "pipeline": pipeline, "name": name},
            data=body,
        )
        return response.status_code == 201

    def list_parts(self, project: str, pipeline: str) -> builtins.list[StoredPart]:
        """Every attempt of every part of the pipeline, oldest first as the server received them, with
        their bodies (one request each the first time, checked against its listed sha256 and size)."""
        payload = self._object(self._request("GET", "/parts", params={"project": project, "pipeline": pipeline}))
        try:
            listed = [_metadata(item) for item in payload["items"]]
        except (KeyError, TypeError, ValueError):
            raise StoreError(self.base, "answered a part list this gatekeeper does not understand") from None
        found = []
        for part in listed:
            key = (part.project, part.pipeline, part.name, part.sha256)
            body = self._bodies.get(key)
            if body is None:
                params = dict(zip(("project", "pipeline", "name", "sha256"), key, strict=True))
                body = self._request("GET", "/parts/body", params=params).content
                if len(body) != part.size or hashlib.sha256(body).hexdigest() != part.sha256:
                    raise StoreError(
                        self.base, f"answered part {part.name!r} with bytes that do not match its sha256 {part.sha256}"
                    )
                self._bodies[key] = body
            found.append(
                StoredPart(
                    project=part.project,
                    pipeline=part.pipeline,
                    name=part.name,
                    sha256=part.sha256,
                    size=part.size,
                    received_at=part.received_at,
                    body=body,
                )
            )
        return found


def _metadata(item: Any) -> StoredPart:
    """One listed attempt; a ValueError (the caller says whose) for anything of another shape."""
    fields = ("project", "pipeline", "name", "sha256", "received_at")
    if not isinstance(item, dict) or not all(isinstance(item.get(key), str) for key in fields):
        raise ValueError("not a part's metadata")
    size = item.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError("size must be a non-negative integer")
    return StoredPart(**{key: item[key] for key in fields}, size=size, body=b"")


def _retry(retries: int, backoff: float) -> Retry:
    """urllib3's retry policy for part requests: connection trouble and the RETRY_STATUSES, for GET and
    PUT alike (both idempotent here), the last answer handed back rather than raised."""
    from urllib3.util.retry import Retry

    class _Capped(Retry):
        def parse_retry_after(self, retry_after: str) -> float:
            return min(super().parse_retry_after(retry_after), MAX_RETRY_AFTER_SECONDS)

    return _Capped(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "PUT"}),
        backoff_factor=backoff,
        backoff_max=MAX_BACKOFF_SECONDS,
        backoff_jitter=backoff,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
