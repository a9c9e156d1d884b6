"""The tests page's captions count in words (issue 18 review: it said "The 1 tests with the most failed
runs"), rendered by the server's own template environment."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

pytest.importorskip("jinja2")

from gatekeeper.server.web.flakiness import TestBoard, TestRecord
from gatekeeper.server.web.routes import _environment


def _page(flakiest: int, failing: int) -> str:
    record = TestRecord(test="tests.test_b.test_fail", runs=3, failures=2, flips=1)
    board = TestBoard(flakiest=[record] * flakiest, failing=[record] * failing, verdicts_read=3, runs=3)
    values = {"signed_in": True, "section": "overview", "project": "demo/calc", "branch": None, "days": 14}
    since = datetime(2026, 11, 23, tzinfo=timezone.utc)
    return (
        _environment()
        .get_template("project_tests.html")
        .render(values | {"since": since, "board": board, "limit": 300})
    )


def test_one_test_is_one_test() -> None:
    page = _page(1, 1)
    assert "The 1 test that flipped most between passing and failing" in page
    assert "The 1 test with the most failed runs" in page
    assert "1 tests" not in page


def test_two_tests_are_tests() -> None:
    page = _page(2, 2)
    assert "The 2 tests that flipped most between passing and failing" in page
    assert "The 2 tests with the most failed runs" in page
