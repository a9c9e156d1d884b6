"""Bundled files (schemas/, rules/), the packs' names and where fetched policies are kept: what `extends:`
takes and what messages say."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # gatekeeper/
_SUFFIXES = (".yaml", ".yml")


def resource_path(kind: str, *parts: str) -> Path:
    """A bundled file (schemas/, rules/): beside the package in a checkout, inside it when installed."""
    for base in (_PACKAGE / kind, _PACKAGE.parent / kind):
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    return _PACKAGE.joinpath(kind, *parts)


def bundled_pack(name: str) -> Path | None:
    """`caict-cd/level-3` -> the bundled rules/caict-cd/level-3.yaml, if there is one."""
    relative = name if name.endswith(_SUFFIXES) else f"{name}.yaml"
    parts = relative.split("/")
    if ".." in parts or "\\" in relative:
        return None  # a pack name never leaves rules/ (a fetched policy may extend only packs)
    try:
        candidate = resource_path("rules", *parts)
        return candidate if candidate.is_file() else None
    except OSError:  # a name too long for any file (Python 3.11 raises): no pack has it
        return None


def pack_name(path: Path) -> str | None:
    """The bundled pack a file is (`caict-cd/level-3`), or None: messages name a pack so, never by where
    it is installed (an absolute site-packages path means nothing to the author of a policy)."""
    try:
        relative = path.resolve().relative_to(resource_path("rules").resolve())
    except (ValueError, OSError, RuntimeError):  # not under rules/; a symlink loop (RuntimeError on 3.11)
        return None
    return relative.with_suffix("").as_posix() if relative.suffix in _SUFFIXES else None


CACHE_ENV = "GATEKEEPER_CACHE"


def cache_directory() -> Path:
    """`$GATEKEEPER_CACHE/policies`, else the user's cache directory: where `extends: {url, sha256}` keeps
    what it fetched (gatekeeper.policy.fetch), here so that asking whether a file is one imports no network
    client (every policy that extends another asks)."""
    base = os.environ.get(CACHE_ENV) or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / ("policies" if os.environ.get(CACHE_ENV) else "gatekeeper/policies")
