"""Accounts and the ledger that moves money between them, refusing what a bank must refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


class LedgerError(Exception):
    """A posting the ledger refuses: the caller must not assume any balance changed."""


@dataclass
class Account:
    """One account; the balance is in minor units, the overdraft limit is a positive number."""

    number: str
    owner: str
    currency: str = "EUR"
    balance: int = 0
    overdraft_limit: int = 0
    frozen: bool = False
    postings: list[tuple[date, int, str]] = field(default_factory=list)

    def available(self) -> int:
        """What can still be withdrawn, overdraft included; nothing while frozen."""
        if self.frozen:
            return 0
        return self.balance + self.overdraft_limit


class Ledger:
    """All accounts of one branch; every change goes through `post` so it is recorded."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}

    def open(self, number: str, owner: str, currency: str = "EUR", overdraft_limit: int = 0) -> Account:
        if number in self.accounts:
            raise LedgerError(f"account {number} already exists")
        if overdraft_limit < 0:
            raise LedgerError("overdraft limit cannot be negative")
        account = Account(number=number, owner=owner, currency=currency, overdraft_limit=overdraft_limit)
        self.accounts[number] = account
        return account

    def get(self, number: str) -> Account:
        try:
            return self.accounts[number]
        except KeyError:
            raise LedgerError(f"no account {number}") from None

    def post(self, number: str, amount: int, memo: str, on: date) -> int:
        """Credit (amount > 0) or debit (amount < 0) one account; returns the new balance."""
        account = self.get(number)
        if amount == 0:
            raise LedgerError("a posting must move money")
        if account.frozen:
            raise LedgerError(f"account {number} is frozen")
        if amount < 0 and -amount > account.available():
            raise LedgerError(f"insufficient funds on {number}")
        account.balance += amount
        account.postings.append((on, amount, memo))
        return account.balance

    def transfer(self, source: str, target: str, amount: int, on: date) -> None:
        """Both postings or neither: the debit is checked before anything is written."""
        if source == target:
            raise LedgerError("cannot transfer to the same account")
        if amount <= 0:
            raise LedgerError("transfer amount must be positive")
        debit, credit = self.get(source), self.get(target)
        if debit.currency != credit.currency:
            raise LedgerError(f"currency mismatch: {debit.currency} -> {credit.currency}")
        self.post(source, -amount, f"transfer to {target}", on)
        self.post(target, amount, f"transfer from {source}", on)

    def freeze(self, number: str) -> None:
        self.get(number).frozen = True

    def total(self, currency: str) -> int:
        """Sum of all balances in one currency: must equal the bank's books."""
        return sum(a.balance for a in self.accounts.values() if a.currency == currency)
