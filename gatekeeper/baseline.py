"""Baselines for ratchets: a verdict file given with --baseline, or the project's last verdict in the store.

"Coverage must not fall" needs something to compare with; the reference is the latest decided verdict
(not an `error` one) of the same project on the policy's reference branch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gatekeeper.engine import Baseline
from gatekeeper.errors import InputError
from gatekeeper.known import KeySet, case_key, finding_key

_LOOKBACK = 20  # recent verdicts searched for one that decided (error verdicts have no metrics)


def from_file(path: str | Path) -> Baseline:
    """A verdict JSON file (e.g. archived from the main branch's last build)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no such baseline verdict file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(path, f"not a verdict JSON file: {error}") from None
    return _from_verdict(document, source=str(path), where=path)


def from_store(store_path: str | Path, project: str | None, branch: str) -> Baseline | None:
    """The latest decided verdict of `project` on `branch` in the embedded store, if there is one."""
    from gatekeeper.store.sqlite import SqliteStore

    if project is None or not Path(store_path).exists():
        return None
    with SqliteStore(store_path, create=False) as store:
        for summary in store.list(project=project, branch=branch, limit=_LOOKBACK):
            if summary.status != "error":
                return _from_verdict(store.get(summary.id), source="store", where=store_path)
    return None


def _from_verdict(document: Any, *, source: str, where: str | Path) -> Baseline:
    if not isinstance(document, dict) or not isinstance(document.get("metrics"), dict) or "id" not in document:
        raise InputError(where, "not a gatekeeper verdict (no id and metrics)")
    context = document["context"] if isinstance(document.get("context"), dict) else {}
    metrics = {
        name: float(value)
        for name, value in document["metrics"].items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    return Baseline(
        verdict_id=str(document["id"]),
        source=source,
        branch=context.get("branch"),
        created_at=document.get("created_at"),
        metrics=metrics,
        findings=_known(document, "findings"),
        failed_tests=_known(document, "failed_tests"),
    )


def _known(document: dict[str, Any], kind: str) -> KeySet | None:
    """The keys of the verdict's findings (or failing tests): as it recorded them (`baseline_keys`), or, in
    a verdict from before it did, from its details where they list every one; None when it cannot tell."""
    recorded = document.get("baseline_keys")
    if isinstance(recorded, dict) and isinstance(recorded.get(kind), dict):
        entry = recorded[kind]
        count, width, digests = entry.get("count"), entry.get("bytes"), entry.get("digests")
        if isinstance(count, int) and isinstance(width, int) and (digests is None or isinstance(digests, str)):
            return KeySet.decoded(count, width, digests)
        return None
    details = document.get("details")
    if not isinstance(details, dict):
        return None
    if kind == "findings":
        if "findings.total" not in document["metrics"] or details.get("findings_omitted"):
            return None
        if details.get("suppressed_omitted"):
            return None
        listed = [*details.get("findings", ()), *details.get("suppressed", ())]
        return KeySet.of(finding_key(f["tool"], f["rule"], f.get("fingerprint", "")) for f in listed)
    if "tests.total" not in document["metrics"] or details.get("tests_omitted"):
        return None
    failing = [t for t in details.get("tests", ()) if t["outcome"] in ("failed", "error")]
    return KeySet.of(case_key(t.get("classname", ""), t.get("suite", ""), t["name"]) for t in failing)
