"""Recognise a report's format from its content: root element, top-level JSON keys, first records.

Only the start of a file is read (XML: up to the root element; JSON: until a decisive key), so
detection costs the same for a 1 KB and a 1 GB report.
"""

from __future__ import annotations

from pathlib import Path
from xml.parsers import expat

from gatekeeper.errors import InputError

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
#: Keys of the first entry of a top-level array (gitleaks v7 and v8 spellings).
_GITLEAKS_KEYS = frozenset({"RuleID", "Description", "Secret", "Match", "rule", "offender", "leakURL"})


def detect(path: Path) -> str | None:
    """The format name of the report at `path`, or None when it is no report format we know."""
    with open(path, "rb") as stream:
        head = stream.read(SNIFF_BYTES)
    if head.startswith(_SQLITE_MAGIC):
        return "coverage-data"
    if b"\x00" in head[:8192]:
        raise InputError(path, "a binary file, not a report")
    text = head[len(_BOM) :] if head.startswith(_BOM) else head
    first = text.lstrip()[:1]
    if first == b"<":
        return _detect_xml(path, head)
    if first in (b"{", b"[") or text.lstrip().startswith(b"null"):
        return _detect_json(path)
    return _detect_text(text)


class _Root(Exception):
    def __init__(self, name: str, attributes: dict[str, str]) -> None:
        super().__init__(name)
        self.name = name
        self.attributes = attributes


def _stop_at_root(name: str, attributes: dict[str, str]) -> None:
    raise _Root(name, attributes)


def _detect_xml(path: Path, head: bytes) -> str | None:
    from gatekeeper.parsers._xml import _Refused, make_parser

    parser = make_parser()
    parser.StartElementHandler = _stop_at_root
    try:
        parser.Parse(head, len(head) < SNIFF_BYTES)
    except _Root as root:
        return _format_of_root(root.name, root.attributes)
    except _Refused as refused:
        raise InputError(path, str(refused)) from None
    except expat.ExpatError as error:
        raise InputError(
            path,
            f"malformed XML at line {error.lineno}, column {error.offset + 1}: {expat.ErrorString(error.code)}",
        ) from None
    return None


def _format_of_root(name: str, attributes: dict[str, str]) -> str | None:
    if name in ("testsuites", "testsuite"):
        return "junit"
    if name == "coverage":
        return "clover" if "clover" in attributes or "generated" in attributes else "cobertura"
    if name == "report":
        return "jacoco"
    return None


def _detect_json(path: Path) -> str | None:
    import ijson

    with open(path, "rb") as stream:
        events = ijson.parse(stream)
        try:
            for count, (prefix, event, value) in enumerate(events):
                if count > _JSON_EVENT_LIMIT:
                    return None
                if count == 0:
                    if event == "null":
                        return "gitleaks"  # gitleaks writes a bare `null` when it finds nothing
                    if event not in ("start_map", "start_array"):
                        return None
                    continue
                if prefix == "" and event == "map_key":
                    if value in _DECISIVE_KEYS:
                        return _DECISIVE_KEYS[value]
                elif prefix == "$schema" and event == "string":
                    if "sarif" in value.lower():
                        return "sarif"
                elif prefix == "results.item" and event == "map_key":
                    if value in _RESULT_ITEM_KEYS:
                        return _RESULT_ITEM_KEYS[value]
                elif prefix == "item" and event == "map_key":
                    return "gitleaks" if value in _GITLEAKS_KEYS else None
                elif prefix == "" and event == "end_array":
                    return "gitleaks"  # an empty top-level array: gitleaks with no leaks
        except ijson.JSONError as error:
            raise InputError(path, f"malformed JSON: {error}") from None
    return None


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
