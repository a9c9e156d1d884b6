"""Shared fixtures: where the shared conformance corpus lives, and how to skip without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("GATEKEEPER_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def corpus_path(relative: str) -> Path:
    """A file of the shared corpus, or a skip that says why it is absent."""
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"shared corpus not found at {CORPUS} (set GATEKEEPER_CORPUS to its location)")
    return path


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (set GATEKEEPER_CORPUS to its location)")
    return CORPUS
