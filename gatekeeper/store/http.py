"""The store server's HTTP API as its clients reach it: the upload sink, the spool's flush and the
store reader (`gatekeeper.store.remote`), so none of them reaches into another.

Where the server is (`GATEKEEPER_URL`, an http(s) base URL), the token (`GATEKEEPER_TOKEN`, from the
environment only), the API's versioned path, a session that keeps loopback traffic off proxies, and one
line for what went wrong.  The Pushgateway sink uses the same session and error line.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gatekeeper.context import is_loopback_host
from gatekeeper.errors import UsageError, one_line

if TYPE_CHECKING:
    import requests

URL_ENV = "GATEKEEPER_URL"
TOKEN_ENV = "GATEKEEPER_TOKEN"  # never a flag: flags show in process lists and CI logs
API_PREFIX = "/api/v1"


def check_url(url: str) -> str:
    """A usable base URL, or a usage error naming what is wrong (before anything is sent)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"store URL must be http(s)://HOST[:PORT][/PATH]: {url!r}")
    return url


def is_loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname)


def new_session(url: str) -> requests.Session:
    """A session that never sends this machine's traffic through a proxy.

    CI runners often set http_proxy without no_proxy; a proxy would take 127.0.0.1 to be itself.
    """
    import requests

    session = requests.Session()
    if is_loopback(url):
        session.trust_env = False
    return session


def response_detail(response: requests.Response) -> str:
    """The server's own explanation when it gives one (`detail` / `error` / `message`), else the reason."""
    text = ""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        for key in ("detail", "error", "message"):
            if payload.get(key):
                value = payload[key]
                text = value if isinstance(value, str) else json.dumps(value)
                break
    if not text:
        text = response.reason or ""
    return one_line(text)[:300] or f"HTTP {response.status_code}"


def error_reason(error: BaseException) -> str:
    """A network error as one short line: its type (ConnectTimeout, SSLError...) and requests' message."""
    return one_line(f"{type(error).__name__}: {error}")[:300]
