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
from typing import Any
from urllib.parse import quote, urlsplit

from gatekeeper.errors import UsageError, one_line
from gatekeeper.model import Decision
from gatekeeper.sinks.upload import backoff
from gatekeeper.store.http import error_reason, new_session

PUSHGATEWAY_ENV = "GATEKEEPER_PUSHGATEWAY"
JOB = "gatekeeper"
PREFIX = "gatekeeper_"
STATUSES = tuple(decision.value for decision in Decision)
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


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


def render(verdict: dict[str, Any]) -> str:
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

    for key, value in sorted((verdict.get("metrics") or {}).items()):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # absent stays absent; never invent a zero
        gauge(metric_name(key), f"gatekeeper metric {key}", [({}, value)])
    status = verdict.get("status")
    gauge(
        PREFIX + "verdict_status",
        "1 for the verdict's status (pass, warn, fail, error), 0 for the others",
        [({"status": s}, 1 if s == status else 0) for s in STATUSES],
    )
    maturity = verdict.get("maturity") or {}
    if isinstance(maturity.get("level_achieved"), int):
        gauge(
            PREFIX + "maturity_level_achieved",
            "highest maturity level whose gates hold",
            [({"model": str(maturity.get("model") or "")}, maturity["level_achieved"])],
        )
    if isinstance(maturity.get("level"), int):
        gauge(
            PREFIX + "maturity_level_target",
            "maturity level the policy aims at",
            [({"model": str(maturity.get("model") or "")}, maturity["level"])],
        )
    gates = [g for g in verdict.get("gates") or [] if isinstance(g, dict) and g.get("id")]
    gauge(
        PREFIX + "gate_failed",
        "1 if the gate failed or warned, 0 if it held or was skipped",
        [
            (
                {"gate": str(g["id"]), "severity": str(g.get("severity") or "")},
                1 if g.get("status") in ("fail", "warn") else 0,
            )
            for g in gates
        ],
    )
    created = _epoch(verdict.get("created_at"))
    if created is not None:
        gauge(PREFIX + "verdict_timestamp_seconds", "when the verdict was made (Unix time)", [({}, created)])
    context = verdict.get("context") or {}
    gauge(
        PREFIX + "verdict_info",
        "the verdict this group was pushed from (always 1)",
        [
            (
                {
                    "id": str(verdict.get("id") or ""),
                    "commit": str(context.get("commit") or ""),
                    "pipeline": str(context.get("pipeline") or ""),
                    "policy": str((verdict.get("policy") or {}).get("name") or ""),
                },
                1,
            )
        ],
    )
    return "\n".join(lines) + "\n"


def push(
    verdict: dict[str, Any],
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
    context = verdict.get("context") or {}
    target = f"{url.rstrip('/')}/metrics/{group_path(context.get('project'), context.get('branch'))}"
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


def _epoch(value: Any) -> float | None:
    from datetime import datetime

    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
