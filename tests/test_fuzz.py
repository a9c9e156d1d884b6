"""Property: whatever bytes a report file holds, reading it fails only with `InputError` (exit 2).

Anything else escaping a parser is a bug that would exit 3 ("internal error") on a user's broken upload.
Inputs: random bytes, corpus and hand-written reports mutated (truncated, bytes flipped, entity and DOCTYPE
declarations inserted), and JSON documents with a random subtree replaced by a random JSON value. Each is
read as detected and forced as every format in FORMATS whose module exists yet.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.errors import InputError
from gatekeeper.parsers import FORMATS, read_report
from tests.conftest import corpus_reports
from tests.strategies import json_values, mutated

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEED_SIZE_LIMIT = 40_000  # larger corpus files add time, not new shapes


def _available(name: str) -> bool:
    """Other parsers are being written in parallel: fuzz the formats whose parser exists."""
    fmt = FORMATS[name]
    try:
        module = importlib.import_module(f"gatekeeper.parsers.{fmt.module}")
    except ModuleNotFoundError:
        return False
    return hasattr(module, "parse_data_file" if name == "coverage-data" else "parse")


FORCED: list[str | None] = [None, *(name for name in FORMATS if _available(name))]

HAND_WRITTEN_XML = [
    b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="t" tests="3">'
    b'<testsuite name="s" tests="3" time="1.5"><testcase classname="c" name="a" time="0.5"/>'
    b'<testcase name="b"><failure message="m">body</failure></testcase>'
    b'<testcase name="c"><flakyFailure message="x"><stackTrace>t</stackTrace></flakyFailure></testcase>'
    b'<testsuite name="inner" tests="2" errors="1"/></testsuite></testsuites>',
    b'<?xml version="1.0" ?>\n<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">\n'
    b'<coverage line-rate="0.5" branch-rate="0.5" lines-covered="1" lines-valid="2" version="1">'
    b'<sources><source>/src</source></sources><packages><package name="p" line-rate="0.5"><classes>'
    b'<class name="a" filename="a.py" line-rate="0.5"><methods/><lines><line number="1" hits="1"/>'
    b'<line number="2" hits="0" branch="true" condition-coverage="50% (1/2)"/></lines></class>'
    b"</classes></package></packages></coverage>",
    b'<?xml version="1.0"?><!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">'
    b'<report name="r"><package name="p"><sourcefile name="A.java"><line nr="1" mi="0" ci="2" mb="1" cb="1"/>'
    b'<counter type="LINE" missed="0" covered="1"/></sourcefile></package></report>',
    b'<coverage generated="1" clover="4.4.1"><project timestamp="1"><package name="p">'
    b'<file name="a.js" path="/src/a.js"><line num="1" count="1" type="stmt"/>'
    b'<line num="2" count="0" type="cond" truecount="0" falsecount="1"/>'
    b"</file></package></project></coverage>",
]
HAND_WRITTEN_JSON = [
    b'{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [{"tool":'
    b' {"driver": {"name": "t", "rules": [{"id": "R1", "properties": {"security-severity": "7.5"}}]}},'
    b' "results": [{"ruleId": "R1", "level": "error", "message": {"text": "m"},'
    b' "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.py"},'
    b' "region": {"startLine": 3}}}]}]}]}',
    b'{"errors": [], "generated_at": "2024-01-01T00:00:00Z", "metrics": {"_totals": {"loc": 1}}, "results":'
    b' [{"code": "x", "filename": "a.py", "issue_confidence": "HIGH", "issue_severity": "LOW",'
    b' "issue_text": "t", "line_number": 1, "line_range": [1], "test_id": "B101",'
    b' "test_name": "assert_used"}]}',
    b'{"results": [{"check_id": "r", "path": "a.py", "start": {"line": 1, "col": 1}, "end": {"line": 1,'
    b' "col": 2}, "extra": {"severity": "ERROR", "message": "m", "lines": "x", "fingerprint": "f"}}],'
    b' "errors": [], "paths": {"scanned": ["a.py"]}}',
    b'[{"RuleID": "aws", "Description": "d", "File": "a.py", "StartLine": 1, "Secret": "s", "Match": "m",'
    b' "Fingerprint": "a.py:aws:1"}]',
    b'{"version": "15.0.4", "vulnerabilities": [{"id": "1", "name": "n", "severity": "High",'
    b' "location": {"file": "a.py", "start_line": 1}, "identifiers": []}], "scan": {"status": "success"}}',
    b'{"meta": {"version": "7.4.0", "branch_coverage": true}, "files": {"a.py": {"executed_lines": [1],'
    b' "missing_lines": [2], "executed_branches": [[1, 2]], "missing_branches": [[1, -1]]}}, "totals": {}}',
]
HAND_WRITTEN_TEXT = [
    b"TN:\nSF:/src/a.c\nDA:1,1\nDA:2,0\nBRDA:1,0,0,1\nBRDA:1,0,1,-\nLF:2\nLH:1\nend_of_record\n",
    b"mode: set\ngithub.com/x/y/a.go:1.1,2.2 1 1\ngithub.com/x/y/a.go:3.1,4.2 2 0\n",
]


def _corpus_seeds() -> Iterator[bytes]:
    for path in corpus_reports():
        if path.stat().st_size <= SEED_SIZE_LIMIT:
            yield path.read_bytes()


def _kind(data: bytes) -> str:
    first = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "xml" if first == b"<" else "json" if first in (b"{", b"[", b"n") else "text"


SEEDS = [*HAND_WRITTEN_XML, *HAND_WRITTEN_JSON, *HAND_WRITTEN_TEXT, *_corpus_seeds()]
XML_SEEDS = [s for s in SEEDS if _kind(s) == "xml"]
JSON_SEEDS = [s for s in SEEDS if _kind(s) == "json"]

XML_INSERTS = [
    b'<!DOCTYPE x [<!ENTITY a "b">]>',
    b'<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">',
    b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]>',
    b"&a;",
    b"&lt;",
    b"&#0;",
    b"<![CDATA[",
    b"]]>",
    b"<testcase>",
    b"</testcase>",
    b'<testsuite name="x" tests="-1" failures="1e999">',
    b"</testsuite>",
    b'<failure message="">',
    b"<skipped/>",
    b'<line number="-1" hits="x" branch="true" condition-coverage="(2/1)"/>',
    b'<line nr="" mi="-5" ci="a"/>',
    b'<class name="c" filename="">',
    b'<counter type="LINE" missed="x" covered="-1"/>',
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
]
JSON_INSERTS = [b"null", b"{", b"}", b"[", b"]", b'"x"', b"1e999", b"-1", b"[]", b"{}", b",", b":", b"\xff"]


def _node_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _node_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _node_paths(value, (*path, index))


@st.composite
def json_with_a_replaced_subtree(draw: st.DrawFn) -> bytes:
    """A well-formed report whose shape is wrong somewhere: a list for an object, a number for a path…"""
    document = json.loads(draw(st.sampled_from(JSON_DOCUMENTS)))
    paths = list(_node_paths(document))
    target = draw(st.sampled_from(paths))
    replacement = draw(json_values)
    if not target:
        document = replacement
    else:
        parent = document
        for step in target[:-1]:
            parent = parent[step]
        parent[target[-1]] = replacement
    return json.dumps(document).encode("utf-8")


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except ValueError:
        return None


JSON_DOCUMENTS = [json.dumps(d) for d in map(_loads, JSON_SEEDS) if d is not None]


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gatekeeper-fuzz-") as directory:
        yield Path(directory)


def read_as_every_format(workdir: Path, data: bytes) -> None:
    """Read `data` as detected and forced as every format; only InputError may escape."""
    path = workdir / "report"
    path.write_bytes(data)
    for forced in FORCED:
        with contextlib.suppress(InputError):
            read_report(path, forced)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(workdir: Path, data: bytes) -> None:
    read_as_every_format(workdir, data)


PREFIXES = [b"<", b"<testsuites>", b"<coverage>", b"<report>", b"{", b"[", b'{"runs": ', b"mode: set\n"]


@FUZZ
@given(prefix=st.sampled_from(PREFIXES), data=st.binary(max_size=512))
def test_random_bytes_behind_a_plausible_start(workdir: Path, prefix: bytes, data: bytes) -> None:
    read_as_every_format(workdir, prefix + data)


@FUZZ
@given(data=mutated(XML_SEEDS, XML_INSERTS))
def test_mutated_xml(workdir: Path, data: bytes) -> None:
    read_as_every_format(workdir, data)


@FUZZ
@given(data=mutated(JSON_SEEDS, JSON_INSERTS))
def test_mutated_json(workdir: Path, data: bytes) -> None:
    read_as_every_format(workdir, data)


@FUZZ
@given(data=json_with_a_replaced_subtree())
def test_json_of_the_wrong_shape(workdir: Path, data: bytes) -> None:
    read_as_every_format(workdir, data)


@pytest.mark.parametrize("level", ["[]", "{}"])
def test_sarif_result_level_of_the_wrong_type(workdir: Path, level: str) -> None:
    """Pinned: the first bug this file found (sarif.py raised TypeError on an unhashable level)."""
    document = (
        '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, '
        f'"results": [{{"ruleId": "r", "level": {level}, "message": {{"text": "m"}}}}]}}]}}'
    )
    read_as_every_format(workdir, document.encode())


@pytest.mark.parametrize(
    "data",
    [
        b"<a>" * 100_000 + b"</a>" * 100_000,  # deep XML nesting
        b"<testsuite>" * 50_000 + b"</testsuite>" * 50_000,
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<testsuites>&lol2;</testsuites>",
        b"<testsuites>&undefined;</testsuites>",
    ],
    ids=["deep-xml", "deep-testsuites", "entity-expansion", "undefined-entity"],
)
def test_pathological_xml(workdir: Path, data: bytes) -> None:
    read_as_every_format(workdir, data)
