"""A tiny bank ledger: the sample code behind gatekeeper's bundled example reports."""

from __future__ import annotations

from ledger.accounts import Account, Ledger, LedgerError
from ledger.money import format_amount, parse_amount

__all__ = ["Account", "Ledger", "LedgerError", "format_amount", "parse_amount"]
