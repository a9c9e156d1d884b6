"""The suite behind pytest-rerunfailures.xml (see README.md): run with `--reruns 2`, never by the test suite.

Each flaky test counts its attempts in a file under $RERUN_STATE, so it fails a set number of times and
then passes, as a flaky test does.
"""

import os
from pathlib import Path

import pytest


def attempt(name: str) -> int:
    """This test's attempt number, from 1: kept in a file, since every re-run is a fresh call."""
    state = Path(os.environ["RERUN_STATE"]) / name
    count = int(state.read_text()) + 1 if state.exists() else 1
    state.write_text(str(count))
    return count


@pytest.fixture
def broken_fixture() -> None:
    raise RuntimeError("setup breaks every time")


def test_passes() -> None:
    assert True


def test_flaky_once() -> None:
    assert attempt("once") > 1, "fails on the first attempt only"


def test_flaky_twice() -> None:
    assert attempt("twice") > 2, "fails on the first two attempts"


def test_always_fails() -> None:
    assert 1 == 2, "always wrong"


def test_errors_in_setup(broken_fixture: None) -> None:
    pass


@pytest.mark.skip(reason="not on this platform")
def test_skipped() -> None:
    pass
