"""Recognise a report's format from its content: root element, top-level JSON keys, first records.

Only the start of a file is read (XML: up to the root element; JSON: until a decisive key), so
detection costs the same for a 1 KB and a 1 GB report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.parsers import expat

from gatekeeper.errors import InputError
from gatekeeper.parsers import open_report

SNIFF_BYTES = 1 << 16
_JSON_EVENT_LIMIT = 200_000
_SQLITE_MAGIC = b"SQLite format 3\x00"
_BOM = b"\xef\xbb\xbf"

#: Top-level JSON keys that settle the format on their own.
_DECISIVE_KEYS = {
    "runs": "sarif",
    "vulnerabilities": "gitlab-security",
    "meta": "coverage-json",
    "generated_at": "bandit",
    "interfile_languages_used": "semgrep",
    "skipped_rules": "semgrep",
    "paths": "semgrep",
}
#: Keys of the first entry of a top-level "results" array.
_RESULT_ITEM_KEYS = {"check_id": "semgrep", "test_id": "bandit", "issue_severity": "bandit"}
#: Keys of the first entry of a top-level array (gitleaks v7 and v8 spellings), wherever they stand in it.
_GITLEAKS_KEYS = frozenset({"RuleID", "Description", "Secret", "Match", "rule", "offender", "leakURL"})
#: Top-level keys semgrep always writes: with `results` an empty array and nothing decisive, an empty scan
#: (unless bandit's `metrics` is there too).
_SEMGREP_EMPTY_KEYS = frozenset({"results", "errors"})


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def detect(path: Path, start: bytes | None = None) -> str | None:
    """The format name of the report at `path`, or None when it is no report format we know.

    `start`: the file's first bytes when they are read already (at least SNIFF_BYTES, or the whole file).
    """
    if start is None:
        with open_report(path) as stream:
            start = stream.read(SNIFF_BYTES)
    head = start[:SNIFF_BYTES]
    if head.startswith(_SQLITE_MAGIC):
        return "coverage-data"
    if head.startswith(_UTF16_BOMS):
        # Some .NET tools write UTF-16 XML; expat reads it natively. Our JSON reader does not.
        if head.decode("utf-16", errors="replace").lstrip()[:1] == "<":
            return _detect_xml(path, head)
        raise InputError(path, "a UTF-16 text file; JSON and text reports must be UTF-8")
    if head.find(b"\x00", 0, 8192) >= 0:
        raise InputError(path, "a binary file, not a report")
    text = head[len(_BOM) :] if head.startswith(_BOM) else head
    spaces = _SPACE.match(text)
    at = spaces.end() if spaces else 0
    first = text[at : at + 1]
    if first == b"<":
        if _PLAIN_JUNIT_START.match(text):
            return "junit"
        return _detect_xml(path, head)
    if first in (b"{", b"[") or text.startswith(b"null", at):
        return _detect_json(path)
    return _detect_text(text)


#: What `bytes.lstrip()` strips, found without copying the text after it.
_SPACE = re.compile(rb"[ \t\n\r\x0b\x0c]*")


#: The start of most JUnit files (Surefire, pytest, Gradle): a UTF-8 declaration or none, then the root's
#: name.  Nothing expat could refuse comes before it, so expat would reach the same root; anything else
#: (a comment, a DOCTYPE, another encoding) goes to expat.  A file of thousands of small reports saves an
#: XML parser per file; a malformed root tag is then worded by the JUnit parser, in the same words.
_PLAIN_JUNIT_START = re.compile(
    rb"(?:<\?xml version=([\"'])1\.0\1(?:[ \t\r\n]+encoding=([\"'])(?:UTF-8|utf-8)\2)?"
    rb"(?:[ \t\r\n]+standalone=([\"'])(?:yes|no)\3)?[ \t\r\n]*\?>)?"
    rb"[ \t\r\n]*<(?:testsuites|testsuite|testcase)[ \t\r\n/>]"
)


class _Root(Exception):
    def __init__(self, name: str, attributes: dict[str, str]) -> None:
        super().__init__(name)
        self.name = name
        self.attributes = attributes


def _stop_at_root(name: str, attributes: dict[str, str]) -> None:
    raise _Root(name, attributes)


def _detect_xml(path: Path, head: bytes) -> str | None:
    from gatekeeper.parsers._xml import _Refused, describe, make_parser

    parser = make_parser()
    parser.StartElementHandler = _stop_at_root
    at_end = False
    try:
        parser.Parse(head, False)
        if len(head) < SNIFF_BYTES:  # the whole file was read: a missing root means it ends early
            at_end = True
            parser.Parse(b"", True)
    except _Root as root:
        return _format_of_root(root.name, root.attributes)
    except _Refused as refused:
        raise InputError(path, str(refused)) from None
    except expat.ExpatError as error:
        raise InputError(path, describe(error, at_end)) from None
    return None


def _format_of_root(name: str, attributes: dict[str, str]) -> str | None:
    if name in ("testsuites", "testsuite", "testcase"):  # a bare <testcase> is one test case
        return "junit"
    if name == "coverage":
        return "clover" if "clover" in attributes or "generated" in attributes else "cobertura"
    if name == "report":
        return "jacoco"
    return None


def _detect_json(path: Path) -> str | None:
    import ijson

    with open_report(path) as stream:
        if stream.read(len(_BOM)) != _BOM:
            stream.seek(0)
        top = ""
        keys: set[str] = set()  # the top-level keys met so far
        empty_results = False  # a top-level `results` that is an empty array
        previous = ("", "")  # the last (prefix, event)
        try:
            for count, (prefix, event, value) in enumerate(_shallow_events(ijson.basic_parse(stream))):
                if count > _JSON_EVENT_LIMIT:
                    return None
                last, previous = previous, (prefix or "", event)
                if count == 0:
                    if event == "null":
                        return "gitleaks"  # gitleaks writes a bare `null` when it finds nothing
                    if event not in ("start_map", "start_array"):
                        return None
                    top = event
                    continue
                if top == "start_array":
                    # gitleaks: an array of leak objects, or an empty array when it finds nothing.
                    if count == 1 and event == "end_array":
                        return "gitleaks"
                    if count == 1 and event != "start_map":
                        return None
                    # Any key of the first entry settles it: gitleaks 7 starts its entries with `line`.
                    if prefix == "item" and event == "map_key" and value in _GITLEAKS_KEYS:
                        return "gitleaks"
                    if prefix == "item" and event == "end_map":  # the first entry ended without one
                        return None
                elif prefix == "" and event == "map_key":
                    if value in _DECISIVE_KEYS:
                        return _DECISIVE_KEYS[value]
                    keys.add(value)
                elif prefix == "" and event == "end_map":
                    # semgrep with no results and no `paths` (older versions, or trimmed by hand).
                    return (
                        "semgrep" if empty_results and keys >= _SEMGREP_EMPTY_KEYS and "metrics" not in keys else None
                    )
                elif prefix == "results" and event == "end_array" and last == ("results", "start_array"):
                    empty_results = True
                elif prefix == "$schema" and event == "string":
                    if "sarif" in value.lower():
                        return "sarif"
                elif prefix == "results.item" and event == "map_key" and value in _RESULT_ITEM_KEYS:
                    return _RESULT_ITEM_KEYS[value]
        except ijson.JSONError as error:
            raise InputError(path, f"malformed JSON: {json_problem(error)}") from None
    return None


_SHALLOW_DEPTH = 3


def _shallow_events(events: Iterable[tuple[str, Any]]) -> Iterator[tuple[str | None, str, Any]]:
    """`ijson.parse`'s (prefix, event, value), with the prefix only near the top (None deeper down).

    ijson's own prefixes are rebuilt for every event, so their cost grows with the square of the
    nesting depth: 200 KB of `[` would take gigabytes.  Detection only looks three levels down.
    """
    path: list[str] = []
    for event, value in events:
        if event == "map_key":
            path[-1] = value
            depth = len(path) - 1
        elif event in ("end_map", "end_array"):
            path.pop()
            depth = len(path)
        else:
            depth = len(path)
        yield (".".join(path[:depth]) if depth <= _SHALLOW_DEPTH else None), event, value
        if event == "start_map":
            path.append("")
        elif event == "start_array":
            path.append("item")


def json_problem(error: Exception) -> str:
    """ijson's (yajl's) message cut to its first line: the rest is a multi-line ASCII-art pointer."""
    text = str(error)
    if text[:2] in ("b'", 'b"'):  # yajl sometimes hands over the repr of a bytes message
        text = text[2:].split("\\n", 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    problem = lines[0].rstrip(".") if lines else type(error).__name__
    if "premature EOF" in problem:
        problem += " (truncated?)"
    return problem


def _detect_text(head: bytes) -> str | None:
    for raw_line in head.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith(b"mode:"):
            return "coverprofile"
        if line.startswith((b"TN:", b"SF:")):
            return "lcov"
        return None
    return None
