"""Organisation policies by URL, pinned by sha256: fetched once, cached, refused if the digest differs.

A central team publishes one policy; every pipeline extends it by URL and digest, so nobody can change
what a pipeline enforces without a commit that changes the pin.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gatekeeper.errors import PolicyError

CACHE_ENV = "GATEKEEPER_CACHE"
FETCH_TIMEOUT_SECONDS = 30
MAX_POLICY_BYTES = 1 << 20


def cache_directory() -> Path:
    """`$GATEKEEPER_CACHE/policies`, else the user's cache directory."""
    base = os.environ.get(CACHE_ENV) or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / ("policies" if os.environ.get(CACHE_ENV) else "gatekeeper/policies")


def _allowed(url: str) -> bool:
    """HTTPS anywhere; plain HTTP only to this machine (a local mirror, or tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and _on_this_machine(parts.hostname)


def _on_this_machine(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _open(url: str) -> Any:
    """urlopen, except that this machine is never reached through a proxy.

    CI runners often set http_proxy/https_proxy without no_proxy; a proxy would take 127.0.0.1 to be
    itself, and a local mirror would be unreachable.
    """
    if _on_this_machine(urlsplit(url).hostname):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        return opener.open(url, timeout=FETCH_TIMEOUT_SECONDS)
    return urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS)


def fetch_pinned(url: str, sha256: str) -> Path:
    """The cached copy of the policy at `url` whose content has digest `sha256`, fetching it if needed."""
    if not _allowed(url):
        raise PolicyError([f"extends {url}: only https:// URLs (or http:// on this machine) may be fetched"])
    cached = cache_directory() / f"{sha256}.yaml"
    if cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == sha256:
        return cached
    try:
        with _open(url) as response:
            body = response.read(MAX_POLICY_BYTES + 1)
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
