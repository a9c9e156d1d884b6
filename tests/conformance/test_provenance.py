"""The in-repository corpus is what its PROVENANCE.md says it is: every report listed, with its size and sha256.

A report edited in place (an editor's final newline, a line-ending conversion, a "fix" to a broken file)
would quietly change what the conformance cases test; the digest catches it, and a report added or
removed without its provenance row fails too.  This checks tests/data/corpus/ whatever
`$GATEKEEPER_CORPUS` says: that variable chooses what the suite reads, not what the repository holds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from dataclasses import dataclass

import pytest

from tests.conftest import IN_REPO_CORPUS, corpus_reports

PROVENANCE = IN_REPO_CORPUS / "PROVENANCE.md"
#: A table row: "| `path` (1,234 B) | … | `<sha256>` |".
ROW = re.compile(r"^\| `(?P<path>[^`]+)` \((?P<size>[\d,]+) B\) \|.*\| `(?P<sha256>[0-9a-f]{64})` \|$")


@dataclass(frozen=True, slots=True)
class Listed:
    """One report as PROVENANCE.md lists it."""

    size: int
    sha256: str


def listed() -> dict[str, Listed]:
    rows: dict[str, Listed] = {}
    for number, line in enumerate(PROVENANCE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("| `"):
            continue
        match = ROW.match(line)
        assert match, f"{PROVENANCE}:{number}: a file row without its size and sha256 columns"
        assert match["path"] not in rows, f"{PROVENANCE}:{number}: {match['path']} listed twice"
        rows[match["path"]] = Listed(int(match["size"].replace(",", "")), match["sha256"])
    return rows


LISTED = listed()
REPORTS = [path.relative_to(IN_REPO_CORPUS).as_posix() for path in corpus_reports(IN_REPO_CORPUS)]


def test_every_report_is_listed_and_every_listed_file_is_there() -> None:
    assert len(REPORTS) > 50
    assert sorted(LISTED) == REPORTS


@pytest.mark.parametrize("name", REPORTS)
def test_report_is_byte_for_byte_as_listed(name: str) -> None:
    data = (IN_REPO_CORPUS / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == LISTED[name].sha256, f"{name} differs from PROVENANCE.md"
    assert len(data) == LISTED[name].size, f"{name}: {len(data):,} B, PROVENANCE.md says {LISTED[name].size:,} B"


def test_our_rows_are_what_the_generator_writes() -> None:
    """The rows PROVENANCE.md marks as ours are exactly the files make_ours.py (beside them) writes."""
    spec = importlib.util.spec_from_file_location("make_ours", IN_REPO_CORPUS / "make_ours.py")
    assert spec is not None and spec.loader is not None
    make_ours = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_ours)
    lines = PROVENANCE.read_text(encoding="utf-8").splitlines()
    ours = {match["path"] for line in lines if "| this repository (ours) |" in line if (match := ROW.match(line))}
    written = {path.relative_to(IN_REPO_CORPUS).as_posix() for path in (make_ours.BANDIT_SARIF, make_ours.JACOCO_XML)}
    assert ours == written
