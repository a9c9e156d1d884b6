"""The package's layering is a checked contract, not a convention (STYLE.md, 12; issue 14, item 5).

import-linter checks which module may import which (the contracts in pyproject.toml); this module
runs it, shows on a planted violation that the contracts really bite, and adds two checks import-linter
cannot make: a private name (`_helper`) is used only inside the package that holds it, and only the
sinks, the store client, the server and policy.fetch import a network client (import-linter sees
`urllib.request` and `urllib.parse` both as `urllib`).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "gatekeeper"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the contracts in root/pyproject.toml, on the `gatekeeper` package in root."""
    if not LINT_IMPORTS.exists():
        pytest.skip(f"lint-imports not installed at {LINT_IMPORTS} (it comes with gatekeeper's test extras)")
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},  # this copy of the package, not the installed one
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_layering_contracts_are_kept() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


CORE = "Core imports no command, output, store, server, sink or HTTP client"


def _planted(module: str, line: str, contract: str, culprit: str | None = None) -> tuple[str, str, str, str]:
    """A planted import: the file it goes in, the line, the contract it breaks, and what the report names
    (by default the planted module itself)."""
    return module, line, contract, culprit or "gatekeeper." + module.removesuffix(".py").replace("/", ".")


#: One planted import per contract in pyproject.toml.
PLANTED = [
    _planted("engine.py", "from gatekeeper.store import sqlite", CORE),
    _planted("policy/model.py", "import requests", CORE),
    _planted("engine.py", "from gatekeeper.policy import fetch", "Only policy loading reaches the network fetch"),
    _planted(
        "outputs/text.py",
        "from gatekeeper.sinks import push",
        "Outputs render what they are given: no command, store, server, sink or HTTP client",
    ),
    _planted(
        "server/db.py",
        "from gatekeeper.store import sqlite",
        "The server uses stores only through their public modules (gatekeeper.store, gatekeeper.store.codec)",
    ),
    _planted(
        "sinks/push.py", "from gatekeeper.commands import check", "Sinks and stores import no command, CLI or server"
    ),
    _planted(
        "commands/scan.py",
        "from gatekeeper.commands import check",
        "Commands do not import one another (shared code lives in core, a sink, a store or an output)",
    ),
    _planted(
        "server/app.py",
        "from gatekeeper.parsers import _json",
        "A private module (_name) is imported only inside its own package",
    ),
    _planted(
        "store/remote.py",
        "from gatekeeper.sinks import upload",
        "gatekeeper's modules and packages import one another without a cycle",
        culprit=".store -> .sinks",
    ),
]


@pytest.mark.parametrize(
    ("module", "line", "contract", "culprit"), PLANTED, ids=[f"{m}: {line}" for m, line, _, _ in PLANTED]
)
def test_a_planted_violation_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str, culprit: str
) -> None:
    """The contracts bite: a copy of the package with one forbidden import added fails `lint-imports`,
    naming the contract that import breaks (others may break too: outputs import core, so a core module
    that imports requests makes the outputs reach it as well)."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(PACKAGE, tmp_path / "gatekeeper", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    target = tmp_path / "gatekeeper" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # planted\n", encoding="utf-8")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    report = " ".join(result.stdout.split())  # long contract names are wrapped over lines
    assert f"{contract} BROKEN" in report, result.stdout
    assert culprit in report, result.stdout


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _private_owner(target: str, name: str | None, is_package: bool) -> str | None:
    """The package a private module or name belongs to, or None when nothing imported is private."""
    parts = target.split(".")
    for index, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:index])
    if name is not None and name.startswith("_") and not name.startswith("__"):
        return target if is_package else ".".join(parts[:-1])
    return None


def imports(root: Path) -> Iterator[tuple[str, int, str, str, str | None]]:
    """(file, line, importer, module, name or None) for every absolute import in the package at root."""
    for path in sorted(root.rglob("*.py")):
        importer = _module_name(path, root.parent)
        where = str(path.relative_to(root.parent))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    yield where, node.lineno, importer, node.module, alias.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield where, node.lineno, importer, alias.name, None


def private_imports_from_elsewhere(root: Path) -> Iterator[str]:
    """`file:line: importer uses owner's private x` for every private name used outside its package."""
    packages = {_module_name(path, root.parent) for path in root.rglob("__init__.py")}
    for where, line, importer, target, name in imports(root):
        if not target.startswith("gatekeeper"):
            continue
        owner = _private_owner(target, name, target in packages)
        if owner is not None and importer != owner and not importer.startswith(owner + "."):
            what = target if name is None else f"{target}.{name}"
            yield f"{where}:{line}: {importer} uses {what}, private to {owner}"


#: Modules that open connections.  import-linter sees the standard library by its top package only
#: (`urllib`), so it cannot tell urllib.request from urllib.parse; this check can.
NETWORK = ("requests", "urllib.request", "urllib3", "http.client", "socket", "ssl", "httpx")
#: Who may: the sinks, the store server's client side, the server, and core's one fetch (`extends: https://…`).
NETWORK_ALLOWED = (
    "gatekeeper.sinks.",
    "gatekeeper.store.http",
    "gatekeeper.store.remote",
    "gatekeeper.server.",
    "gatekeeper.policy.fetch",
)


def network_imports_elsewhere(root: Path) -> Iterator[str]:
    """`file:line: importer imports client` for every network module imported outside NETWORK_ALLOWED."""
    for where, line, importer, target, name in imports(root):
        modules = {target} if name is None else {target, f"{target}.{name}"}
        touched = {m for m in modules for net in NETWORK if m == net or m.startswith(net + ".")}
        if touched and not importer.startswith(NETWORK_ALLOWED):
            yield f"{where}:{line}: {importer} imports {min(touched)}"


def test_only_sinks_the_store_client_the_server_and_policy_fetch_reach_the_network() -> None:
    assert list(network_imports_elsewhere(PACKAGE)) == []


def test_the_network_check_sees_a_planted_import(tmp_path: Path) -> None:
    root = tmp_path / "gatekeeper"
    (root / "policy").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "policy" / "__init__.py").write_text("")
    (root / "policy" / "fetch.py").write_text("import urllib.request\n")
    (root / "policy" / "load.py").write_text("from urllib.parse import urlsplit\nfrom urllib import request\n")
    (root / "engine.py").write_text("def later() -> None:\n    import http.client\n")
    assert list(network_imports_elsewhere(root)) == [
        "gatekeeper/engine.py:2: gatekeeper.engine imports http.client",
        "gatekeeper/policy/load.py:2: gatekeeper.policy.load imports urllib.request",
    ]


def test_no_module_uses_another_packages_private_names() -> None:
    """The server once imported the SQLite store's `_canonical`, `_metric_rows` and `_utc_text`: what
    both stores share is public, in `gatekeeper.store.codec`."""
    assert list(private_imports_from_elsewhere(PACKAGE)) == []


def test_the_private_name_check_sees_a_planted_use(tmp_path: Path) -> None:
    """The check above is not vacuous: a server module reaching into the store's privates is named."""
    root = tmp_path / "gatekeeper"
    for package in ("", "store", "server"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    (root / "store" / "sqlite.py").write_text("def _utc_text() -> str:\n    return ''\n")
    (root / "store" / "remote.py").write_text("from gatekeeper.store.sqlite import _utc_text\n")
    (root / "server" / "db.py").write_text("import os\nfrom gatekeeper.store.sqlite import _utc_text\n")
    assert list(private_imports_from_elsewhere(root)) == [
        "gatekeeper/server/db.py:2: gatekeeper.server.db uses gatekeeper.store.sqlite._utc_text,"
        " private to gatekeeper.store"
    ]
