"""`gatekeeper.sinks.upload.deliver` against a real HTTP server on loopback: what is retried, what is not."""

from __future__ import annotations

import pytest

from gatekeeper.errors import UsageError
from gatekeeper.sinks.upload import ID_PATTERN, Outcome, deliver, retry_after, verdict_url
from tests.client.loopback import LoopbackStore, free_port, serving, verdict


def test_retries_connection_drops_and_5xx_then_delivers(store: LoopbackStore) -> None:
    store.script = [503, "close", 500, 502]
    waits: list[float] = []
    result = deliver(verdict(1), store.url, None, attempts=6, sleep=waits.append)
    assert result.outcome is Outcome.DELIVERED
    assert result.status_code == 201
    assert result.attempts == 5
    assert len(waits) == 4
    assert store.puts[verdict(1)["id"]] == 5
    assert list(store.stored()) == [verdict(1)["id"]]


def test_429_retry_after_is_honoured(store: LoopbackStore) -> None:
    store.script = [(429, {"Retry-After": "3"}), (503, {"Retry-After": "1"})]
    waits: list[float] = []
    result = deliver(verdict(2), store.url, None, sleep=waits.append)
    assert result.delivered
    assert waits == [3.0, 1.0]  # the server's wait, not our backoff


def test_a_retry_after_beyond_the_cap_gives_up_at_once(store: LoopbackStore) -> None:
    store.default = (503, {"Retry-After": "3600"})
    waits: list[float] = []
    result = deliver(verdict(3), store.url, None, sleep=waits.append)
    assert result.outcome is Outcome.UNDELIVERED
    assert result.attempts == 1 and waits == []
    assert "3600" in result.detail


def test_503_forever_is_undelivered_after_the_attempts(store: LoopbackStore) -> None:
    store.default = 503
    waits: list[float] = []
    result = deliver(verdict(4), store.url, None, attempts=4, sleep=waits.append)
    assert result.outcome is Outcome.UNDELIVERED
    assert result.status_code == 503 and result.attempts == 4
    assert store.puts[verdict(4)["id"]] == 4
    assert all(0 <= w <= 8 for w in waits)


def test_a_server_that_is_down_is_undelivered_within_the_time_budget() -> None:
    result = deliver(
        verdict(5), f"http://127.0.0.1:{free_port()}", None, attempts=100, timeout=1.5, base_delay=0.05, max_delay=0.2
    )
    assert result.outcome is Outcome.UNDELIVERED
    assert result.status_code is None
    assert "ConnectionError" in result.detail


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(409, Outcome.CONFLICT)]
    + [(status, Outcome.REJECTED) for status in (400, 401, 403, 404, 405, 410, 411, 413, 414, 415, 422, 451, 499)],
)
def test_every_4xx_but_408_and_429_is_final_and_never_retried(
    store: LoopbackStore, status: int, outcome: Outcome
) -> None:
    store.default = status
    result = deliver(verdict(6), store.url, None, sleep=pytest.fail)
    assert result.outcome is outcome and result.final
    assert result.attempts == 1 and store.puts[verdict(6)["id"]] == 1
    assert result.detail.startswith(f"scripted {status}")


@pytest.mark.parametrize("status", [408, 429])
def test_408_and_429_are_retried(store: LoopbackStore, status: int) -> None:
    store.script = [status, status]
    waits: list[float] = []
    result = deliver(verdict(6), store.url, None, sleep=waits.append)
    assert result.delivered and result.attempts == 3 and len(waits) == 2


def test_a_wrong_url_is_not_retried_and_says_so(store: LoopbackStore) -> None:
    result = deliver(verdict(7), store.url + "/wrong/prefix", None, sleep=pytest.fail)
    assert result.outcome is Outcome.REJECTED
    assert result.status_code == 404 and result.attempts == 1
    assert "/wrong/prefix the store server's base URL?" in result.detail


def test_a_redirect_is_not_followed_and_keeps_the_verdict(store: LoopbackStore) -> None:
    store.default = (307, {"Location": "http://elsewhere.invalid/"})
    result = deliver(verdict(7), store.url, None, sleep=pytest.fail)
    assert result.outcome is Outcome.UNDELIVERED and result.status_code == 307 and result.attempts == 1


@pytest.mark.parametrize("bad", ["a/b", "..", ".", "x?y=1", "x#y", "a b", "é", "", "x" * 65, "a%2Fb", "a\x00b"])
def test_an_id_no_server_takes_is_refused_before_anything_is_sent(store: LoopbackStore, bad: str) -> None:
    result = deliver(verdict(1, id=bad), store.url, None, sleep=pytest.fail) if bad else None
    if result is not None:
        assert result.outcome is Outcome.REJECTED and result.final
        assert result.attempts == 0 and result.status_code is None
        assert ID_PATTERN in result.detail
    assert store.puts == {}
    with pytest.raises(UsageError, match="can never be stored"):
        verdict_url("http://h:1", bad)


def test_the_client_takes_the_ids_the_server_takes() -> None:
    server = pytest.importorskip("gatekeeper.server.app", reason="the server extra is not installed")
    assert server.ID_PATTERN == ID_PATTERN


def test_the_same_verdict_twice_is_delivered_and_a_changed_one_conflicts(store: LoopbackStore) -> None:
    assert deliver(verdict(8), store.url, None).status_code == 201
    assert deliver(verdict(8), store.url, None).status_code == 200
    changed = deliver(verdict(8, status="fail"), store.url, None)
    assert changed.outcome is Outcome.CONFLICT


def test_the_token_goes_in_the_authorization_header_only() -> None:
    with serving(LoopbackStore(token="s3cret")) as store:
        assert deliver(verdict(9), store.url, None).outcome is Outcome.REJECTED
        assert deliver(verdict(9), store.url, "s3cret").delivered


def test_urls_and_retry_after_forms() -> None:
    assert verdict_url("http://h:1/", "a-B-0") == "http://h:1/api/v1/verdicts/a-B-0"
    assert verdict_url("http://h:1/api/v1", "x") == "http://h:1/api/v1/verdicts/x"
    assert retry_after("7") == 7.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 10) == 10.0
    assert retry_after("soon") is None and retry_after(None) is None
