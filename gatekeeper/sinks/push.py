"""The Prometheus Pushgateway sink, for teams that have Prometheus/Grafana but no gatekeeper store server.

`PUT {URL}/metrics/job/gatekeeper/project/{project}/branch/{branch}` with the verdict's figures in the
Prometheus text format.  PUT (not POST) replaces the whole group, so a metric absent from this verdict
does not linger from an older one.  A failed push is reported and never spooled: the Pushgateway keeps
only the latest value per group, and a late push of an old verdict would overwrite a newer one.
"""

from __future__ import annotations

import base64
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from gatekeeper.errors import UsageError, one_line
from gatekeeper.model import Decision, GateStatus
from gatekeeper.policy.model import assert_never
from gatekeeper.sinks.upload import backoff
from gatekeeper.store.http import error_reason, new_session

PUSHGATEWAY_ENV = "GATEKEEPER_PUSHGATEWAY"
JOB = "gatekeeper"
PREFIX = "gatekeeper_"
_INVALID = re.compile(r"[^a-zA-Z0-9_]")

if TYPE_CHECKING:
    from gatekeeper.verdict import Verdict


@dataclass(frozen=True, slots=True)
class PushResult:
    ok: bool
    status_code: int | None
    attempts: int
    detail: str


def metric_name(key: str) -> str:
    """`coverage.lines.percent` -> `gatekeeper_coverage_lines_percent` (anything not [a-zA-Z0-9_] -> `_`)."""
    return PREFIX + _INVALID.sub("_", key)


def group_path(project: str | None, branch: str | None) -> str:
    """The grouping key in the URL; values with `/` (GitLab groups, feature/x) use `label@base64/...`."""
    parts = [f"job/{JOB}"]
    for label, value in (("project", project), ("branch", branch)):
        text = value or ""
        if "/" in text or not text:
            encoded = base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii") or "="
            parts.append(f"{label}@base64/{encoded}")
        else:
            parts.append(f"{label}/{quote(text, safe='')}")
    return "/".join(parts)


def render(verdict: Verdict) -> str:
    """The verdict's figures in the Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []

    def gauge(name: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        if not samples:
            return
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in samples:
            rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{rendered}}} {_number(value)}" if rendered else f"{name} {_number(value)}")

    for key, value in sorted(verdict.metrics.items()):  # a metric the run could not compute is absent: no zero
        gauge(metric_name(key), f"gatekeeper metric {key}", [({}, value)])
    gauge(
        PREFIX + "verdict_status",
        "1 for the verdict's status (pass, warn, fail, error), 0 for the others",
        [({"status": decision.value}, 1 if decision is verdict.status else 0) for decision in Decision],
    )
    maturity = verdict.maturity
    model = {"model": maturity.model or ""}
    if maturity.level_achieved is not None:
        gauge(
            PREFIX + "maturity_level_achieved",
            "highest maturity level whose gates hold",
            [(model, maturity.level_achieved)],
        )
    if maturity.level is not None:
        gauge(PREFIX + "maturity_level_target", "maturity level the policy aims at", [(model, maturity.level)])
    gauge(
        PREFIX + "gate_failed",
        "1 if the gate failed or warned, 0 if it held or was skipped",
        [
            ({"gate": gate.id, "severity": gate.severity.value}, 1 if _failed(gate.status) else 0)
            for gate in verdict.gates
        ],
    )
    created = _epoch(verdict.created_at)
    if created is not None:
        gauge(PREFIX + "verdict_timestamp_seconds", "when the verdict was made (Unix time)", [({}, created)])
    context = verdict.context
    info = {
        "id": verdict.id,
        "commit": context.commit or "",
        "pipeline": context.pipeline or "",
        "policy": verdict.policy.name or "",
    }
    gauge(PREFIX + "verdict_info", "the verdict this group was pushed from (always 1)", [(info, 1)])
    return "\n".join(lines) + "\n"


def _failed(status: GateStatus) -> bool:
    """A gate that failed or warned counts 1 on the dashboard; one that held or was skipped 0."""
    if status is GateStatus.FAIL or status is GateStatus.WARN:
        return True
    if status is GateStatus.PASS or status is GateStatus.SKIP:
        return False
    assert_never(status)


def push(
    verdict: Verdict,
    url: str,
    *,
    attempts: int = 3,
    timeout: float = 30.0,
    request_timeout: float = 10.0,
) -> PushResult:
    """PUT the verdict's group to the Pushgateway; retries network trouble and 5xx, never raises for them."""
    import requests

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"Pushgateway URL must be http(s)://HOST[:PORT][/PATH]: {url!r}")
    target = f"{url.rstrip('/')}/metrics/{group_path(verdict.context.project, verdict.context.branch)}"
    body = render(verdict).encode("utf-8")
    headers = {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    deadline = time.monotonic() + timeout
    status: int | None = None
    detail = "not attempted"
    tried = 0
    with new_session(url) as session:
        for attempt in range(max(1, attempts)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            tried += 1
            try:
                response = session.put(target, data=body, headers=headers, timeout=min(request_timeout, remaining))
            except (requests.ConnectionError, requests.Timeout) as error:
                status, detail = None, error_reason(error)
            except requests.RequestException as error:
                return PushResult(False, None, tried, error_reason(error))
            else:
                status = response.status_code
                detail = one_line(response.text)[:300] or response.reason or f"HTTP {status}"
                if 200 <= status < 300:
                    return PushResult(True, status, tried, "pushed")
                if status < 500 and status not in (408, 429):
                    return PushResult(False, status, tried, detail)
            pause = backoff(attempt)
            if attempt + 1 >= attempts or time.monotonic() + pause >= deadline:
                break
            time.sleep(pause)
    return PushResult(False, status, tried, detail)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    return repr(value) if isinstance(value, float) else str(value)


def _epoch(value: str) -> float | None:
    """The verdict's `created_at` as Unix time; None if another writer's text is no ISO time."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
