"""Shared fixtures: where the conformance corpus lives.

The corpus travels with the code (tests/data/corpus/, see its PROVENANCE.md), so every test that reads it
runs on a fresh clone; `$GATEKEEPER_CORPUS` points the suite at another corpus (a copy being extended),
which must then hold every report of the in-repository one.  A missing corpus is an error, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IN_REPO_CORPUS = REPO / "tests" / "data" / "corpus"
CORPUS = Path(os.environ.get("GATEKEEPER_CORPUS") or IN_REPO_CORPUS).resolve()
#: Files of a corpus folder's top level that are not reports: its provenance, git attributes, generator.
NOT_REPORTS = frozenset({"PROVENANCE.md", ".gitattributes", "make_ours.py"})


def pytest_configure(config: pytest.Config) -> None:
    if not CORPUS.is_dir():
        raise pytest.UsageError(f"GATEKEEPER_CORPUS={CORPUS}: not a directory (unset it to use {IN_REPO_CORPUS})")


def corpus_reports(root: Path = CORPUS) -> list[Path]:
    """Every report of a corpus folder, sorted: its files less the top-level ones that are not reports."""
    return sorted(
        path for path in root.rglob("*") if path.is_file() and not (path.parent == root and path.name in NOT_REPORTS)
    )


def corpus_path(relative: str) -> Path:
    """A report of the corpus; a corpus without it fails the test (an extended corpus keeps every report)."""
    path = CORPUS / relative
    if not path.is_file():
        pytest.fail(f"{relative} is not in the corpus at {CORPUS}")
    return path
