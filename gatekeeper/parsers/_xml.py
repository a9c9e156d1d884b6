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

CHUNK_SIZE = 1 << 20


class _Refused(Exception):
    """Raised from inside an expat handler to stop at a construct we never process."""


def _refuse_entity(name: str, is_parameter_entity: bool, *_: Any) -> None:
    kind = "parameter entity" if is_parameter_entity else "entity"
    raise _Refused(f"refused: the document declares the {kind} '{name}' (entities are never expanded)")


def _refuse_unparsed(name: str, *_: Any) -> None:
    raise _Refused(f"refused: the document declares the unparsed entity '{name}'")


def _refuse_external(context: str | None, base: str | None, system_id: str | None, *_: Any) -> int:
    raise _Refused(f"refused: the document references an external entity ({system_id or context})")


def make_parser() -> expat.XMLParserType:
    """An expat parser that refuses every entity declaration and external reference."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_unparsed
    parser.ExternalEntityRefHandler = _refuse_external
    return parser


class NotThisFormat(Exception):
    """Raised by a parser's handler when the root element shows the file is another format."""


def feed(parser: expat.XMLParserType, stream: BinaryIO, path: str | Path) -> None:
    """Stream `stream` through `parser`, turning every XML problem into a one-line InputError."""
    try:
        while chunk := stream.read(CHUNK_SIZE):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as error:
        problem = expat.ErrorString(error.code)
        raise InputError(
            path, f"malformed XML at line {error.lineno}, column {error.offset + 1}: {problem}"
        ) from None
    except _Refused as refused:
        raise InputError(path, str(refused)) from None


def parse_file(parser: expat.XMLParserType, path: Path) -> None:
    """Open and stream one XML file through `parser`."""
    with open(path, "rb") as stream:
        feed(parser, stream, path)


def to_float(value: str | None) -> float:
    """A duration attribute as seconds; empty, odd ("2,503.1"), negative or non-finite values give 0."""
    if not value:
        return 0.0
    try:
        number = float(value)
    except ValueError:
        try:
            number = float(value.replace(",", "").strip())
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
