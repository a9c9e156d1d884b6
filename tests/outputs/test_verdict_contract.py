"""The verdict's contract in the code (issue 14, item 1): its closed sets are spelled once, the verdict
module (core) imports no command, readers take the typed verdict (JSON only at the edges listed
below), and the typed verdict reads v1 and v2 and writes back what the engine wrote, byte for byte."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from gatekeeper.model import Decision, GateStatus
from gatekeeper.verdict import parse
from tests.conftest import REPO
from tests.strategies import schema_verdicts

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


# -- the typed verdict: JSON only at the edges -----------------------------------------------------------

#: A function that takes or returns a verdict (a parameter named *verdict*, or a function named so) as a
#: JSON object, `dict[str, Any]` or `Mapping[str, Any]`.
_DICTY = re.compile(r"\b(dict|Mapping|MutableMapping)\[str, (Any|object)\]")
#: The JSON edges: where the document is serialised, validated, stored, sent or uploaded as it is.
EDGES = {
    ("gatekeeper/verdict.py", "_size"),  # the size bound is measured on the document
    ("gatekeeper/verdict.py", "dumps"),
    ("gatekeeper/verdict.py", "_verdict_json"),  # to_json
    ("gatekeeper/commands/check.py", "_record"),  # the embedded store keeps the document
    ("gatekeeper/commands/upload.py", "read_verdict"),  # a file to upload, sent as it is
    ("gatekeeper/store/__init__.py", "add"),
    ("gatekeeper/store/sqlite.py", "add"),
    ("gatekeeper/store/sqlite.py", "_row"),
    ("gatekeeper/store/remote.py", "add"),
    ("gatekeeper/store/codec.py", "test_run_record"),  # flaky history's record, of the document a store keeps
    ("gatekeeper/server/app.py", "list_verdicts"),  # an API page of summaries
    ("gatekeeper/server/db.py", "verdict_row"),  # the server stores bodies as uploaded
    ("gatekeeper/server/db.py", "add_verdict"),
    ("gatekeeper/server/observability.py", "stored"),
    ("gatekeeper/server/releases.py", "latest_verdict_for"),
    ("gatekeeper/sinks/upload.py", "body_of"),
    ("gatekeeper/sinks/upload.py", "deliver"),
    ("gatekeeper/sinks/upload.py", "verdict_problem"),  # the server's rule, on the document it would be sent
    ("gatekeeper/sinks/spool.py", "add"),
    ("gatekeeper/sinks/spool.py", "reject"),
    ("gatekeeper/sinks/spool.py", "_set_aside"),
    ("gatekeeper/sinks/delivery.py", "deliver_all"),
    ("gatekeeper/sinks/delivery.py", "deliver_checked"),
    ("gatekeeper/sinks/delivery.py", "send"),
    ("gatekeeper/sinks/delivery.py", "_keep"),
}


def _verdicts_as_dicts() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            takes = any(
                "verdict" in arg.arg.lower()
                and arg.annotation is not None
                and _DICTY.search(ast.unparse(arg.annotation))
                for arg in arguments
            )
            gives = (
                "verdict" in node.name.lower() and node.returns is not None and _DICTY.search(ast.unparse(node.returns))
            )
            if takes or gives:
                found.add((name, node.name))
    return found


def test_no_function_outside_the_json_edges_takes_or_returns_a_verdict_as_a_dict() -> None:
    found = _verdicts_as_dicts()
    assert found - EDGES == set(), "take the typed gatekeeper.verdict.Verdict"
    assert EDGES - found == set(), "no longer an edge: take it off EDGES"
    typed = {"gatekeeper/engine.py", "gatekeeper/verdict_v1.py", "gatekeeper/commands/explain.py"}
    typed |= {name for name, _ in found if name.startswith("gatekeeper/outputs/")}
    assert not {name for name, _ in found} & typed


def test_a_verdict_the_engine_wrote_reads_back_byte_for_byte() -> None:
    from tests.outputs.cases import CASES

    for make in CASES.values():
        document = make()
        verdict = parse(document, "case")
        assert (verdict.gates and all(gate.condition is not None for gate in verdict.gates)) or not document["gates"]
        assert json.dumps(verdict.to_json(), ensure_ascii=False) == json.dumps(document, ensure_ascii=False)


def test_a_recorded_v1_verdict_reads_back_as_v1() -> None:
    for path in sorted((REPO / "tests" / "data" / "verdicts" / "v1").glob("*/verdict.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        verdict = parse(document, str(path))
        assert verdict.schema == "gatekeeper.verdict/v1"
        assert verdict.to_json() == document, path  # written back as v1 recorded it: no condition added


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(document=schema_verdicts())
def test_every_schema_valid_verdict_reads_typed(document: dict[str, Any]) -> None:
    verdict = parse(document, "drawn")
    assert verdict.status is Decision(document["status"])
    assert [gate.id for gate in verdict.gates] == [gate["id"] for gate in document["gates"]]
    if document["schema"] == "gatekeeper.verdict/v2":
        assert all(gate.condition is not None for gate in verdict.gates)
    parse(verdict.to_json(), "written back")  # what it writes is a verdict too


def test_check_writes_the_same_v2_verdict_byte_for_byte_apart_from_id_and_times(tmp_path: Path) -> None:
    """Two runs of `gatekeeper check` on the same reports: the JSON files differ only in id, created_at
    and duration_ms (the conditions and their order included)."""
    reports = REPO / "examples" / "failing" / "reports"
    texts = []
    for run in ("first", "second"):
        out = tmp_path / f"{run}.json"
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("gatekeeper")),
                "check",
                "-p",
                str(REPO / "rules/caict-cd/level-3.yaml"),
            ]
            + [str(reports / name) for name in ("junit.xml", "coverage.xml", "bandit.json")]
            + ["--branch", "main", "--no-store", "-o", f"json={out}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS"))},
        )
        assert result.returncode == 1, result.stderr
        texts.append(re.sub(r'"(id|created_at|duration_ms)": ("[^"]*"|\d+)', r'"\1": …', out.read_text("utf-8")))
    assert texts[0] == texts[1]
    assert '"schema": "gatekeeper.verdict/v2"' in texts[0] and '"condition": {' in texts[0]
