"""Verdict documents for the store tests, importable (without pytest) by their worker processes too."""

from __future__ import annotations

from typing import Any


def make_verdict(
    verdict_id: str,
    *,
    status: str = "pass",
    created_at: str = "2026-11-25T14:03:00.123456Z",
    project: str | None = "group/app",
    branch: str | None = "main",
    commit: str | None = "0123456789abcdef0123456789abcdef01234567",
    level_achieved: int | None = 3,
) -> dict[str, Any]:
    """A verdict shaped like the ones `gatekeeper check` builds (fields beyond the minimum included)."""
    return {
        "schema": "gatekeeper.verdict/v1",
        "id": verdict_id,
        "status": status,
        "reason": "all blocking gates held",
        "created_at": created_at,
        "tool": {"name": "gatekeeper", "version": "0.1.0"},
        "policy": {"name": "caict-cd-level-3", "digest": "sha256:" + "ab" * 32, "path": "gate.yaml"},
        "maturity": {"model": "caict-devops-cd", "level": 3, "level_achieved": level_achieved, "levels": []},
        "context": {
            "ci": "gitlab",
            "project": project,
            "branch": branch,
            "commit": commit,
            "pipeline": "4711",
            "job": "quality-gate",
            "url": None,
        },
        "metrics": {"tests.total": 120, "tests.passed": 120, "tests.pass_percent": 100.0},
        "gates": [
            {
                "id": "tests-all-pass",
                "criterion": "all automated tests pass",
                "metric": "tests.pass_percent",
                "operator": ">=",
                "threshold": 100,
                "actual": 100.0,
                "status": "pass",
                "severity": "block",
                "message": "100% of 120 tests that ran passed",
            }
        ],
        "inputs": [],
        "waivers": {"applied": [], "expired": []},
        "duration_ms": 42,
    }
