from __future__ import annotations

from datetime import date

from ledger.accounts import Ledger
from ledger.statements import render_csv, statement_lines, statement_reference


def make_ledger() -> Ledger:
    ledger = Ledger()
    ledger.open("DE01", "Ada")
    ledger.post("DE01", 10_000, "salary", date(2024, 1, 31))
    ledger.post("DE01", -2_550, "groceries", date(2024, 2, 3))
    ledger.post("DE01", 500, "refund", date(2024, 2, 10))
    return ledger


def test_statement_keeps_running_balance_from_before_the_period() -> None:
    account = make_ledger().get("DE01")
    lines = statement_lines(account, date(2024, 2, 1), date(2024, 2, 29))
    assert [(memo, balance) for _, memo, _, balance in lines] == [("groceries", 7_450), ("refund", 7_950)]


def test_render_csv() -> None:
    account = make_ledger().get("DE01")
    csv_text = render_csv(account, date(2024, 2, 1), date(2024, 2, 5))
    assert csv_text == "date,memo,amount,balance\n2024-02-03,groceries,-25.50 EUR,74.50 EUR\n"


def test_statement_reference_names_account_and_month() -> None:
    account = make_ledger().get("DE01")
    assert statement_reference(account, date(2024, 2, 29)).startswith("DE01-202402-")
