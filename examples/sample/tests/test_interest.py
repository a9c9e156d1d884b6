from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.interest import accrue, day_count_fraction, tiered_rate


@pytest.mark.parametrize(
    ("convention", "expected"),
    [("ACT/360", Decimal(181) / 360), ("ACT/365", Decimal(181) / 365), ("30/360", Decimal(180) / 360)],
)
def test_day_count_half_year(convention: str, expected: Decimal) -> None:
    assert day_count_fraction(date(2023, 1, 1), date(2023, 7, 1), convention) == expected


def test_thirty_360_end_of_month() -> None:
    assert day_count_fraction(date(2024, 1, 31), date(2024, 3, 31), "30/360") == Decimal(60) / 360


def test_day_count_refuses_reversed_dates_and_unknown_conventions() -> None:
    with pytest.raises(ValueError, match="before start"):
        day_count_fraction(date(2024, 2, 1), date(2024, 1, 1), "ACT/360")
    with pytest.raises(ValueError, match="unknown day-count"):
        day_count_fraction(date(2024, 1, 1), date(2024, 2, 1), "ACT/ACT")


def test_accrue_one_year() -> None:
    assert accrue(100_000, Decimal("0.035"), date(2023, 1, 1), date(2024, 1, 1)) == 3_500


def test_tiered_rate() -> None:
    tiers = [(0, Decimal("0.01")), (1_000_000, Decimal("0.02")), (10_000_000, Decimal("0.025"))]
    assert tiered_rate(500_000, tiers) == Decimal("0.01")
    assert tiered_rate(2_000_000, tiers) == Decimal("0.02")
