"""The C hot path (`_junit_speedups.c`) reads every document exactly as the streaming parser does.

`junit.parse` uses the C scanner where it is built and the streaming pyexpat parser otherwise (and for
what the scanner does not take: a DOCTYPE, UTF-16/32, any XML error, which the streaming parser words).
So every JUnit file we have, and generated and mutated ones, are read by both; the evidence must be
equal to the last bit (the float sum of durations too), and a document the streaming parser refuses
must never be counted by the scanner.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.errors import InputError
from gatekeeper.model import Evidence
from gatekeeper.parsers import CHUNK_SIZE, junit
from tests.conftest import CORPUS
from tests.strategies import mutated

REPO = Path(__file__).resolve().parents[2]
Outcome = Evidence | tuple[str, str] | None


def read_with(reader: str, path: Path) -> Outcome:
    """Evidence, ("not junit", root), ("error", message), or None when the C scanner does not take it."""
    try:
        read = junit.read_streaming(path) if reader == "streaming" else junit.read_accelerated(path)
    except junit.NotJUnit as error:
        return ("not junit", error.root)
    except InputError as error:
        return ("error", str(error))
    return None if read is None else junit.evidence(read)


def scanner_may_decline(data: bytes) -> bool:
    """Documents the C scanner leaves to the streaming parser even when they are well-formed."""
    return b"<!DOCTYPE" in data or data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\0" in data[:4]


def assert_same_reading(path: Path) -> None:
    streaming = read_with("streaming", path)
    accelerated = read_with("accelerated", path)
    if isinstance(streaming, tuple) and streaming[0] == "error":
        assert accelerated is None, f"{path}: the scanner counted a document the streaming parser refuses"
    elif accelerated is None:
        assert scanner_may_decline(path.read_bytes()), f"{path}: the scanner declined a plain document"
    else:
        assert accelerated == streaming, path


def xml_files(root: Path) -> Iterator[Path]:
    yield from sorted(p for p in root.rglob("*.xml") if p.is_file())


@pytest.fixture(autouse=True)
def _built() -> None:
    if junit.Scanner is None:
        pytest.fail(
            "gatekeeper/parsers/_junit_speedups.c is not built: `pip install -e .` needs gcc and Python's headers"
        )


def test_every_corpus_xml_file_reads_the_same() -> None:
    files = list(xml_files(CORPUS))
    assert len(files) > 30
    for path in files:
        assert_same_reading(path)


def test_every_project_xml_file_reads_the_same() -> None:
    files = [*xml_files(REPO / "tests" / "data"), *xml_files(REPO / "examples")]
    assert len(files) > 5
    for path in files:
        assert_same_reading(path)


# ------------------------------------------------------------------------------------ generated JUnit
ELEMENTS = [
    *["testcase"] * 6,
    *["testsuite"] * 2,
    "testsuites",
    *["properties", "properties", "property"],
    *["failure", "error", "skipped", "flakyFailure", "flakyError", "rerunFailure"],
    *["system-out", "system-err", "stackTrace", "other"],
]
ATTRIBUTES = ["name", "classname", "class", "time", "time", "status", "message", "tests", "failures", "skipped"]
VALUES = [
    *["", "x", "0.5", "1.", ".5", "007.250", "12", "0.0001", "-1", "1e3", " 2 ", "1_0", "nan", "inf", "-0"],
    *["99999999999999999999999999999999999999" * 9, "\u0661\u0662", "2,5", "disabled", "Skipped", "notrun"],
    *["a &amp; b", "&#x41;&#233;", "&lt;tag&gt;", "\u4e2d\u6587", "line\nbreak", "tab\there"],
]
TEXTS = [
    *["", "x", "  boom \n second line", "<![CDATA[ a < b\n\tat x ]]>", "<!-- a comment -->", "<?pi data?>"],
    *["&amp;&#233;&#x4E2D;", "\u4e2d\u6587", "\n\n   ", "y" * 4100, "\n" * 3000 + "late first line"],
]


def render(name: str, attributes: dict[str, str], children: list[str]) -> str:
    quoted = "".join(f' {key}="{value.replace(chr(10), "&#10;")}"' for key, value in attributes.items())
    return f"<{name}{quoted}>{''.join(children)}</{name}>" if children else f"<{name}{quoted}/>"


attribute_maps = st.dictionaries(st.sampled_from(ATTRIBUTES), st.sampled_from(VALUES), max_size=4)
texts = st.sampled_from(TEXTS)
elements = st.recursive(
    st.builds(render, st.sampled_from(ELEMENTS), attribute_maps, st.just([])),
    lambda children: st.builds(
        render, st.sampled_from(ELEMENTS), attribute_maps, st.lists(st.one_of(children, texts), max_size=5)
    ),
    max_leaves=40,
)
roots = st.builds(
    render,
    st.sampled_from(["testsuites", "testsuite", "testsuite", "testcase", "results"]),
    attribute_maps,
    st.lists(st.one_of(elements, texts), max_size=8),
)
PROLOGS = ["", '<?xml version="1.0" encoding="UTF-8"?>\n', "\ufeff", '<?xml version="1.0" encoding="ISO-8859-1"?>']


def encode(prolog: str, root: str) -> bytes:
    if "ISO-8859-1" in prolog:
        return (prolog + root).encode("latin-1", "xmlcharrefreplace")
    return (prolog + root).encode("utf-8")


CHECKS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@CHECKS
@given(st.sampled_from(PROLOGS), roots)
def test_generated_documents_read_the_same(prolog: str, root: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "report.xml"
        path.write_bytes(encode(prolog, root))
        assert_same_reading(path)


@CHECKS
@given(st.sampled_from(PROLOGS), roots, st.data())
def test_mutated_documents_read_the_same_or_are_refused(prolog: str, root: str, data: st.DataObject) -> None:
    inserts = [b"<", b">", b"&", b"\0", b"\xff", b"]]>", b"</x>", b'"', b"<!DOCTYPE t>"]
    document = data.draw(mutated([encode(prolog, root)], inserts))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "report.xml"
        path.write_bytes(document)
        assert_same_reading(path)


# Surefire's <properties> block: the C scanner skips it inside expat (no Python call for its elements)
# exactly where the streaming parser does, whatever it holds, and counts nothing in it.
PROPERTY_PARTS = [
    *['<property name="a" value="b"/>', "<property name='a' value='it&apos;s'/>", '<property name="a"/>'],
    *['<property name="a" value="b"></property>', '<property name="line.separator" value="&#10;"/>'],
    *['<property name="a" value="\u00e9 &amp; &lt;"/>', '<property name="a"><nested/></property>', "text"],
    *["<!-- <testcase/> -->", "<![CDATA[<testcase/>]]>", "<?pi <testcase/>?>", "<testcase/>", "<properties/>"],
    *['<testcase name="t"><failure message="m"/></testcase>', "<properties><testcase/></properties>"],
    '<testsuite name="inner"><testcase/></testsuite>',
    # Not well-formed: both readers refuse the document.
    *['<property name="a" value="b>', '<property name="a" name="b"/>', '<property name="a" value="&#x1F;"/>'],
    "</testsuite>",
]
properties_blocks = st.builds(
    lambda opening, parts, closing: f"<properties{opening}>{''.join(parts)}</properties{closing}>",
    st.sampled_from(["", " ", "\n  "]),
    st.lists(st.sampled_from([*PROPERTY_PARTS, "\n    "]), max_size=8),
    st.sampled_from(["", " "]),
)
BEFORE_BLOCK = [
    '<testsuite name="s">\n  ',
    '<testsuites><testsuite name="s">',
    "<testsuite><!-- c -->",
    "<testsuite><testcase>",
]


@CHECKS
@given(st.sampled_from(PROLOGS), st.sampled_from(BEFORE_BLOCK), properties_blocks, st.lists(elements, max_size=4))
def test_documents_with_a_properties_block_read_the_same(prolog: str, before: str, block: str, rest: list[str]) -> None:
    closing = "".join(f"</{name}>" for name in reversed(re.findall(r"<(test\w+)>?", before.split("<!--")[0])))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "TEST-S.xml"
        path.write_bytes(encode(prolog, before + block + "".join(rest) + closing))
        assert_same_reading(path)


@pytest.mark.parametrize("before", BEFORE_BLOCK)
@pytest.mark.parametrize("part", PROPERTY_PARTS)
def test_each_kind_of_property_reads_the_same(tmp_path: Path, part: str, before: str) -> None:
    valid = '\n    <property name="java.version" value="17.0.9"/>\n    '
    closing = "</testcase></testsuite>" if before.endswith("<testcase>") else "</testsuite>"
    path = tmp_path / "TEST-S.xml"
    case = '<testcase name="t" time="0.5"><failure message="m"/></testcase>'
    path.write_text(f"{before}<properties>{valid}{part}{valid}</properties>{case}{closing}", encoding="utf-8")
    assert_same_reading(path)


def test_a_document_of_many_chunks_reads_the_same(tmp_path: Path) -> None:
    cases = "".join(
        f'<testcase name="t{i}" time="0.{i % 997:03d}">'
        + ('<failure message="m"><![CDATA[at x\n]]></failure>' if i % 50 == 0 else "")
        + ("<system-out>out</system-out>" if i % 7 == 0 else "")
        + "</testcase>\n"
        for i in range(40_000)
    )
    path = tmp_path / "large.xml"
    path.write_text(f'<testsuite name="big"><properties><property name="a" value="b"/></properties>{cases}</testsuite>')
    assert path.stat().st_size > 2 * CHUNK_SIZE
    assert read_with("accelerated", path) == read_with("streaming", path)
    assert junit.parse(path).tests is not None
    assert junit.parse(path).tests.passed == 40_000 - 800


def test_a_doctype_across_two_chunks_is_left_to_the_streaming_parser(tmp_path: Path) -> None:
    comment = "<!--" + "c" * (CHUNK_SIZE - 4 - 3 - 4) + "-->"
    document = comment + '<!DOCTYPE testsuite [<!ENTITY boom "x">]><testsuite><testcase name="&boom;"/></testsuite>'
    path = tmp_path / "doctype.xml"
    path.write_text(document, encoding="utf-8")
    assert path.read_bytes()[CHUNK_SIZE - 4 : CHUNK_SIZE + 5] == b"<!DOCTYPE"
    assert junit.read_accelerated(path) is None
    with pytest.raises(InputError, match="declares the entity 'boom'"):
        junit.parse(path)


def test_utf16_is_left_to_the_streaming_parser(tmp_path: Path) -> None:
    path = tmp_path / "utf16.xml"
    path.write_text('<?xml version="1.0" encoding="UTF-16"?><testsuite><testcase name="\u00e9"/></testsuite>', "utf-16")
    assert junit.read_accelerated(path) is None
    tests = junit.parse(path).tests
    assert tests is not None and tests.passed == 1


def test_a_scanner_reads_one_document() -> None:
    assert junit.Scanner is not None
    handler = junit._Handler()
    scanner = junit.Scanner(handler, junit.to_float, ("failure",), ("testsuite",))
    assert scanner.feed(b"<testsuite><testcase time='1.5'/></testsuite>", True)
    assert scanner.counts() == (1, 1.5)
    with pytest.raises(RuntimeError, match="one document"):
        scanner.__init__(handler, junit.to_float, (), ())  # type: ignore[misc]
    with pytest.raises(TypeError, match="callable"):
        scanner.CharacterDataHandler = 3  # type: ignore[assignment]


def test_without_the_extension_the_streaming_parser_reads_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    report = REPO / "examples" / "passing" / "reports" / "junit.xml"
    with_extension = junit.parse(report)
    monkeypatch.setattr(junit, "Scanner", None)
    assert junit.parse(report) == with_extension


def test_a_properties_block_as_the_root_is_still_not_junit(tmp_path: Path) -> None:
    path = tmp_path / "properties.xml"
    path.write_text('<?xml version="1.0"?>\n<properties><property name="a" value="b"/></properties>', encoding="utf-8")
    assert read_with("accelerated", path) == read_with("streaming", path) == ("not junit", "properties")
