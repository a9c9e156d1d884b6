"""`gatekeeper.upload.deliver` against a real HTTP server on loopback: what is retried, what is not."""

from __future__ import annotations

import pytest

from gatekeeper.upload import Outcome, deliver, retry_after, verdict_url
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
    [(409, Outcome.CONFLICT), (422, Outcome.REJECTED), (413, Outcome.REJECTED), (403, Outcome.REJECTED)],
)
def test_final_answers_are_never_retried(store: LoopbackStore, status: int, outcome: Outcome) -> None:
    store.default = status
    result = deliver(verdict(6), store.url, None, sleep=pytest.fail)
    assert result.outcome is outcome
    assert result.attempts == 1 and store.puts[verdict(6)["id"]] == 1
    assert result.detail == f"scripted {status}"


def test_a_wrong_url_is_not_retried_and_not_rejected(store: LoopbackStore) -> None:
    result = deliver(verdict(7), store.url + "/wrong/prefix", None, sleep=pytest.fail)
    assert result.outcome is Outcome.UNDELIVERED
    assert result.status_code == 404 and result.attempts == 1


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
    assert verdict_url("http://h:1/", "a/b") == "http://h:1/api/v1/verdicts/a%2Fb"
    assert verdict_url("http://h:1/api/v1", "x") == "http://h:1/api/v1/verdicts/x"
    assert retry_after("7") == 7.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 10) == 10.0
    assert retry_after("soon") is None and retry_after(None) is None
