"""The verdict's contract in the code (issue 14, item 1): its closed sets are spelled once, and the
verdict module, part of the core, imports no command."""

from __future__ import annotations

import ast
import re

from gatekeeper.model import Decision, GateStatus
from tests.conftest import REPO

PACKAGE = REPO / "gatekeeper"
#: The four statuses as a literal sequence: ("pass", "warn", "fail", "error") or a Literal[...] of them.
_SPELLED = re.compile(r"""["']pass["'],\s*["']warn["'],\s*["']fail["'],\s*["']error["']""")
#: Released SQL migrations are never edited (their CHECK constraint spells the statuses in SQL).
_MIGRATIONS = {"gatekeeper/store/sqlite.py": "CHECK (status IN ('pass', 'warn', 'fail', 'error'))"}


def test_the_verdict_statuses_are_spelled_once() -> None:
    assert [d.value for d in Decision] == ["pass", "warn", "fail", "error"]
    assert {s.value for s in GateStatus} == {"pass", "fail", "warn", "skip"}
    spelled = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        text = path.read_text(encoding="utf-8")
        if name in _MIGRATIONS:
            text = text.replace(_MIGRATIONS[name], "")
        if name != "gatekeeper/model.py" and _SPELLED.search(text):
            spelled.append(name)
    assert spelled == [], f"spell the statuses through gatekeeper.model.Decision: {spelled}"


def test_the_verdict_module_imports_no_command() -> None:
    for module in ("verdict.py", "verdict_v1.py", "engine.py", "model.py"):
        tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        assert not [name for name in imported if name.startswith("gatekeeper.commands")], module
