"""Sign-in: a form posted from another site is refused, and a client presenting wrong token after wrong
token is made to wait (429 with Retry-After) on the login page and on the API alike.

Each test is its own client: its requests leave from a loopback address of their own (127.0.0.x), which
the server sees as the client's address, as it would see different machines."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.server.conftest import Server, make_tokens, start_server

pytest.importorskip("fastapi", reason="the store server needs gatekeeper[server]")

#: Wrong tokens a client may present within WINDOW seconds (the server is started with these).
LIMIT = 20
WINDOW = 2.0
WRONG = "gk_000000000000_" + "x" * 43


class _From(HTTPAdapter):
    """Connections from one local address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _client(address: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", _From(address))
    return session


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("login-security")
    db_url = f"sqlite:///{tmp / 'server.db'}"
    tokens = make_tokens(db_url)
    server = start_server(
        db_url, tmp, "--token-failures", str(LIMIT), "--token-failure-window", str(WINDOW), "--token-cache-seconds", "0"
    )
    server.tokens = tokens
    yield server
    server.stop()


def _login(client: requests.Session, server: Server, token: str, **headers: str) -> requests.Response:
    return client.post(
        f"{server.url}/login", data={"token": token, "next": "/"}, headers=headers, allow_redirects=False, timeout=30
    )


def test_a_sign_in_or_out_posted_from_another_site_is_refused(guarded: Server) -> None:
    read = guarded.tokens["read"]
    own = guarded.url
    with _client("127.0.0.2") as client:
        for headers in (
            {"Origin": "https://evil.example"},
            {"Origin": "null"},  # a sandboxed frame or a redirect from elsewhere
            {"Origin": own.replace("127.0.0.1", "localhost")},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site", "Origin": own},  # a sibling host can be someone else's
        ):
            refused = _login(client, guarded, read, **headers)
            assert refused.status_code == 403, headers
            assert "set-cookie" not in refused.headers
            out = client.post(f"{own}/logout", headers=headers, allow_redirects=False, timeout=30)
            assert out.status_code == 403 and "set-cookie" not in out.headers, headers

        # What a browser sends from the server's own form, directly or behind a proxy naming its host.
        for headers in (
            {"Origin": own, "Sec-Fetch-Site": "same-origin"},
            {"Origin": "https://gate.example", "X-Forwarded-Host": "gate.example", "Sec-Fetch-Site": "same-origin"},
            {},  # curl: no browser headers at all
        ):
            signed_in = _login(client, guarded, read, **headers)
            assert signed_in.status_code == 303, headers
            assert "gatekeeper_session=" in signed_in.headers["set-cookie"]
            out = client.post(f"{own}/logout", headers=headers, allow_redirects=False, timeout=30)
            assert out.status_code == 303 and 'gatekeeper_session=""' in out.headers["set-cookie"], headers


def _refused_after(limit: int, attempt: Any) -> requests.Response:
    """Wrong tokens until one is answered 429: never before the `limit`th, and soon after it (on a slow
    machine a few of the first may age out of the window first, so a few more may be needed)."""
    for presented in range(1, limit * 3):
        response = attempt()
        if response.status_code == 429:
            assert presented > limit
            return response
        assert response.status_code == 401, response.text
    raise AssertionError(f"no 429 after {limit * 3} wrong tokens")


def _retry_after(response: requests.Response) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= WINDOW + 1
    return seconds


def test_wrong_tokens_on_the_login_page_make_the_client_wait(guarded: Server) -> None:
    read = guarded.tokens["read"]
    with _client("127.0.0.3") as guesser, _client("127.0.0.4") as neighbour:
        refused = _refused_after(LIMIT, lambda: _login(guesser, guarded, WRONG))
        assert "Too many wrong tokens" in refused.text
        wait = _retry_after(refused)
        # The right token too, from this client, while it waits; another client is not held up.
        assert _login(guesser, guarded, read).status_code == 429
        assert _login(neighbour, guarded, read).status_code == 303
        time.sleep(wait)
        assert _login(guesser, guarded, read).status_code == 303


def test_wrong_bearer_tokens_make_the_client_wait(guarded: Server) -> None:
    def get(client: requests.Session, token: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return client.get(f"{guarded.url}/api/v1/latest", headers=headers, timeout=30)

    read = guarded.tokens["read"]
    with _client("127.0.0.5") as guesser, _client("127.0.0.6") as neighbour:
        refused = _refused_after(LIMIT, lambda: get(guesser, WRONG))
        assert refused.json()["detail"].startswith("too many wrong tokens")
        wait = _retry_after(refused)
        assert get(guesser, read).status_code == 429
        assert get(neighbour, read).status_code == 200
        # The session cookie is the same token check: a guess there waits too (sent to sign in).
        page = guesser.get(f"{guarded.url}/", cookies={"gatekeeper_session": read}, allow_redirects=False, timeout=30)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        time.sleep(wait)
        assert get(guesser, read).status_code == 200


def test_a_real_browser_posting_from_another_site_is_refused(browser: Any, guarded: Server) -> None:
    """What Chromium itself sends: a page of another site with forms to this server's /login and
    /logout gets 403 for both (no cookie set, none removed), while this server's own form signs in."""
    attacker = f"""<!doctype html><title>elsewhere</title>
        <form id="in" method="post" action="{guarded.url}/login">
          <input type="hidden" name="token" value="{guarded.tokens["read"]}"><button>in</button></form>
        <form id="out" method="post" action="{guarded.url}/logout"><button>out</button></form>"""
    context = browser.new_context()
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.route("http://elsewhere.example/**", lambda route: route.fulfill(body=attacker, content_type="text/html"))
        page.goto("http://elsewhere.example/")
        with page.expect_navigation():
            page.click("#in button")
        assert "This form was sent from another site" in page.content()
        assert context.cookies() == []

        page.goto(f"{guarded.url}/login")
        page.get_by_label("Token").fill(guarded.tokens["read"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        assert [cookie["name"] for cookie in context.cookies()] == ["gatekeeper_session"]

        page.goto("http://elsewhere.example/")
        with page.expect_navigation():
            page.click("#out button")
        assert "This form was sent from another site" in page.content()
        assert [cookie["name"] for cookie in context.cookies()] == ["gatekeeper_session"]
    finally:
        context.close()
