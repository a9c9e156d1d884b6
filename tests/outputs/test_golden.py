"""Every renderer on every case, compared with a golden file a person has read.

After a deliberate change, rewrite the files with `GATEKEEPER_UPDATE_GOLDEN=1 pytest tests/outputs`
and review the diff as a release manager would read it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gatekeeper.outputs import RENDERERS
from tests.outputs.cases import CASES, renderer, validate

GOLDEN = Path(__file__).parent / "golden"
SUFFIX = {
    "text": "txt",
    "json": "json",
    "markdown": "md",
    "junit": "xml",
    "gitlab-codequality": "codequality.json",
    "github-annotations": "annotations.txt",
}
UPDATE = os.environ.get("GATEKEEPER_UPDATE_GOLDEN") == "1"


def test_every_renderer_has_a_golden_suffix() -> None:
    assert set(SUFFIX) == set(RENDERERS)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("output_format", sorted(RENDERERS))
def test_golden(case: str, output_format: str) -> None:
    rendered = renderer(output_format)(CASES[case]())
    golden = GOLDEN / f"{case}.{SUFFIX[output_format]}"
    if UPDATE:
        golden.write_text(rendered, encoding="utf-8")
        pytest.skip(f"wrote {golden.name}: review it before committing")
    assert golden.exists(), f"{golden} is missing: run with GATEKEEPER_UPDATE_GOLDEN=1 and review it"
    assert rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_verdict_validates_against_the_schema(case: str) -> None:
    validate(CASES[case]())


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_verdict_renders_the_same_after_storage(case: str) -> None:
    """Stored and uploaded verdicts are JSON: they must render exactly as fresh ones."""
    verdict = CASES[case]()
    stored = json.loads(json.dumps(verdict))
    for name in RENDERERS:
        assert renderer(name)(stored) == renderer(name)(verdict)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_inputs_give_the_same_verdict(case: str) -> None:
    assert json.dumps(CASES[case]()) == json.dumps(CASES[case]())
