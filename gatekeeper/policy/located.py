"""YAML with positions: a policy document as plain data, plus where each value and key was written.

Bounded against hostile input (aliases that expand, nesting deep enough to overflow the stack, files
of any size), and quoting nothing of the text in its messages: `extends` may name any file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from gatekeeper.errors import os_reason
from gatekeeper.policy.problems import PolicyProblems, Problem

Location = tuple[int, int]  # 1-based line, column
JsonPath = tuple[str | int, ...]
#: Guards against YAML aliases that expand exponentially ("billion laughs") or refer to themselves.
_MAX_NODES = 20_000  # a large real policy has a few thousand
_MAX_DEPTH = 64  # also bounds PyYAML's recursive composer, which would overflow Python's stack at ~300
#: The largest policy file read (local or fetched); real policies are a few KiB.
MAX_POLICY_BYTES = 1 << 20


@dataclass(slots=True)
class Located:
    """A YAML document as plain data, plus where each value (and each mapping key) was written."""

    data: Any
    values: dict[JsonPath, Location]
    keys: dict[JsonPath, Location]
    problems: list[tuple[Location, str]] = field(default_factory=list)
    nodes: int = 0

    def where(self, path: JsonPath, key: str | None = None) -> Location:
        if key is not None:
            at = (*path, key)  # (mypy reads a starred tuple inside [] as 3.11-only syntax)
            if at in self.keys:
                return self.keys[at]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))


def read_policy_text(path: Path, name: str) -> str:
    """At most MAX_POLICY_BYTES of `path` (`extends: /dev/zero` must not fill the memory), as UTF-8 text;
    problems name the file `name`."""

    def problem(message: str) -> PolicyProblems:
        return PolicyProblems([Problem(name, 0, 0, message)])

    try:
        with path.open("rb") as file:
            data = file.read(MAX_POLICY_BYTES + 1)
        if len(data) > MAX_POLICY_BYTES:
            raise problem(f"larger than {MAX_POLICY_BYTES} bytes; not a policy")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise problem("no such policy file") from None
    except OSError as error:  # a name too long, a symlink loop, no permission: the OS's reason, once
        raise problem(f"cannot read policy: {os_reason(error)}") from None
    except UnicodeDecodeError as error:
        raise problem(f"cannot read policy: {error}") from None
    return text


def locate_yaml(path: str | Path, text: str, kind: str) -> Located:
    """`text`, read from `path`, as plain data with the position of every value; invalid YAML, an empty
    document or one that grows too large (aliases) or too deep is a PolicyError at its `file:line:column`.

    No message quotes the text: `extends` may name any file, and its errors land in CI logs.
    """
    return _located(path, text, kind, _compose)


def _located(path: str | Path, text: str, kind: str, compose: Callable[[str], Any]) -> Located:
    """`locate_yaml` with the node tree from `compose` (the tests hold `_compose` to PyYAML's own composer)."""
    import yaml

    located = Located(data=None, values={}, keys={})
    try:
        node = compose(text)
        if node is None:
            raise PolicyProblems([Problem(str(path), 1, 1, f"the {kind} is empty")])
        located.data = _to_python(node, (), located, yaml.SafeLoader(""))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise PolicyProblems([Problem(str(path), line, column, f"invalid YAML: {_unquoted(problem)}")]) from None
    except _TooLarge as error:
        raise PolicyProblems([Problem(str(path), *error.where, f"the {kind} is {error.problem}")]) from None
    return located


#: What PyYAML may quote in a message without quoting the file: one character (escaped or not), a
#: character code, or a token's name such as '<block end>'.
#: (Patterns, compiled by `re` on first use: only a text PyYAML refuses needs them, not every run.)
_HARMLESS_QUOTE = r"\\?.|\\x[0-9a-f]{2}|\\u[0-9a-f]{4}|#x[0-9a-f]{4}|<[a-z ]+>"
_QUOTED = r"'([^']*)'|\"([^\"]*)\""


def _unquoted(problem: str) -> str:
    """PyYAML's problem with what it quotes from the text (an alias, a tag, a scalar) left out."""

    def keep(match: re.Match[str]) -> str:
        inner = match[1] if match[1] is not None else match[2]
        return match[0] if re.fullmatch(_HARMLESS_QUOTE, inner) else "(…)"

    return re.sub(_QUOTED, keep, problem)


#: Characters PyYAML's own scanner and libyaml may count or fold differently (line breaks other than \n, tabs,
#: a byte-order mark): a text holding one is read by PyYAML's own parser alone.
_NOT_FOR_LIBYAML = re.compile("[\t\r\x85\u2028\u2029\ufeff]")


def _compose(text: str) -> Any:
    """The document's node tree (None for an empty one), read by libyaml (PyYAML's C extension, ~10x faster
    on a policy: `check` reads one in every job) where the two parsers agree: a wheel that has libyaml, a text
    without the characters above, whose events libyaml reads without an error and `_alike` passes; else,
    and for every error (whose words and positions are PyYAML's own), by PyYAML's pure-Python parser.  The
    same nodes, tags, values and positions either way: tests/test_policy_located.py holds one to the other."""
    import yaml

    if yaml.__with_libyaml__ and _NOT_FOR_LIBYAML.search(text) is None:
        try:
            if _alike(text):
                loader = yaml.CSafeLoader(text)
                try:
                    return loader.get_single_node()
                finally:
                    loader.dispose()
        except yaml.YAMLError:
            pass  # PyYAML's own parser says what is wrong, in its words
    return _compose_pure(text)


def _compose_pure(text: str) -> Any:
    """PyYAML's own parser and composer (depth-bounded): what every policy was read with before issue 16."""
    import yaml

    return yaml.compose(text, Loader=_depth_bounded_loader())


def _alike(text: str) -> bool:
    """Whether libyaml reads `text` as PyYAML does, judged from libyaml's events (its parser is not recursive,
    its composer is).  What the two were seen to read apart, or that policies do not use, goes to PyYAML:
    - a collection nested _MAX_DEPTH deep: libyaml's composer recurses in C with no bound (a million `[`
      would overflow the C stack), PyYAML's stops there with a policy error;
    - a value left empty (`{a: }`): libyaml places the null at the next token, PyYAML right after the `:`;
    - a `?` in a plain scalar inside `[...]` or `{...}`, and a block scalar's header with more after its
      indicators than a space (`|#`): libyaml reads them, PyYAML refuses them;
    - tags, anchors, aliases and directives (`!x !`, `%TAG`), where the two parsers' rules differ in places."""
    import yaml

    parser = yaml.CSafeLoader(text)
    flow: list[bool] = []  # the open collections, innermost last: in flow style or not
    lines: list[str] | None = None
    try:
        while (event := parser.get_event()) is not None:
            if isinstance(event, yaml.ScalarEvent):
                if event.tag is not None or event.anchor is not None:
                    return False
                if not event.style and (not event.value or (any(flow) and "?" in event.value)):
                    return False
                if event.style in ("|", ">"):
                    lines = text.split("\n") if lines is None else lines
                    mark = event.start_mark
                    if mark is None or not _BLOCK_HEADER.fullmatch(lines[mark.line], mark.column):
                        return False
            elif isinstance(event, yaml.CollectionStartEvent):
                if event.tag is not None or event.anchor is not None or len(flow) + 1 >= _MAX_DEPTH:
                    return False
                flow.append(bool(event.flow_style))
            elif isinstance(event, yaml.CollectionEndEvent):
                flow.pop()
            elif isinstance(event, yaml.AliasEvent) or (
                isinstance(event, yaml.DocumentStartEvent) and (event.version or event.tags)
            ):
                return False
    finally:
        parser.dispose()
    return True


#: A block scalar's header, up to its line's end: indicators, then at most a comment after a space.
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*(?: .*)?")


@cache
def _depth_bounded_loader() -> type[Any]:
    """SafeLoader whose composer stops past _MAX_DEPTH: it recurses once per level, so YAML nested a few
    thousand deep would end in a RecursionError (a crash, exit 3) instead of a policy error."""
    import yaml

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > _MAX_DEPTH + 1:
                    mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # (untyped in the stubs)
                    raise _TooLarge((mark.line + 1, mark.column + 1), f"nested more than {_MAX_DEPTH} deep")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return Loader


class _TooLarge(Exception):
    def __init__(self, where: Location, problem: str) -> None:
        super().__init__(problem)
        self.where = where
        self.problem = problem


def _to_python(node: Any, path: JsonPath, located: Located, loader: Any) -> Any:
    """Plain data from a YAML node tree, recording the position of every value and key."""
    import yaml

    where = (node.start_mark.line + 1, node.start_mark.column + 1)
    located.values[path] = where
    located.nodes += 1
    if located.nodes > _MAX_NODES or len(path) > _MAX_DEPTH:
        # Named at the top-level key whose value grew too large: that is where to look.
        at = located.keys.get(path[:1], where)
        raise _TooLarge(at, "too large or too deeply nested (are YAML aliases expanding?)")
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            key_where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            at = (*path, key)
            if key in result:
                # YAML would silently keep the last one: a second `min:` or `gates:` hides the first.
                first = located.keys[at]
                located.problems.append(
                    (key_where, f"{label(path)}key '{key}' is given twice (first on line {first[0]})")
                )
            located.keys[at] = key_where
            result[key] = _to_python(value_node, at, located, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, index), located, loader) for index, item in enumerate(node.value)]
    try:
        value = loader.construct_object(node)
    except (ValueError, yaml.constructor.ConstructorError):
        return node.value  # e.g. the impossible date 2027-13-30: the schema reports it, with its line
    if isinstance(value, date):
        return value.isoformat()  # dates stay strings: the schema checks their form
    return value


def label(path: JsonPath) -> str:
    """`gates.3.min: ` before a message about that place in the document; nothing at the top level."""
    return "".join(f"{part}." for part in path)[:-1] + ": " if path else ""
