"""Interest accrual under the day-count conventions banks quote rates in."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal


def day_count_fraction(start: date, end: date, convention: str) -> Decimal:
    """The year fraction between two dates: ACT/360, ACT/365 or 30/360 (bond basis)."""
    if end < start:
        raise ValueError("end date is before start date")
    if convention == "ACT/360":
        return Decimal((end - start).days) / 360
    if convention == "ACT/365":
        return Decimal((end - start).days) / 365
    if convention == "30/360":
        d1 = min(start.day, 30)
        d2 = min(end.day, 30) if d1 == 30 else end.day
        days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)
        return Decimal(days) / 360
    raise ValueError(f"unknown day-count convention {convention!r}")


def accrue(balance: int, annual_rate: Decimal, start: date, end: date, convention: str = "ACT/365") -> int:
    """Simple interest in minor units; negative balances accrue at the same rate (debit interest)."""
    fraction = day_count_fraction(start, end, convention)
    interest = Decimal(balance) * annual_rate * fraction
    return int(interest.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def tiered_rate(balance: int, tiers: list[tuple[int, Decimal]]) -> Decimal:
    """The rate of the highest tier whose threshold the balance reaches; tiers sorted ascending."""
    rate = Decimal(0)
    for threshold, tier_rate in tiers:
        if balance < threshold:
            break
        rate = tier_rate
    return rate
