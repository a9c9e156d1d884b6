"""The markdown output must be valid GitHub-flavoured markdown whatever the reports say."""

from __future__ import annotations

import re

import pytest

from tests.outputs.cases import CASES, renderer

render = renderer("markdown")
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


@pytest.mark.parametrize("case", sorted(CASES))
def test_table_rows_have_equal_columns(case: str) -> None:
    rows = _table_rows(render(CASES[case]()))
    if CASES[case]()["gates"]:
        assert len(rows) == 2 + len(CASES[case]()["gates"])
        assert re.fullmatch(r"\|(---\|)+", rows[1])
    counts = {len(UNESCAPED_PIPE.findall(row)) for row in rows}
    assert len(counts) <= 1, rows


def test_pipes_and_markdown_characters_from_reports_are_escaped() -> None:
    verdict = CASES["failing"]()
    gate = verdict["gates"][0]
    gate["id"] = "odd|id"
    gate["message"] = "a | b *not emphasis* <script> `tick`"
    gate["criterion"] = "x|y"
    text = render(verdict)
    row = next(line for line in _table_rows(text) if "odd" in line)
    assert len(UNESCAPED_PIPE.findall(row)) == 5
    assert r"a \| b \*not emphasis\* \<script\> \`tick\`" in row
    assert "`odd\\|id`" in row
    assert "<script>" not in text


def test_multi_line_messages_stay_on_one_line() -> None:
    text = render(CASES["failing"]())
    assert "ConnectionError: database unavailable\n" in text
    assert "Traceback" not in text  # only the first line of a test's message is shown


def test_the_decision_is_the_heading() -> None:
    assert render(CASES["failing"]()).startswith("### ❌ Quality gate: FAIL — caict-cd-level-3\n")
    assert render(CASES["passing"]()).startswith("### ✅ Quality gate: PASS")
    assert render(CASES["warning"]()).startswith("### ⚠️ Quality gate: WARN")
    error = render(CASES["error"]())
    assert error.startswith("### ⛔ Quality gate: ERROR")
    assert "**Could not decide:** build/coverage.xml" in error


def test_a_markdown_parser_sees_one_table_with_a_row_per_gate() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    verdict = CASES["failing"]()
    tokens = markdown_it.MarkdownIt("commonmark").enable("table").parse(render(verdict))
    assert sum(1 for t in tokens if t.type == "table_open") == 1
    cells_per_row: list[int] = []
    for token in tokens:
        if token.type == "tr_open":
            cells_per_row.append(0)
        elif token.type in ("td_open", "th_open"):
            cells_per_row[-1] += 1
    assert cells_per_row == [4] * (1 + len(verdict["gates"]))


def test_control_characters_from_reports_are_dropped() -> None:
    verdict = CASES["failing"]()
    verdict["gates"][1]["message"] = "9 of 10\x1b[31m passed"
    verdict["details"]["findings"][0]["rule"] = "B6\x0702"
    text = render(verdict)
    assert "\x1b" not in text and "\x07" not in text
    assert r"9 of 10\[31m passed" in text
    assert "`B602`" in text


def test_no_criterion_column_when_no_gate_has_a_criterion() -> None:
    verdict = CASES["warning"]()
    for gate in verdict["gates"]:
        gate["criterion"] = ""
    rows = _table_rows(render(verdict))
    assert rows[0] == "| | Gate | Result |"
    assert {len(UNESCAPED_PIPE.findall(row)) for row in rows} == {4}
