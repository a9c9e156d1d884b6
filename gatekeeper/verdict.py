"""The verdict: one JSON document per run, the contract every output, store and page reads.

Validated by schemas/verdict.schema.json.  Apart from `id`, `created_at` and `duration_ms`, the same
inputs give the same verdict, byte for byte.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from gatekeeper import __version__
from gatekeeper.context import Context
from gatekeeper.engine import Baseline, Decision, Maturity, Outcome
from gatekeeper.model import Finding, ReportInput, Severity, TestCase
from gatekeeper.policy import Policy, Waiver
from gatekeeper.waivers import WaiverUse

SCHEMA = "gatekeeper.verdict/v1"
DETAIL_LIMIT = 100  # failed tests and findings listed in full; the rest are counted
_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(Severity)}

Verdict = dict[str, Any]


def new_id() -> str:
    return str(uuid.uuid4())


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build(
    *,
    outcome: Outcome,
    policy: Policy,
    context: Context,
    inputs: Sequence[ReportInput],
    duration_ms: int,
    verdict_id: str | None = None,
    created_at: str | None = None,
) -> Verdict:
    """The verdict document of a decided run."""
    from gatekeeper.commands.metrics import input_counts

    findings = sorted(outcome.waivers.kept, key=lambda f: (_SEVERITY_ORDER[f.severity], f.path, f.line or 0))
    failed_tests = [case for report in inputs if report.evidence.tests for case in report.evidence.tests.notable]
    return {
        "schema": SCHEMA,
        "id": verdict_id or new_id(),
        "status": outcome.status.value,
        "reason": outcome.reason,
        "created_at": created_at or now_utc(),
        "tool": {"name": "gatekeeper", "version": __version__},
        "policy": _policy(policy),
        "maturity": _maturity(outcome.maturity),
        "baseline": _baseline(outcome.baseline),
        "context": context.as_dict(),
        "metrics": dict(outcome.metrics),
        "gates": [
            {
                "id": gate.id,
                "criterion": gate.criterion,
                "metric": gate.metric,
                "operator": gate.operator,
                "threshold": gate.threshold,
                "actual": gate.actual,
                "status": gate.status.value,
                "severity": gate.severity.value,
                "message": gate.message,
                **({"baseline": gate.baseline} if gate.baseline is not None else {}),
            }
            for gate in outcome.gates
        ],
        "inputs": [_input(report, input_counts(report)) for report in inputs],
        "waivers": {
            "applied": [_waiver_use(use) for use in outcome.waivers.applied],
            "expired": [_waiver_use(use) for use in outcome.waivers.expired],
        },
        "details": {
            "tests": [_test_case(case) for case in failed_tests[:DETAIL_LIMIT]],
            "tests_omitted": max(len(failed_tests) - DETAIL_LIMIT, 0),
            "findings": [_finding(finding) for finding in findings[:DETAIL_LIMIT]],
            "findings_omitted": max(len(findings) - DETAIL_LIMIT, 0),
        },
        "duration_ms": duration_ms,
    }


def build_error(
    *,
    problem: str,
    policy: Policy | None,
    context: Context,
    inputs: Sequence[ReportInput],
    duration_ms: int,
    verdict_id: str | None = None,
    created_at: str | None = None,
) -> Verdict:
    """The verdict of a run that could not decide (bad or missing input).

    It is recorded all the same, so that nobody reads silence as a pass.
    """
    from gatekeeper.commands.metrics import input_counts

    return {
        "schema": SCHEMA,
        "id": verdict_id or new_id(),
        "status": Decision.ERROR.value,
        "reason": problem,
        "created_at": created_at or now_utc(),
        "tool": {"name": "gatekeeper", "version": __version__},
        "policy": _policy(policy) if policy else {"name": None, "digest": None, "path": None, "files": []},
        "maturity": {
            "model": policy.model if policy else None,
            "level": policy.level if policy else None,
            "level_achieved": None,
            "levels": [],
        },
        "baseline": None,
        "context": context.as_dict(),
        "metrics": {},
        "gates": [],
        "inputs": [_input(report, input_counts(report)) for report in inputs],
        "waivers": {"applied": [], "expired": []},
        "details": {"tests": [], "tests_omitted": 0, "findings": [], "findings_omitted": 0},
        "duration_ms": duration_ms,
    }


def _maturity(maturity: Maturity) -> dict[str, Any]:
    return {
        "model": maturity.model,
        "level": maturity.level,
        "level_achieved": maturity.level_achieved,
        "levels": [
            {"level": r.level, "status": r.status.value, "blocking_gates": list(r.blocking_gates)}
            for r in maturity.levels
        ],
    }


def _baseline(baseline: Baseline | None) -> dict[str, Any] | None:
    if baseline is None:
        return None
    return {
        "id": baseline.verdict_id,
        "source": baseline.source,
        "branch": baseline.branch,
        "created_at": baseline.created_at,
    }


def _policy(policy: Policy) -> dict[str, Any]:
    return {"name": policy.name, "digest": policy.digest, "path": policy.path, "files": list(policy.chain)}


def _input(report: ReportInput, counts: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": report.path,
        "format": report.format,
        "sha256": report.sha256,
        "counts": counts,
        "notes": list(report.evidence.notes),
    }


def _waiver(waiver: Waiver) -> dict[str, Any]:
    return {
        "match": waiver.match(),
        "reason": waiver.reason,
        "owner": waiver.owner or None,
        "expires": waiver.expires.isoformat() if waiver.expires else None,
        "source": waiver.source,
    }


def _waiver_use(use: WaiverUse) -> dict[str, Any]:
    return {**_waiver(use.waiver), "findings": use.findings}


def _test_case(case: TestCase) -> dict[str, Any]:
    return {
        "suite": case.suite,
        "classname": case.classname,
        "name": case.name,
        "outcome": case.outcome.value,
        "flaky": case.flaky,
        "duration_seconds": case.duration_seconds,
        "message": case.message,
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "tool": finding.tool,
        "rule": finding.rule,
        "severity": finding.severity.value,
        "path": finding.path,
        "line": finding.line,
        "message": finding.message[:500],
        "fingerprint": finding.fingerprint,
    }


def dumps(verdict: Verdict) -> str:
    """The verdict as pretty JSON (stable key order as built)."""
    return json.dumps(verdict, indent=2, ensure_ascii=False) + "\n"
