from __future__ import annotations

from datetime import date

import pytest

from ledger.accounts import Ledger, LedgerError

DAY = date(2024, 3, 1)


@pytest.fixture
def ledger() -> Ledger:
    ledger = Ledger()
    ledger.open("DE01", "Ada", overdraft_limit=10_000)
    ledger.open("DE02", "Grace")
    ledger.post("DE01", 50_000, "opening deposit", DAY)
    return ledger


def test_open_twice_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="already exists"):
        ledger.open("DE01", "Ada")


def test_negative_overdraft_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="negative"):
        ledger.open("DE03", "Alan", overdraft_limit=-1)


def test_overdraft_allows_debit_up_to_limit(ledger: Ledger) -> None:
    assert ledger.post("DE01", -60_000, "rent", DAY) == -10_000
    with pytest.raises(LedgerError, match="insufficient funds"):
        ledger.post("DE01", -1, "coffee", DAY)


def test_zero_posting_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="must move money"):
        ledger.post("DE01", 0, "nothing", DAY)


def test_frozen_account_refuses_postings(ledger: Ledger) -> None:
    ledger.freeze("DE01")
    assert ledger.get("DE01").available() == 0
    with pytest.raises(LedgerError, match="frozen"):
        ledger.post("DE01", 100, "refund", DAY)


def test_transfer_moves_money_and_keeps_total(ledger: Ledger) -> None:
    ledger.transfer("DE01", "DE02", 20_000, DAY)
    assert (ledger.get("DE01").balance, ledger.get("DE02").balance) == (30_000, 20_000)
    assert ledger.total("EUR") == 50_000


def test_failed_transfer_changes_nothing(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="insufficient funds"):
        ledger.transfer("DE02", "DE01", 1, DAY)
    assert ledger.get("DE01").balance == 50_000


@pytest.mark.parametrize(
    ("source", "target", "amount", "message"),
    [
        ("DE01", "DE01", 1, "same account"),
        ("DE01", "DE02", 0, "must be positive"),
        ("DE01", "XX99", 1, "no account"),
    ],
)
def test_transfer_refusals(ledger: Ledger, source: str, target: str, amount: int, message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        ledger.transfer(source, target, amount, DAY)


@pytest.mark.skip(reason="multi-currency transfers are planned for ledger 0.2")
def test_transfer_converts_currency(ledger: Ledger) -> None:
    ledger.open("CH01", "Emmy", currency="CHF")
    ledger.transfer("DE01", "CH01", 10_000, DAY)
