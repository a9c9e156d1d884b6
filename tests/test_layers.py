"""The package's layering is a checked contract, not a convention (STYLE.md, 12; issue 14, item 5).

import-linter checks which module may import which (the contracts in pyproject.toml); this module
runs it, shows on a planted violation that the contracts really bite, and adds what import-linter
cannot see: a private name (`_helper`, `_module`) is used only inside the package that holds it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "gatekeeper"


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


def private_imports_from_elsewhere(root: Path) -> Iterator[str]:
    """`file:line: importer uses owner's private x` for every private name used outside its package."""
    packages = {_module_name(path, root.parent) for path in root.rglob("__init__.py")}
    for path in sorted(root.rglob("*.py")):
        importer = _module_name(path, root.parent)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                uses = [(node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                uses = [(alias.name, None) for alias in node.names]
            else:
                continue
            for target, name in uses:
                if not target.startswith("gatekeeper"):
                    continue
                owner = _private_owner(target, name, target in packages)
                if owner is not None and importer != owner and not importer.startswith(owner + "."):
                    what = target if name is None else f"{target}.{name}"
                    yield f"{path.relative_to(root.parent)}:{node.lineno}: {importer} uses {what}, private to {owner}"


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
