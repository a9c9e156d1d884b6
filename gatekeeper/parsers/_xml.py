"""Safe, streaming XML for every XML parser: pyexpat, no entities, no DTD fetching, no network.

Expat below 2.7.2 has no built-in defence against entity-expansion bombs, so any entity declaration is
refused outright (what defusedxml's `forbid_entities` does, at no measurable cost).  A DOCTYPE without
entities, as Cobertura and JaCoCo write, is accepted: expat never fetches an external DTD here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO
from xml.parsers import expat

from gatekeeper.errors import InputError
from gatekeeper.parsers import open_report, pieces


class _Refused(Exception):
    """Raised from inside an expat handler to stop at a construct we never process."""


def _refuse_entity(name: str, is_parameter_entity: bool, *_: Any) -> None:
    kind = "parameter entity" if is_parameter_entity else "entity"
    raise _Refused(f"refused: the document declares the {kind} '{name}' (entities are never expanded)")


def _refuse_unparsed(name: str, *_: Any) -> None:
    raise _Refused(f"refused: the document declares the unparsed entity '{name}'")


def _refuse_external(context: str | None, base: str | None, system_id: str | None, *_: Any) -> int:
    raise _Refused(f"refused: the document references an external entity ({system_id or context})")


#: Encodings expat decodes itself; any other is looked up in Python's codecs by pyexpat.
_NATIVE_ENCODINGS = frozenset(
    {"utf-8", "utf8", "utf-16", "utf16", "utf-16le", "utf-16be", "iso-8859-1", "latin1", "us-ascii", "ascii"}
)


def _check_encoding(version: str | None, encoding: str | None, standalone: int) -> None:
    """Refuse a declared encoding pyexpat cannot use, before it fails with a LookupError/ValueError.

    pyexpat accepts a non-native encoding only if Python's codec maps each of the 256 bytes to one
    character (it says "multi-byte encodings are not supported" otherwise); we apply the same test.
    """
    if not encoding or encoding.lower() in _NATIVE_ENCODINGS:
        return
    try:
        decoded = bytes(range(256)).decode(encoding, "replace")
    except (LookupError, ValueError):
        decoded = ""
    if len(decoded) != 256:
        raise _Refused(f"unsupported character encoding {encoding!r} declared (save the report as UTF-8)")


def make_parser() -> expat.XMLParserType:
    """An expat parser that refuses every entity declaration and external reference."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_unparsed
    parser.ExternalEntityRefHandler = _refuse_external
    parser.XmlDeclHandler = _check_encoding
    return parser


class NotThisFormat(Exception):
    """Raised by a parser's handler when the root element shows the file is another format."""


def feed(parser: expat.XMLParserType, stream: BinaryIO, path: str | Path) -> None:
    """Stream `stream` through `parser`, turning every XML problem into a one-line InputError."""
    at_end = False
    try:
        for chunk in pieces(stream):
            parser.Parse(chunk, False)
        at_end = True
        parser.Parse(b"", True)
    except expat.ExpatError as error:
        raise InputError(path, describe(error, at_end)) from None
    except _Refused as refused:
        raise InputError(path, str(refused)) from None


def describe(error: expat.ExpatError, at_end: bool) -> str:
    """One line for the user: where the XML breaks, and whether the file simply stops too early."""
    problem = expat.ErrorString(error.code) or "not well-formed"
    if at_end:
        problem = f"the document ends early (truncated?): {problem}"
    return f"malformed XML at line {error.lineno}, column {error.offset + 1}: {problem}"


def parse_file(parser: expat.XMLParserType, path: Path) -> None:
    """Open and stream one XML file through `parser`."""
    with open_report(path) as stream:
        feed(parser, stream, path)


def to_float(value: str | None) -> float:
    """A duration attribute as seconds; empty, unparseable, negative or non-finite values give 0.

    "2,503.1" is unparseable on purpose: a comma is a thousands separator in some locales and the
    decimal mark in others, and a guessed duration is worse than none.
    """
    if not value:
        return 0.0
    try:
        number = float(value)
    except ValueError:
        return 0.0
    return number if 0.0 <= number < float("inf") else 0.0


def to_int(value: str | None, default: int = 0) -> int:
    """A count attribute; tolerant of "38.0" (old bandit), blanks and junk, which give `default`."""
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        try:
            return int(float(value))
        except (ValueError, OverflowError):
            return default
