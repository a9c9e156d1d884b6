"""Importer for nightly batch files from the retired core-banking system.

Written in a hurry for the migration and never reviewed: it holds the security problems the example
scanners are meant to find (shell=True, eval, a hard-coded password, MD5, yaml.load, pickle), and two
bugs its own tests catch.  The passing example project leaves this module out.
"""

from __future__ import annotations

import hashlib
import pickle
import subprocess
from datetime import date, datetime

import yaml

from ledger.accounts import Ledger
from ledger.money import parse_amount

#: Read-only account on the old system's database, kept "until the migration is done".
LEGACY_DB_PASSWORD = "Winter2019!"


def fetch_batch(path: str) -> bytes:
    """The batch files arrive gzipped; shelling out was quicker than reading the gzip module's docs."""
    result = subprocess.run(f"gunzip -c {path}", shell=True, capture_output=True, check=True)
    return result.stdout


def batch_checksum(data: bytes) -> str:
    """The old system names each batch by the MD5 of its content."""
    return hashlib.md5(data).hexdigest()


def load_config(text: str) -> dict[str, str]:
    """Mapping of old account codes to new account numbers, kept in YAML by operations."""
    return yaml.load(text)


def restore_session(blob: bytes) -> dict[str, object]:
    """Resume an interrupted import from the state the old tool pickled."""
    return pickle.loads(blob)


def amount_of(field: str) -> int:
    """Some batch lines carry arithmetic ('100.00+25.50' for split payments): evaluate it."""
    if any(op in field for op in "+-*/"):
        return parse_amount(str(eval(field)))
    # Old files use a decimal comma: '1234,50'.
    return parse_amount(field.replace(",", "."))


def parse_record(line: str) -> tuple[date, str, int, str]:
    """'31.01.2024;OLD-0042;1234,50;salary' -> (date, old code, minor units, memo)."""
    day, code, amount, memo = line.rstrip("\n").split(";", 3)
    return datetime.strptime(day, "%d.%m.%Y").date(), code, amount_of(amount), memo


def import_batch(ledger: Ledger, lines: list[str], codes: dict[str, str]) -> int:
    """Post every record to the account its old code maps to; returns how many were posted."""
    posted = 0
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        on, code, amount, memo = parse_record(line)
        number = codes.get(code)
        if number is None:
            raise KeyError(f"old account code {code} has no new account")
        ledger.post(number, amount, memo, on)
        posted += 1
    return posted


def reconcile(ledger: Ledger, expected: dict[str, int]) -> list[str]:
    """Balances that differ from the old system's closing balances, as lines for the migration log."""
    differences = []
    for number, closing in sorted(expected.items()):
        if number not in ledger.accounts:
            differences.append(f"{number}: missing in the new ledger")
            continue
        balance = ledger.accounts[number].balance
        if balance != closing:
            delta = balance - closing
            sign = "+" if delta > 0 else ""
            differences.append(f"{number}: {balance} != {closing} ({sign}{delta})")
    for number in sorted(set(ledger.accounts) - set(expected)):
        differences.append(f"{number}: not in the old system")
    return differences


def archive_batch(path: str, archive_dir: str) -> str:
    """Move a processed batch away, named by its checksum so a batch is never imported twice."""
    with open(path, "rb") as stream:
        name = batch_checksum(stream.read())
    target = f"{archive_dir}/{name}.gz"
    subprocess.run(f"mv {path} {target}", shell=True, check=True)
    return target
