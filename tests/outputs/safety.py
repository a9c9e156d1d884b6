"""What every output must hold whatever a verdict says: the checks test_hostile.py and test_any_verdict.py share.

Markdown is rendered as CommonMark with raw HTML on and GFM tables (how GitLab and GitHub treat a
merge-request comment or a job summary, short of their sanitisers) and the HTML is read back: only the
elements and attributes the renderer itself writes may appear, and a link only to an http(s) URL we chose.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

from gatekeeper.context import http_url
from gatekeeper.parsers._xml import make_parser

#: Elements our markdown produces (headings, the gate table, lists in <details>, the <sub> footer).
MARKDOWN_TAGS = frozenset(
    {"h1", "h2", "h3", "p", "strong", "em", "code", "table", "thead", "tbody", "tr", "th", "td"}
    | {"details", "summary", "ul", "li", "sub", "a", "img"}
)
#: Elements the HTML report writes (page, tables, inline SVG charts) — never <script>, <img>, <a>, <iframe>.
HTML_REPORT_FORBIDDEN = frozenset({"script", "img", "a", "iframe", "object", "embed", "form", "input", "base", "link"})


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text between them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def render_markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(text)


def assert_no_control_characters(text: str, where: str) -> None:
    """Nothing a terminal, a log or a parser would act on: only printable characters and newlines."""
    bad = sorted({c for c in text if c != "\n" and not c.isprintable()})
    line = next((line for line in text.splitlines() if any(c in bad for c in line)), "")
    assert not bad, f"{where}: control characters {bad!r} in {line!r}"
    text.encode("utf-8")  # no lone surrogate either


def assert_safe_markdown(
    text: str,
    where: str,
    *,
    links: Collection[str] = (),
    images: Collection[str] = (),
    headings: Collection[str] = ("h3",),
) -> _Elements:
    """`text` renders to no element, attribute or link we did not write ourselves.

    `links`: the http(s) URLs our own links may point at; `images`: our own image sources; `headings`:
    the heading levels the renderer writes (a test name must not add one).
    """
    assert_no_control_characters(text, where)
    parsed = elements(render_markdown(text))
    allowed = (MARKDOWN_TAGS - {"h1", "h2", "h3"}) | set(headings)
    for tag, attributes in parsed.elements:
        assert tag in allowed, f"{where}: <{tag} {attributes}> is not an element we write"
        if not images:
            assert tag != "img", f"{where}: an image came out: {attributes}"
        for name, value in attributes.items():
            assert not name.startswith("on"), f"{where}: <{tag} {name}={value!r}>"
            if tag == "a":
                assert name == "href", f"{where}: <a {name}={value!r}>"
                assert value in links and http_url(value) == value, f"{where}: a link to {value!r}"
            elif tag == "img":
                assert name in ("src", "alt"), f"{where}: <img {name}={value!r}>"
                assert name != "src" or unquote(value or "") in images, f"{where}: an image from {value!r}"
            else:
                assert (tag, name) in (("th", "style"), ("td", "style")), f"{where}: <{tag} {name}={value!r}>"
    return parsed


def assert_safe_junit(text: str, where: str, gates: int) -> ElementTree.Element:
    """Well-formed XML read by the parser gatekeeper reads reports with (no entity, no DTD), one case per gate."""
    make_parser().Parse(text.encode("utf-8"), True)
    root = ElementTree.fromstring(text)
    cases = root.findall("./testsuite/testcase")
    assert len(cases) in (gates, gates + 1), f"{where}: {len(cases)} test cases for {gates} gates"
    return root


def assert_safe_json(text: str, where: str) -> Any:
    """JSON a strict reader takes: UTF-8 (no lone surrogate, raw or escaped), parseable."""
    text.encode("utf-8")
    value = json.loads(text)
    for string in _strings(value):
        string.encode("utf-8")  # an escaped lone surrogate would raise here
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (*_strings(key), *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def assert_safe_html_report(html: str, where: str) -> _Elements:
    """The HTML report: one <h1> (ours), no script, image, link or event handler, whatever verdicts say."""
    assert_no_control_characters(html, where)
    parsed = elements(html)
    tags = [tag for tag, _ in parsed.elements]
    assert tags.count("h1") == 1, f"{where}: {tags.count('h1')} <h1>"
    for tag, attributes in parsed.elements:
        assert tag not in HTML_REPORT_FORBIDDEN, f"{where}: <{tag} {attributes}>"
        assert not any(name.startswith("on") for name in attributes), f"{where}: <{tag} {attributes}>"
    return parsed
