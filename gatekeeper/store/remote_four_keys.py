"""The four keys as a store server computes them: `GET /api/v1/delivery/four-keys` (a read token in
GATEKEEPER_TOKEN); the only module of gatekeeper.store.four_keys that reaches the network."""

from __future__ import annotations

import os

from gatekeeper import dora
from gatekeeper.dora import Measured
from gatekeeper.errors import StoreError

__all__ = ["four_keys_from_server"]


def four_keys_from_server(url: str, project: str, environment: str | None, days: int) -> list[Measured]:
    """The four keys as the store server computes them (a read token in GATEKEEPER_TOKEN)."""
    import requests

    from gatekeeper.store.http import API_PREFIX, TOKEN_ENV, check_url, error_reason, new_session, response_detail

    base = check_url(url).rstrip("/")
    token = os.environ.get(TOKEN_ENV, "").strip()
    headers = {"Accept": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    params = {"project": project, "days": str(days)} | ({"environment": environment} if environment else {})
    session = new_session(base)
    try:
        response = session.get(f"{base}{API_PREFIX}/delivery/four-keys", params=params, headers=headers, timeout=60)
    except requests.RequestException as error:
        raise StoreError(base, f"cannot reach the store server ({error_reason(error)})") from None
    finally:
        session.close()
    if response.status_code == 401:
        raise StoreError(base, f"refused the request (401): set {TOKEN_ENV} to a live read token")
    if response.status_code >= 300:
        raise StoreError(base, f"answered HTTP {response.status_code}: {response_detail(response)}")
    try:
        payload = response.json()
        items = payload["environments"]
        if not isinstance(items, list):
            raise TypeError("environments is not a list")
        measured = []
        for item in items:
            keys, advice = dora.from_document(item, base)
            measured.append(Measured(keys=keys, advice=tuple(advice)))
    except (ValueError, KeyError, TypeError) as error:
        raise StoreError(base, f"answered something that is not the four keys ({error})") from None
    return measured
