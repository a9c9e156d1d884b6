"""The text output: the decision first, one line per gate, no colour codes unless asked."""

from __future__ import annotations

import re

import pytest

from tests.outputs.cases import CASES, renderer

ANSI = re.compile(r"\x1b\[")
render = renderer("text")


@pytest.mark.parametrize(
    ("case", "word"), [("failing", "FAIL"), ("warning", "WARN"), ("passing", "PASS"), ("error", "ERROR")]
)
def test_text_starts_with_the_decision(case: str, word: str) -> None:
    text = render(CASES[case](), color=False)
    assert text.split()[0] == word
    assert not ANSI.search(text)


def test_color_marks_the_decision_and_the_gates() -> None:
    text = render(CASES["failing"](), color=True)
    assert text.startswith("\x1b[")
    assert len(ANSI.findall(text)) > len(CASES["failing"]()["gates"])


def test_one_line_per_gate_in_policy_order() -> None:
    verdict = CASES["failing"]()
    lines = render(verdict).splitlines()
    assert lines[2] == ""
    gate_lines = lines[3 : 3 + len(verdict["gates"])]
    for line, gate in zip(gate_lines, verdict["gates"], strict=True):
        badge = "skip" if gate["status"] == "skip" else gate["status"].upper()
        assert line.split()[:2] == [badge, gate["id"]]
        assert line.endswith(gate["message"])


def test_an_error_says_the_gate_could_not_decide() -> None:
    first = render(CASES["error"]()).splitlines()[0]
    assert first.startswith("ERROR could not decide: build/coverage.xml:")


def test_expired_waivers_say_what_they_would_have_waived() -> None:
    text = render(CASES["failing"]())
    expected = "expired waiver (2026-02-28): tool=bandit rule=B314 no longer applies; it would have waived 1 finding"
    assert expected in text


def test_a_long_list_is_cut_and_counted() -> None:
    verdict = CASES["failing"]()
    verdict["details"]["tests"] = verdict["details"]["tests"] * 5  # 20 listed
    verdict["details"]["tests_omitted"] = 100
    text = render(verdict)
    assert "… and 110 more" in text


def test_text_from_reports_cannot_send_escape_codes_or_break_lines() -> None:
    verdict = CASES["failing"]()
    verdict["gates"][1]["message"] = "9 of 10 passed\n\x1b[31mred\x1b[0m"
    verdict["details"]["tests"][0]["message"] = "\x1b]0;owned\x07boom"
    text = render(verdict, color=False)
    assert "\x1b" not in text and "\x07" not in text
    assert "9 of 10 passed\\n\\x1b[31mred\\x1b[0m" in text


def test_reports_past_the_verdicts_size_bound_are_counted_in_the_summary() -> None:
    """A verdict lists its first reports and counts the rest (`inputs_omitted`): the summary line says
    how many were read in all, not how many are listed."""
    verdict = CASES["passing"]()
    listed = len(verdict["inputs"])
    verdict["inputs_omitted"] = {"count": 9_999, "formats": {"lcov": 9_999}, "counts": {"coverage.lines.total": 5}}
    summary = render(verdict).splitlines()[-1]
    formats = sorted({report["format"] for report in verdict["inputs"]} | {"lcov"})
    assert summary == f"  read {listed + 9_999:,} reports ({', '.join(formats)})"
