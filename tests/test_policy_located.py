"""gatekeeper.policy.located reads YAML with libyaml where it can, and PyYAML's own parser otherwise: here the
two are held to each other, so a policy reads the same, and fails with the same words at the same place,
whichever read it (issue 16: `check` reads a policy in every job, libyaml ~10x faster).

Compared: the node tree (kind, tag, value, position of every node) and all `locate_yaml` gives (data,
positions, duplicate-key problems, or the PolicyProblems raised), on every YAML file of the repository,
on hand-picked corners of YAML, and on generated and spoilt documents.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.policy import located
from gatekeeper.policy.problems import PolicyProblems
from tests.strategies import json_values

ROOT = Path(__file__).resolve().parent.parent
YAML_FILES = sorted(
    path
    for pattern in (
        "rules/**/*.yaml",
        "gatekeeper/**/*.yaml",
        "examples/**/*.y*ml",
        "tests/**/*.y*ml",
        "ci-snippets/**/*.y*ml",
    )
    for path in ROOT.glob(pattern)
)
TEXTS = [path.read_text(encoding="utf-8") for path in YAML_FILES]

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="this PyYAML has no libyaml: one parser only")


def tree(node: Any, seen: dict[int, int] | None = None) -> Any:
    """What `located` uses of a node tree: kind, tag, value and start position of each node (an alias,
    a node met again, by its first visit's number: a recursive alias ends)."""
    seen = {} if seen is None else seen
    if node is None:
        return None
    if id(node) in seen:
        return ("again", seen[id(node)])
    seen[id(node)] = len(seen)
    where = (node.start_mark.line, node.start_mark.column)
    if isinstance(node, yaml.MappingNode):
        return ("map", node.tag, where, [(tree(key, seen), tree(value, seen)) for key, value in node.value])
    if isinstance(node, yaml.SequenceNode):
        return ("seq", node.tag, where, [tree(item, seen) for item in node.value])
    return ("scalar", node.tag, where, node.value)


def outcome(compose: Any, text: str) -> Any:
    """Everything `locate_yaml` gives for `text` with this composer, or the problems it raises."""
    try:
        found = located._located("policy.yaml", text, "policy file", compose)
    except PolicyProblems as problems:
        return ("problems", problems.found)
    return ("located", repr(found.data), found.values, found.keys, found.problems, found.nodes)


def nodes(compose: Any, text: str) -> Any:
    try:
        return ("nodes", tree(compose(text)))
    except yaml.YAMLError as error:
        return ("error", type(error).__name__, str(error))
    except located._TooLarge as error:
        return ("too large", error.where, error.problem)


def assert_same(text: str) -> None:
    assert nodes(located._compose, text) == nodes(located._compose_pure, text), text
    assert outcome(located._compose, text) == outcome(located._compose_pure, text), text


@pytest.mark.parametrize("index", range(len(YAML_FILES)), ids=[str(p.relative_to(ROOT)) for p in YAML_FILES])
def test_every_yaml_file_in_the_repository(index: int) -> None:
    assert_same(TEXTS[index])


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


CORNERS = [
    "",
    "# only a comment\n",
    "---\n",
    "---\n...\n",
    "a: 1\n---\nb: 2\n",  # two documents: an error
    "%YAML 1.1\n---\na: 1\n",
    "%YAML 1.2\n---\na: 1\n",
    "%YAML 1.3\n---\na: 1\n",  # PyYAML takes any 1.x, libyaml only 1.1 and 1.2
    "%YAML 2.0\n---\na: 1\n",
    "%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1\n",
    "a: !!str 1\nb: !!int '2'\nc: !!float 3\nd: !custom x\ne: ! 5\nf: !!binary aGk=\ng: !!set {x, y}\n",
    "a: &x [1, 2]\nb: *x\nc: *x\n",
    "a: &x [1, *x]\n",  # an alias inside its own anchor
    "a: *undefined\n",
    "a: &x 1\nb: &x 2\nc: *x\n",
    "<<: {a: 1}\nb: 2\n",
    "a: 1\na: 2\nb: {c: 1, c: 2}\n",  # duplicate keys, kept as problems
    "? [complex, key]\n: value\n? {a: 1}\n",
    "? a\n? b\n",
    "~: null key\nnull: 1\n'': empty\n",
    "a:\nb: ~\nc: null\nd: NULL\ne:\n  - \n  -\n",
    "yes: no\non: off\ny: n\ntrue: false\n",
    "i: 0o17\nj: 0x1f\nk: 017\nl: 1_000\nm: 1:30\nn: .inf\no: -.Inf\np: .nan\nq: 1e3\nr: 1.0e+3\ns: +1\n",
    "d: 2027-06-30\nt: 2027-06-30T12:00:00Z\nbad: 2027-13-30\nu: 2001-12-14 21:59:43.10 -5\n",
    "plain: one\n  two\n\n  three\nnext: x\n",
    "folded: >\n  one\n  two\n\n  three\nliteral: |\n  one\n   two\n",
    "keep: |+\n  a\n\n\nstrip: |-\n  a\n\nclip: >\n  a\n\nindent: |2\n    a\n  b\n",
    "single: 'it''s\n  folded'\n"
    'double: "tab\\tquote\\" \\u00e9 \\x41 \\/ \\N \\_ \\L \\P\n  folded \\\n  escaped"\n',
    'bad: "\\q"\n',
    "bad: 'unclosed\n",
    "a: b: c\n",
    "- a\nb: c\n",
    "a:\n  - 1\n - 2\n",
    "key with spaces: 1\n'quoted key': 2\n\"dq key\": 3\n",
    "a: [1, 2,]\nb: {c: 1,}\n",
    "a: [1, [2, [3, {b: [4]}]]]\n",
    "- - - - x\n- - y\n",
    "a: {b: , c}\n",
    "a: -1\nb: - 1\nc: -\n",
    "a: @x\n",
    "a: `x\n",
    "a: %x\n",
    "a: |\n  text\n b: 1\n",
    "a: 1 # comment\n#b: 2\nc: 'x' # c\n",
    "a: x#y\nb: x #y\nc: http://x.y/#z\n",
    "a: :b\nc: ::\nd: -:\ne: a:b\n{f:1}: x\n",
    "[a, b]: c\n",
    "a: [b: c, d]\n",
    "a: {? b : c}\n",
    "k" * 1100 + ": v\n",  # a simple key longer than 1024 characters
    "'" + "k" * 1100 + "': v\n",
    "a: " + "x" * 5000 + "\n",
    "变更追溯: 版本控制与变更管理系统自动关联\ncriterion: 'é ü 🚀 \U0001d518'\n😀: 1\n",
    "a: \u00a0x\u00a0\n",
    "a: 1\n\x00",
    "a: \x07\n",
    "a: \ud7ff\ue000\ufffd\n",
    "a: \ufffe\n",
    "a: 1\nb",
    "a: 1\n  b: 2\n",
    "   a: 1\n   b: 2\n",
    "---\n- a\n...\n---\n- b\n",
    "--- |\n  text\n",
    "--- !!map\na: 1\n",
    "!!set\n? a\n",
    "&anchor a: 1\n",
    "a: &anchor\nb: 1\n",
    "*a: 1\n",
    nested(62),
    nested(63),
    nested(64),
    nested(65),
    nested(66),
    nested(70, "[]"),
    nested(5000),
    "a:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(80)) + "  " * 81 + "leaf\n",
    "- " * 70 + "x\n",
    "[" * 200_000,
    "a: [" + "*x, " * 10 + "]\n",
    # Seen read apart (libyaml reads them, PyYAML refuses): PyYAML's parser takes them.
    "a: [t?x]\nb: {m: t?x}\n",
    "[a ?b, c?]\n",
    "a: |#\n  x\nb: >-#c\n  y\n",
    ">#",
    "!*!- .}%",
    "x: &x [1]\n"
    + "\n".join(
        f"y{i}: &y{i} [*{'x' if i == 0 else f'y{i - 1}'}, *{'x' if i == 0 else f'y{i - 1}'}]" for i in range(30)
    ),
]


@pytest.mark.parametrize("text", CORNERS, ids=range(len(CORNERS)))
def test_corners_of_yaml(text: str) -> None:
    assert_same(text)


@pytest.mark.parametrize("odd", ["\t", "\r\n", "\r", "\x85", "\u2028", "\u2029", "\ufeff"])
def test_characters_the_parsers_may_count_differently_are_read_by_pyyaml_alone(odd: str) -> None:
    """A tab, a line break other than \\n or a byte-order mark: PyYAML's own parser reads it, so nothing
    needs to agree (and the two do agree on what follows)."""
    text = f"a: 1{odd}\nb: 'x{odd}y'\n" if odd != "\ufeff" else "\ufeffa: 1\n"
    assert located._NOT_FOR_LIBYAML.search(text) is not None
    assert_same(text)


def test_the_bundled_policies_are_read_by_libyaml() -> None:
    """What `check` reads in every job takes the fast path (nothing above would notice if none did)."""
    bundled = [ROOT / "rules" / "starter.yaml", *sorted((ROOT / "rules" / "caict-cd").glob("*.yaml"))]
    assert len(bundled) == 6
    for path in bundled:
        assert located._alike(path.read_text(encoding="utf-8")), path


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab1 ?:,-[]{}#&*!|>'\"\n.~%@`\\é", "  ", ": ", "- ", "\n  ", "? ", "|-"]), max_size=20)
)
def test_short_texts_of_yaml_s_indicators_read_the_same(pieces: list[str]) -> None:
    """Where the two parsers were seen to differ: short runs of indicators, in and out of `[...]`, `{...}`."""
    text = "".join(pieces)
    for wrapped in (text, f"[{text}]", f"a: {{{text}}}\n"):
        assert_same(wrapped)


#: Characters whose insertion changes how YAML reads a text.
INSERTS = [*":-?,[]{}#&*!|>'\"%@`~ \n", "  ", ": ", "- ", "\n  ", "---\n", "...\n", "\\", "é", "&a ", "*a", "!!str "]


@st.composite
def spoilt(draw: st.DrawFn) -> str:
    """A YAML file of the repository (a policy, a pack, a pipeline, a scanner's rules) with one to four edits."""
    text = draw(st.sampled_from([t for t in TEXTS if len(t) < 20_000]))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "truncate", "indent", "swap"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(INSERTS)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif action == "truncate":
            text = text[:at]
        elif action == "indent":
            start = text.rfind("\n", 0, at) + 1
            text = text[:start] + " " * draw(st.integers(1, 3)) + text[start:]
        else:
            lines = text.split("\n")
            if len(lines) > 1:
                i = draw(st.integers(0, len(lines) - 2))
                lines[i], lines[i + 1] = lines[i + 1], lines[i]
                text = "\n".join(lines)
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spoilt())
def test_spoilt_yaml_files_read_the_same(text: str) -> None:
    assert_same(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=json_values,
    flow=st.sampled_from([None, True, False]),
    style=st.sampled_from([None, "'", '"', "|", ">"]),
    width=st.sampled_from([20, 80, 1000]),
    unicode=st.booleans(),
    canonical=st.booleans(),
)
def test_dumped_documents_read_the_same(
    data: Any, flow: bool | None, style: str | None, width: int, unicode: bool, canonical: bool
) -> None:
    text = yaml.safe_dump(
        data, default_flow_style=flow, default_style=style, width=width, allow_unicode=unicode, canonical=canonical
    )
    assert_same(text)


def test_a_wheel_without_libyaml_reads_with_pyyaml_alone(tmp_path: Path) -> None:
    """PyYAML built without libyaml (`__with_libyaml__` False): every text is PyYAML's own, as before."""
    probe = (
        "import yaml\n"
        "yaml.__with_libyaml__ = False\n"
        "del yaml.CSafeLoader\n"  # would fail loudly if reached
        "from gatekeeper.policy.located import locate_yaml\n"
        "print(locate_yaml('p.yaml', 'a: [1, {b: c}]\\n', 'policy file').values)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert (
        run.stdout.strip() == "{(): (1, 1), ('a',): (1, 4), ('a', 0): (1, 5), ('a', 1): (1, 8), ('a', 1, 'b'): (1, 12)}"
    )
