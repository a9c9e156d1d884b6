from __future__ import annotations

import pytest

from ledger.money import exponent, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.34", "EUR", 1234),
        ("0.005", "EUR", 0),
        ("0.015", "EUR", 2),
        ("1500", "JPY", 1500),
        (" 7 ", "USD", 700),
    ],
)
def test_parse_amount(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize("text", ["twelve", "NaN", ""])
def test_parse_amount_rejects_non_amounts(text: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


def test_unknown_currency() -> None:
    with pytest.raises(ValueError, match="unknown currency"):
        exponent("XYZ")


def test_format_amount() -> None:
    assert format_amount(123450) == "1,234.50 EUR"
    assert format_amount(-5, "USD") == "-0.05 USD"
    assert format_amount(1500, "JPY") == "1,500 JPY"
