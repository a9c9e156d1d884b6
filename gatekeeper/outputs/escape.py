"""One rule for every output: what a report, a policy or the CI environment says is shown, never obeyed.

Test names, messages, rule ids, paths, branch and project names come from people other than the
reader (a branch name may hold ``x``<h1>``, a SARIF message a lone surrogate, a test name an ANSI
escape).  Every renderer embeds them only through these functions, so the markdown comment, the CI
log, the JUnit file, GitLab's code-quality JSON and the HTML report all follow the same rule:

- one line: whitespace runs (newlines, carriage returns, tabs) become one space, other control and
  format characters are dropped (markdown, HTML, JSON) or shown escaped (a terminal), lone surrogates
  become U+FFFD;
- markdown: text outside code spans has its metacharacters backslash-escaped (CommonMark lets any
  ASCII punctuation be escaped); a code span's fence is longer than any backtick run inside it; a
  table cell's `|` is escaped;
- a link only to an http(s) URL (`gatekeeper.context.http_url`); anything else is shown as text.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import quote

from gatekeeper.context import http_url


# Each pattern is compiled on first use: the text output (every `check`) needs none of them (issue 16).
@cache
def _surrogate() -> re.Pattern[str]:
    return re.compile("[\ud800-\udfff]")


@cache
def _not_xml() -> re.Pattern[str]:
    """Characters XML 1.0 cannot carry at all (https://www.w3.org/TR/xml/#charsets): dropped, not escaped."""
    return re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@cache
def _markdown_special() -> re.Pattern[str]:
    """CommonMark metacharacters that can start markup anywhere in a line (emphasis, code, links, images via
    `[`, autolinks and raw HTML via `<`, entities via `&`, tables via `|`, strikethrough, headings, math)."""
    return re.compile(r"([\\`*_\[\]<>|~#&$])")


@cache
def _backticks() -> re.Pattern[str]:
    return re.compile(r"`+")


#: Characters left as they are in a markdown link destination: RFC 3986's unreserved and reserved ones
#: but for the parentheses and quote, which end or confuse a destination.
_URL_SAFE = "-._~:/?#[]@!$&*+,;=%"


def clean(value: object) -> str:
    """The text with every lone surrogate replaced by U+FFFD, so it can be written as UTF-8 at all."""
    text = str(value)
    surrogate = _surrogate()
    return surrogate.sub("\ufffd", text) if surrogate.search(text) else text


def one_line(value: object, limit: int | None = None) -> str:
    """One line of printable text: whitespace runs become a space, other control characters are dropped.

    `limit` cuts it (with "…") before anything is escaped, so a cut never splits an escape.
    """
    text = clean("" if value is None else value)
    if not text.isprintable():  # dropped before the spaces are joined: "\0 \0" is no text, not " "
        text = "".join(c for c in text if c.isprintable() or c.isspace())
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def terminal(value: object) -> str:
    """One terminal-safe line: control characters (ANSI escapes, newlines, bidi overrides) shown escaped.

    Shown rather than dropped, so a log reader sees that a name held them.
    """
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def terminal_cell(value: object) -> str:
    """A stored value in a terminal table or list: "-" when absent, else one terminal-safe line."""
    return "-" if value is None else terminal(value)


def md_text(value: object, limit: int | None = None) -> str:
    """Plain text safe anywhere in a markdown line, a table cell included: one line, metacharacters escaped."""
    return _markdown_special().sub(r"\\\1", one_line(value, limit))


def md_code(value: object, limit: int | None = None, *, table: bool = False) -> str:
    """An inline code span that shows `value` literally, whatever backticks it holds.

    The fence is one backtick longer than the longest run inside; a space pads content that starts or
    ends with a backtick (CommonMark strips one such space each side).  In a GFM table cell a `|` is
    escaped even inside code, since cells are split before code spans are read.
    """
    text = one_line(value, limit) or " "
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in _backticks().findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_link(label: str, url: object) -> str:
    """`[label](url)` for an http(s) URL; any other URL (`javascript:`, `data:` …) as escaped text.

    `label` is markdown we wrote, not data.  The destination is percent-encoded where markdown would
    read a character as syntax (spaces, parentheses, `<`, `>`, quotes, backslashes, backticks).
    """
    safe = http_url(url)
    if safe is None:
        return f"{label}: {md_text(url)}" if url else label
    return f"[{label}]({quote(safe, safe=_URL_SAFE)})"


def md_path(path: str) -> str:
    """A relative file name we chose, as a markdown link destination (spaces and parentheses encoded)."""
    return quote(path, safe=_URL_SAFE)


def html_text(value: object, limit: int | None = None) -> str:
    """One line of text for HTML element content or an attribute value (quotes escaped too)."""
    from html import escape  # (html.entities, a large table, loads with it: only the HTML pages need it)

    return escape(one_line(value, limit), quote=True)


def xml_text(value: object) -> str:
    """Text XML 1.0 can carry (ElementTree escapes the markup characters itself); newlines are kept."""
    text = str(value)
    not_xml = _not_xml()
    return not_xml.sub("", text) if not_xml.search(text) else text


def gh_data(value: object) -> str:
    """A GitHub Actions workflow command's message: %, CR and LF escaped as the runner requires, so a
    value cannot end the command and start another; other control characters dropped."""
    text = clean("" if value is None else value)
    text = "".join(c for c in text if c.isprintable() or c in "\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_property(value: object) -> str:
    """A workflow command's property value (file, title): also `:` and `,`, which end a property."""
    return gh_data(value).replace(":", "%3A").replace(",", "%2C")
