"""`gatekeeper.errors.one_line`: the one way a message becomes one line for the user (issue 14, item 5)."""

from __future__ import annotations

import ast
import sqlite3

from gatekeeper.errors import one_line
from tests.conftest import REPO

#: Where whitespace is joined for another reason than showing a message, and why.
OTHER_JOBS = {
    "gatekeeper/errors.py": "the helper itself",
    "gatekeeper/outputs/escape.py": "renderers' one_line also drops control characters and cuts with '…'",
    "gatekeeper/parsers/_security.py": "a finding's fingerprint normalises its snippet, not a message",
    "gatekeeper/release.py": "a stored value shown as text, '-' when absent",
}


def test_a_multi_line_library_message_is_one_line() -> None:
    error = sqlite3.DatabaseError("file is not a database\n  near line 2:\tgarbage\n")
    assert one_line(error) == "file is not a database near line 2: garbage"


def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    assert one_line(TimeoutError()) == "TimeoutError"
    assert one_line("") == ""


def _joins_split_whitespace(node: ast.AST) -> bool:
    """`" ".join(x.split())`, the idiom each copy of the helper was built on."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "join"
        and isinstance(node.func.value, ast.Constant)
        and node.func.value.value == " "
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Call)
        and isinstance(node.args[0].func, ast.Attribute)
        and node.args[0].func.attr == "split"
        and not node.args[0].args
    )


def test_one_helper_makes_messages_one_line() -> None:
    """There were five copies (cli, upload, the store client, coverage.py's reader, check's push and
    upload warnings); a sixth would drift from the others."""
    copies = [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path in sorted((REPO / "gatekeeper").rglob("*.py"))
        if str(path.relative_to(REPO)) not in OTHER_JOBS
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _joins_split_whitespace(node)
    ]
    assert copies == []
