"""API tokens: `gk_<id>_<secret>`, stored as a SHA-256 of the secret, checked in constant time.

A plain SHA-256 (not a slow password hash) is enough here: the secret is 32 random bytes from
`secrets`, so there is nothing to guess or look up in a dictionary, and a fast hash keeps every request
cheap.  The public id lets us find the one row to compare with, and appears in logs instead of the secret.
The server checks every presented token through one `Authenticator`: a cache of recent successes, then a
per-client throttle of failures (429), then the database.
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import hmac
import ipaddress
import json
import math
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, select, update

from gatekeeper.server.db import tokens
from gatekeeper.store.codec import utc_text

PREFIX = "gk"
#: How long, in seconds, the server reuses a successful token check by default (`serve --token-cache-seconds`).
DEFAULT_TOKEN_CACHE_SECONDS = 5.0
#: Wrong tokens a client may present within the window before it is refused with 429 (`serve --token-failures`).
#: A secret of 32 random bytes cannot be guessed at any rate: the limit keeps a client from making the
#: database check token after token, and is generous so that CI runners behind one address (NAT), one
#: of them with a stale token, do not lock the others out.
DEFAULT_TOKEN_FAILURES = 60
#: The window, in seconds, over which wrong tokens are counted (`serve --token-failure-window`).
DEFAULT_TOKEN_FAILURE_WINDOW = 60.0
_ID = re.compile(r"[0-9a-f]{12}")


class Scope(str, enum.Enum):
    UPLOAD = "upload"
    READ = "read"
    ADMIN = "admin"


class TokenState(str, enum.Enum):
    LIVE = "live"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """A token as stored: never its secret."""

    id: str
    scope: Scope
    projects: tuple[str, ...]
    created_at: str
    expires_at: str | None
    revoked_at: str | None

    def allows(self, scope: Scope) -> bool:
        return self.scope is Scope.ADMIN or self.scope is scope

    def state(self, now: str | None = None) -> TokenState:
        """Revoked wins over expired: a revocation is an act, an expiry only a date."""
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if self.expires_at is not None and self.expires_at <= (now or now_text()):
            return TokenState.EXPIRED
        return TokenState.LIVE

    def allows_project(self, project: str | None) -> bool:
        """Admin tokens and tokens created without patterns may write any project; a project-less
        verdict matches only a pattern that matches the empty string (`*`)."""
        if self.scope is Scope.ADMIN or not self.projects:
            return True
        return any(fnmatch.fnmatchcase(project or "", pattern) for pattern in self.projects)


def now_text() -> str:
    """Now, as stored text: compared as text with `expires_at`."""
    return utc_text(datetime.now(timezone.utc))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(
    engine: Engine, scope: Scope, projects: tuple[str, ...] = (), expires_at: str | None = None
) -> tuple[Token, str]:
    """A new token and its full text, which is shown once and never stored."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = Token(
        id=token_id,
        scope=scope,
        projects=tuple(projects),
        created_at=now_text(),
        expires_at=None if expires_at is None else utc_text(expires_at, naive_is_utc=True),
        revoked_at=None,
    )
    with engine.begin() as connection:
        connection.execute(
            tokens.insert().values(
                id=token.id,
                secret_sha256=_digest(secret),
                scope=token.scope.value,
                projects=json.dumps(list(token.projects)),
                created_at=token.created_at,
                expires_at=token.expires_at,
            )
        )
    return token, f"{PREFIX}_{token_id}_{secret}"


def _token(row: object) -> Token:
    return Token(
        id=row.id,  # type: ignore[attr-defined]
        scope=Scope(row.scope),  # type: ignore[attr-defined]
        projects=tuple(json.loads(row.projects)),  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        expires_at=row.expires_at,  # type: ignore[attr-defined]
        revoked_at=row.revoked_at,  # type: ignore[attr-defined]
    )


def list_tokens(engine: Engine) -> list[Token]:
    with engine.connect() as connection:
        return [_token(row) for row in connection.execute(select(tokens).order_by(tokens.c.created_at))]


def revoke(engine: Engine, token_id: str) -> bool:
    """Revoke a token by id; False when there is no such token that is still live."""
    with engine.begin() as connection:
        result = connection.execute(
            update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None)).values(revoked_at=now_text())
        )
    return result.rowcount == 1


def verify(engine: Engine, presented: str) -> Token | None:
    """The live token this text is, or None (unknown, wrong secret, expired or revoked) — the caller
    answers 401 without saying which, so a guesser learns nothing."""
    prefix, sep, rest = presented.partition("_")
    token_id, sep2, secret = rest.partition("_")
    if prefix != PREFIX or not sep or not sep2 or not secret or len(presented) > 200:
        return None
    if not _ID.fullmatch(token_id):  # only ids we could have made reach the database
        return None
    with engine.connect() as connection:
        row = connection.execute(select(tokens).where(tokens.c.id == token_id)).first()
    if row is None:
        hmac.compare_digest(_digest(secret), _digest(""))  # same work whether or not the id exists
        return None
    if not hmac.compare_digest(_digest(secret), row.secret_sha256):
        return None
    token = _token(row)
    return token if token.state() is TokenState.LIVE else None


class TokenCache:
    """Successful verifications, reused for `seconds` without asking the database.

    Keyed by the SHA-256 of the whole presented text (never the text itself); only live tokens are kept,
    so a wrong secret always reaches `verify`.  The price: a token revoked while cached keeps working in
    this process for up to `seconds` (an expiry date is still checked on every use).  0 disables it.
    Used from the event loop only, so no lock is needed."""

    MAX_ENTRIES = 4096

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[bytes, tuple[float, Token]] = {}

    def get(self, presented: str) -> Token | None:
        if self.seconds <= 0:
            return None
        key = hashlib.sha256(presented.encode()).digest()
        entry = self._entries.get(key)
        if entry is None:
            return None
        until, token = entry
        if until <= time.monotonic() or token.state() is not TokenState.LIVE:
            self._entries.pop(key, None)
            return None
        return token

    def put(self, presented: str, token: Token) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            now = time.monotonic()
            self._entries = {key: entry for key, entry in self._entries.items() if entry[0] > now}
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
        self._entries[hashlib.sha256(presented.encode()).digest()] = (time.monotonic() + self.seconds, token)


class Throttled(Exception):
    """This client presented too many wrong tokens lately: answer 429, retry after `retry_after` seconds."""

    def __init__(self, seconds: float) -> None:
        self.retry_after = max(1, math.ceil(seconds))
        super().__init__(f"too many wrong tokens from this client; retry after {self.retry_after} s")


class FailureThrottle:
    """Wrong tokens per client: after `limit` of them within `window` seconds the client is refused until
    the oldest has aged out of the window.  An IPv6 client is its /64, which one host usually holds whole.

    Used from the event loop only, so no lock; at most MAX_CLIENTS are tracked (a flood of addresses
    evicts the oldest).  `limit` 0 disables it."""

    MAX_CLIENTS = 4096

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> float | None:
        """Seconds until `client` may present a token again, or None if it may now."""
        failures = self._failures.get(_client_key(client))
        if failures is None or len(failures) < self.limit:
            return None
        wait = failures[0] + self.window - time.monotonic()
        return wait if wait > 0 else None

    def failed(self, client: str) -> None:
        if self.limit <= 0:
            return
        key = _client_key(client)
        now = time.monotonic()
        if key not in self._failures and len(self._failures) >= self.MAX_CLIENTS:
            self._failures = {k: times for k, times in self._failures.items() if times[-1] > now - self.window}
            if len(self._failures) >= self.MAX_CLIENTS:
                del self._failures[next(iter(self._failures))]
        self._failures.setdefault(key, deque(maxlen=self.limit)).append(now)


def _client_key(client: str) -> str:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class Authenticator:
    """The one way a presented token is checked, for the API's bearer tokens and the pages' sign-in:
    the cache first (a recently verified token costs one lookup and is never throttled), then the
    throttle, then the database; a wrong token counts against its client."""

    def __init__(self, engine: Engine, cache: TokenCache, throttle: FailureThrottle) -> None:
        self.engine = engine
        self.cache = cache
        self.throttle = throttle

    async def check(self, presented: str, client: str) -> Token | None:
        """The live token presented, or None; raises Throttled for a client refused for now."""
        token = self.cache.get(presented)
        if token is not None:
            return token
        wait = self.throttle.retry_after(client)
        if wait is not None:
            raise Throttled(wait)
        from starlette.concurrency import run_in_threadpool

        token = await run_in_threadpool(verify, self.engine, presented)
        if token is None:
            self.throttle.failed(client)
        else:
            self.cache.put(presented, token)
        return token
