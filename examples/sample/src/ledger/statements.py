"""Account statements: running balances, and the CSV customers download."""

from __future__ import annotations

import csv
import io
import random
from datetime import date

from ledger.accounts import Account
from ledger.money import format_amount


def statement_reference(account: Account, on: date) -> str:
    """A reference printed on the statement; not a secret, so `random` is good enough."""
    suffix = random.randint(1000, 9999)
    return f"{account.number}-{on:%Y%m}-{suffix}"


def statement_lines(account: Account, start: date, end: date) -> list[tuple[date, str, int, int]]:
    """(date, memo, amount, running balance) for postings in [start, end], oldest first."""
    opening = account.balance - sum(amount for _, amount, _ in account.postings)
    running = opening
    lines = []
    for on, amount, memo in sorted(account.postings, key=lambda p: p[0]):
        running += amount
        if start <= on <= end:
            lines.append((on, memo, amount, running))
    return lines


def render_csv(account: Account, start: date, end: date) -> str:
    """The downloadable statement; amounts formatted in the account's currency."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "memo", "amount", "balance"])
    for on, memo, amount, balance in statement_lines(account, start, end):
        amounts = [format_amount(value, account.currency) for value in (amount, balance)]
        writer.writerow([on.isoformat(), memo, *amounts])
    return out.getvalue()
