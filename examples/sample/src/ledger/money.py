"""Amounts as integer minor units (cents), so balances never drift the way floats do."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

#: Minor units per major unit; currencies without cents (JPY) have exponent 0.
EXPONENTS = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0}


def exponent(currency: str) -> int:
    """Decimal places of a currency; an unknown code is an error rather than a guess."""
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}") from None


def parse_amount(text: str, currency: str = "EUR") -> int:
    """'1234.5' -> 123450 minor units; banker's rounding past the currency's precision."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    scaled = value.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(scaled)


def format_amount(minor: int, currency: str = "EUR") -> str:
    """123450 -> '1,234.50 EUR'; negative amounts keep their sign in front."""
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    major, cents = divmod(abs(minor), 10**places)
    if places == 0:
        return f"{sign}{major:,} {currency}"
    return f"{sign}{major:,}.{cents:0{places}d} {currency}"
