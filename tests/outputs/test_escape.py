"""The one escaping module every output uses: what goes in is what a reader sees, and nothing more.

Markdown is checked by rendering it (CommonMark with raw HTML on, GFM tables) and reading the HTML back:
plain text must come back as the same text with no element; a code span as exactly one <code> holding it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.outputs.escape import (
    clean,
    html_text,
    md_code,
    md_link,
    md_text,
    one_line,
    terminal,
    xml_text,
)
from tests.outputs.safety import elements, render_markdown

#: Pieces of what markdown, HTML and terminals act on, joined at random with any other characters.
_PIECES = [
    *"`\\*_[]()<>!|~#&$:;/=\"' \n\r\t\x1b\x00\u202e-+.1aZé😀\ud800",
    *("``", "```", "&lt;", "&#x3C;", "&amp;", "<img src=x onerror=alert(1)>", "](", "javascript:", "http://x"),
    *("<!--", "-->", "]]>", "<http://x>", "    ", "\\`", "| ", "\x1b[31m"),
]
hostile_text = st.lists(st.sampled_from(_PIECES) | st.characters(), max_size=12).map("".join)


def _rendered(markdown: str) -> tuple[list[str], str]:
    """The tags markdown renders to and their text (paragraph tags left out)."""
    parsed = elements(render_markdown(markdown))
    return [tag for tag, _ in parsed.elements if tag != "p"], "".join(parsed.text).strip("\n")


@given(hostile_text)
@settings(max_examples=300)
def test_plain_text_renders_as_itself_with_no_markup(text: str) -> None:
    expected = one_line(text)
    tags, shown = _rendered(f"x {md_text(text)} x")  # mid-line, as every renderer embeds it
    assert tags == []
    assert shown == f"x {expected} x".strip()


@given(hostile_text)
@settings(max_examples=300)
def test_a_code_span_shows_exactly_its_text_whatever_backticks_it_holds(text: str) -> None:
    expected = one_line(text) or " "
    tags, shown = _rendered(f"x {md_code(text)} x")
    assert tags == ["code"]
    assert shown == f"x {expected} x"


@given(hostile_text, hostile_text)
@settings(max_examples=200)
def test_a_table_row_keeps_its_cells_whatever_they_hold(first: str, second: str) -> None:
    table = f"| a | b |\n|---|---|\n| {md_code(first, table=True)} | {md_text(second)} |\n"
    parsed = elements(render_markdown(table))
    tags = [tag for tag, _ in parsed.elements]
    assert tags.count("td") == 2 and tags.count("tr") == 2
    assert set(tags) <= {"table", "thead", "tbody", "tr", "th", "td", "code"}


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("a", "`a`"),
        ("a`b", "``a`b``"),
        ("x``<h1>", "```x``<h1>```"),
        ("`edge`", "`` `edge` ``"),
        ("```", "```` ``` ````"),
        ("", "` `"),
    ],
)
def test_the_fence_is_longer_than_any_backtick_run(text: str, span: str) -> None:
    assert md_code(text) == span


def test_a_link_only_to_http() -> None:
    assert md_link("CI job", "https://ci.example/job/1") == "[CI job](https://ci.example/job/1)"
    assert md_link("CI job", "https://ci.example/a (b)") == r"CI job: https://ci.example/a (b)"
    assert md_link("CI job", "https://ci.example/a(b)<c>") == "[CI job](https://ci.example/a%28b%29%3Cc%3E)"
    assert md_link("CI job", "javascript:alert(1)") == "CI job: javascript:alert(1)"
    assert md_link("CI job", "[x](javascript:alert(1))") == r"CI job: \[x\](javascript:alert(1))"
    assert md_link("CI job", None) == "CI job"


def test_terminal_shows_control_characters_escaped() -> None:
    assert terminal("ok") == "ok"
    assert terminal("a\n\x1b[31mb\u202e\ud800") == "a\\n\\x1b[31mb\\u202e\\ud800"


def test_one_line_and_the_encodable_forms() -> None:
    assert one_line(" a\r\n\tb \x1b[0m \u2028c ") == "a b [0m c"
    assert one_line("x" * 10, limit=5) == "xxxx…"
    assert one_line("\x00 \x07\u200b") == ""  # no stray space left where control characters were
    assert clean("a\ud800b") == "a\ufffdb"
    assert xml_text("a\x00\x1bb\ud800\ufffe\tc\n") == "ab\tc\n"
    assert html_text('<a href="x">\n&') == "&lt;a href=&quot;x&quot;&gt; &amp;"
