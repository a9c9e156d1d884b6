"""What operators see: Prometheus metrics and one JSON log line per request.

Each app has its own registry (not prometheus_client's global one), so two apps in one process — tests —
never clash.  Counters start at zero on restart (Prometheus' `rate()` copes); the latest-values gauge is
refilled from the database, since it is a state, not a count.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("gatekeeper.server.access")


class ServerMetrics:
    """The figures `/metrics` shows; fed by the upload handler and the request middleware."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.verdicts = Counter(
            "gatekeeper_verdicts", "Verdicts stored, by project and status.", ["project", "status"],
            registry=self.registry,
        )
        self.gate_failures = Counter(
            "gatekeeper_gate_failures", "Failed gates in stored verdicts, by gate id.", ["gate"],
            registry=self.registry,
        )
        self.metric_value = Gauge(
            "gatekeeper_metric_value", "Metric values of the latest verdict per project and branch.",
            ["project", "branch", "metric"], registry=self.registry,
        )
        self.request_duration = Histogram(
            "gatekeeper_request_duration_seconds", "HTTP request latency.", ["route", "method", "status"],
            registry=self.registry,
        )
        # created_at of the verdict the gauge shows, per (project, branch): older uploads must not win.
        self._shown: dict[tuple[str, str], str] = {}

    def set_latest(
        self, project: str | None, branch: str | None, created_at: str, metrics: Mapping[str, float]
    ) -> None:
        """Show these values for (project, branch) unless a newer verdict's are already shown."""
        key = (project or "", branch or "")
        if self._shown.get(key, "") > created_at:
            return
        self._shown[key] = created_at
        for name, value in metrics.items():
            self.metric_value.labels(key[0], key[1], name).set(value)

    def fill(self, rows: Iterable[tuple[str | None, str | None, str, str, float]]) -> None:
        """Load the latest values per (project, branch) from the database, at start."""
        grouped: dict[tuple[str | None, str | None, str], dict[str, float]] = {}
        for project, branch, created_at, name, value in rows:
            grouped.setdefault((project, branch, created_at), {})[name] = value
        for (project, branch, created_at), metrics in grouped.items():
            self.set_latest(project, branch, created_at, metrics)

    def stored(self, verdict: Mapping[str, Any], created_at: str) -> None:
        """Count a newly stored verdict (not a repeated upload of one)."""
        context = verdict.get("context") or {}
        self.verdicts.labels(context.get("project") or "", verdict.get("status", "")).inc()
        for gate in verdict.get("gates") or []:
            if isinstance(gate, Mapping) and gate.get("status") == "fail":
                self.gate_failures.labels(str(gate.get("id", ""))).inc()
        metrics = verdict.get("metrics") or {}
        numbers = {
            str(name): float(value)
            for name, value in metrics.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }
        self.set_latest(context.get("project"), context.get("branch"), created_at, numbers)


def configure_logging() -> None:
    """Access lines go to stderr as bare JSON (the formatting is done by `RequestObserver`)."""
    if access_log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


class RequestObserver:
    """ASGI middleware: times every request, records it in the histogram by route template (not the raw
    path, which would make one series per verdict id), and logs it as one JSON line."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.request_duration.labels(route, scope["method"], str(status)).observe(elapsed)
            state = scope.get("state") or {}
            access_log.info(
                json.dumps(
                    {
                        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                        "token_id": state.get("token_id"),
                        "client": (scope.get("client") or [None])[0],
                    },
                    ensure_ascii=False,
                )
            )
