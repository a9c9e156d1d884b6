"""Organisation policies by URL, pinned by sha256: fetched once, cached, refused if the digest differs.

A central team publishes one policy; every pipeline extends it by URL and digest, so nobody can change
what a pipeline enforces without a commit that changes the pin.  Every URL fetched, the first and each
redirect's, passes the same rule (`_allowed`); a fetch reads at most MAX_POLICY_BYTES, within
FETCH_TIMEOUT_SECONDS in all, through at most MAX_REDIRECTS redirects.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from gatekeeper.context import is_loopback_host
from gatekeeper.errors import PolicyError
from gatekeeper.policy.located import MAX_POLICY_BYTES
from gatekeeper.policy.resources import cache_directory

FETCH_TIMEOUT_SECONDS = 30.0  # for the whole fetch, redirects included: a trickling server cannot stall a run
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 1 << 16


def _allowed(url: str) -> bool:
    """HTTPS anywhere; plain HTTP only to this machine (a local mirror, or tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback_host(parts.hostname)


_RULE = "only https:// URLs (or http:// on this machine) may be fetched"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect comes back as its 3xx answer, for `_fetch` to check where it leads before following."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _open(url: str, timeout: float) -> Any:
    """One request, redirects not followed, and this machine never reached through a proxy.

    CI runners often set http_proxy/https_proxy without no_proxy; a proxy would take 127.0.0.1 to be
    itself, and a local mirror would be unreachable.
    """
    handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
    if is_loopback_host(urlsplit(url).hostname):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers).open(url, timeout=timeout)


def _fetch(url: str) -> bytes:
    """The body at `url`, each redirect checked by `_allowed` before it is followed; at most
    MAX_POLICY_BYTES, read within FETCH_TIMEOUT_SECONDS (the socket timeout alone bounds only each read)."""
    deadline = time.monotonic() + FETCH_TIMEOUT_SECONDS
    for _ in range(MAX_REDIRECTS + 1):
        try:
            with _open(url, _remaining(deadline)) as response:
                body = bytearray()
                while len(body) <= MAX_POLICY_BYTES and (chunk := response.read1(_CHUNK)):
                    body += chunk
                    _remaining(deadline)  # raises once the deadline has passed
                return bytes(body)
        except urllib.error.HTTPError as error:
            location = error.headers.get("Location") if error.code in _REDIRECTS else None
            error.close()
            if location is None:
                raise
            target = urljoin(url, location)
            problem = redirect_problem(url, target)
            if problem is not None:
                raise _Refused(f"redirected to {target}: {problem}") from None
            url = target
    raise _Refused(f"more than {MAX_REDIRECTS} redirects")


def redirect_problem(source: str, target: str) -> str | None:
    """Why a redirect from `source` to `target` is not followed, or None: the rule of the first URL, and no
    way from another machine to this one (a policy server must not make us call our own local services)."""
    if not _allowed(target):
        return _RULE
    if is_loopback_host(urlsplit(target).hostname) and not is_loopback_host(urlsplit(source).hostname):
        return "another machine may not send a fetch to this one"
    return None


class _Refused(Exception):
    """A fetch stopped by our own rules (a redirect, the deadline), not by the network."""


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Refused(f"no complete answer within {FETCH_TIMEOUT_SECONDS:g} seconds")
    return left


def fetch_pinned(url: str, sha256: str) -> Path:
    """The cached copy of the policy at `url` whose content has digest `sha256`, fetching it if needed."""
    if not _allowed(url):
        raise PolicyError([f"extends {url}: {_RULE}"])
    cached = cache_directory() / f"{sha256}.yaml"
    if cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == sha256:
        return cached
    try:
        body = _fetch(url)
    except _Refused as refused:
        raise PolicyError([f"extends {url}: {refused}; refused"]) from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise PolicyError([f"extends {url}: cannot fetch: {reason}"]) from None
    if len(body) > MAX_POLICY_BYTES:
        raise PolicyError([f"extends {url}: larger than {MAX_POLICY_BYTES} bytes; not a policy"])
    actual = hashlib.sha256(body).hexdigest()
    if actual != sha256:
        raise PolicyError([f"extends {url}: sha256 is {actual}, not the pinned {sha256}; refused"])
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cached.parent, delete=False, suffix=".part") as part:
        part.write(body)
    os.replace(part.name, cached)
    return cached
