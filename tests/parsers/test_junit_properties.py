"""Surefire's `<properties>` blocks: skipped whatever they hold, and never at the cost of an XML error.

A block of well-formed properties must leave the evidence exactly as if it were not there; a malformed
one must still be reported, at the right line, as must a problem after it.  These pin the behaviour any
faster treatment of the blocks (bench/README.md, "Second pass") has to keep.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.errors import InputError
from gatekeeper.model import Evidence
from gatekeeper.parsers.junit import evidence, parse, read_streaming

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="S" tests="3" failures="1">\n'
CASES = (
    '  <testcase name="a" classname="C" time="0.010"/>\n'
    '  <testcase name="b" classname="C" time="0.020"><failure message="boom"/></testcase>\n'
    '  <testcase name="c" classname="C" time="0.030"><skipped/></testcase>\n'
)
TAIL = "</testsuite>\n"


def read(directory: Path, xml: str) -> Evidence:
    path = directory / "TEST-S.xml"
    path.write_text(xml, encoding="utf-8")
    read = parse(path)  # the C scanner's reading where it is built; the streaming parser's must be the same
    assert evidence(read_streaming(path)) == read
    return read


def with_block(block: str) -> str:
    return f"{HEAD}  {block}\n{CASES}{TAIL}"


def error_of(directory: Path, xml: str) -> str:
    with pytest.raises(InputError) as raised:
        read(directory, xml)
    return str(raised.value)


def test_a_block_with_references_single_quotes_and_end_tags_changes_nothing(tmp_path: Path) -> None:
    block = (
        "<properties>\n"
        '    <property name="line.separator" value="&#10;"/>\n'
        '    <property name="sep" value="&#x9;&amp;&lt;&gt;&quot;&apos;"/>\n'
        "    <property name='quoted' value='say \"hi\" &amp; go'/>\n"
        '    <property value="value first" name="order"></property>\n'
        '    <property name="spaced"  value = "x" ></property >\n'
        "  </properties>"
    )
    expected = read(tmp_path, HEAD + CASES + TAIL)
    evidence = read(tmp_path, with_block(block))
    assert evidence == expected
    assert evidence.tests is not None and evidence.tests.total == 3


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        # Line 3 opens the block; an unclosed quote runs on until the `<` of the end tag on line 5.
        ('<properties>\n<property name="a" value="open/>\n</properties>', "line 5, column 1: not well-formed"),
        ('<properties>\n<property name="a" value="x<y"/>\n</properties>', "line 4, column 28: not well-formed"),
        ('<properties>\n<property name="a" value="&nbsp;"/>\n</properties>', "line 4, column 1: undefined entity"),
        ('<properties>\n<property name="a" value="&#x1F;"/>\n</properties>', "line 4, column 27: reference to invalid"),
        ('<properties>\n<property name="a" name="b"/>\n</properties>', "line 4, column 20: duplicate attribute"),
        ('<properties>\n<property name="a" value="b">\n</properties>', "line 5, column 3: mismatched tag"),
    ],
)
def test_a_malformed_block_is_still_an_error_at_its_line(tmp_path: Path, block: str, problem: str) -> None:
    assert f"malformed XML at {problem}" in error_of(tmp_path, with_block(block))


@pytest.mark.parametrize(
    "block",
    [
        '<properties><property name="a"><nested value="x"/></property></properties>',
        '<properties><!-- a comment --><property name="a" value="b"/></properties>',
        '<properties><property name="a" value="b"/><![CDATA[ <testcase name="no"/> ]]></properties>',
        '<properties><?pi data?><testcase name="not a test"/></properties>',
        # A block inside a block: skipped to the outer block's end (an inner end once ended the skipping,
        # and the inner suite's end then closed the report's own suite: an IndexError at its end).
        '<properties><testsuite name="no"><properties/><testcase name="no"/></testsuite></properties>',
        "<properties><properties><properties></properties><testcase/></properties><testcase/></properties>",
    ],
)
def test_a_well_formed_block_holding_other_things_is_still_skipped(tmp_path: Path, block: str) -> None:
    assert read(tmp_path, with_block(block)) == read(tmp_path, HEAD + CASES + TAIL)


def test_an_error_after_a_long_block_reports_its_own_line_and_column(tmp_path: Path) -> None:
    properties = "".join(f'\n    <property name="p{i}" value="v{i}"/>' for i in range(47))
    block = f"<properties>{properties}\n  </properties>"
    # HEAD is 2 lines, the block 49 (lines 3-51), CASES 3, the suite's end tag 1: the junk is on line 56.
    after_document = error_of(tmp_path, with_block(block) + "<junk/>\n")
    assert after_document.endswith("malformed XML at line 56, column 1: junk after document element")
    # On the block's last line after its end tag: the unquoted value is at column 15 + 25.
    same_line = error_of(tmp_path, with_block(block + '<testcase name="x" time=1/>'))
    assert same_line.endswith("malformed XML at line 51, column 40: not well-formed (invalid token)")


NAMES = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_.:-]{0,12}\Z")
# Any character XML 1.0 allows; quoteattr escapes what it must and leaves the rest as is.
VALUES = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\ufffe\uffff").filter(
        lambda c: c in "\t\n\r" or c >= " "
    ),
    max_size=20,
)
PROPERTIES = st.lists(st.tuples(NAMES, VALUES, st.booleans(), st.sampled_from(["\n    ", " ", ""])), max_size=30)


def _property(name: str, value: str, short: bool, space: str) -> str:
    attributes = f"name={quoteattr(name)} value={quoteattr(value)}"
    element = f"<property {attributes}/>" if short else f"<property {attributes}></property>"
    return space + element


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(properties=PROPERTIES, case_name=VALUES)
def test_any_generated_properties_block_leaves_the_evidence_unchanged(
    properties: list[tuple[str, str, bool, str]], case_name: str
) -> None:
    block = "<properties>" + "".join(_property(*entry) for entry in properties) + "\n  </properties>"
    cases = CASES + f"  <testcase name={quoteattr(case_name)}><error>{escape(case_name)}</error></testcase>\n"
    with tempfile.TemporaryDirectory() as directory:
        plain = read(Path(directory), HEAD + cases + TAIL)
        evidence = read(Path(directory), f"{HEAD}  {block}\n{cases}{TAIL}")
    assert evidence == plain
    assert evidence.tests is not None and evidence.tests.errors == 1
