"""The json output is the verdict itself."""

from __future__ import annotations

import json

from gatekeeper.verdict import SCHEMA
from tests.outputs.cases import CASES, renderer, validate


def test_json_output_parses_back_to_the_verdict() -> None:
    for make in CASES.values():
        verdict = make()
        text = renderer("json")(verdict)
        assert text.endswith("}\n")
        parsed = json.loads(text)
        assert parsed == verdict
        assert parsed["schema"] == SCHEMA
        validate(parsed)


def test_json_keeps_non_ascii_readable() -> None:
    text = renderer("json")(CASES["failing"]())
    assert "≥" in text
    assert "\\u2265" not in text
