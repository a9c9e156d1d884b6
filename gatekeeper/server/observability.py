"""What operators see: Prometheus metrics and one JSON log line per request.

Each app has its own registry (not prometheus_client's global one), so two apps in one process — tests —
never clash.  Counters start at zero on restart (Prometheus' `rate()` copes); the latest-values gauge is
refilled from the database, since it is a state, not a count.

Every label value an upload or a request brings is bounded, so no client can grow the exposition:
projects and gate ids past a cap count under OTHER, branches are the operator's few (`--metrics-branch`),
metric names the contract's, HTTP methods the standard ones.  No lock is shared with the scrape: the
event loop alone changes these figures, prometheus_client's own locks guard its counters, and the
scrape copies the gauge's dict in one step, so a scrape never holds up an upload.
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("gatekeeper.server.access")
#: The label value of every project or gate id past its cap.
OTHER = "_other"
#: Projects with labels of their own (`serve --metrics-projects`); the rest count under OTHER.
DEFAULT_MAX_PROJECTS = 500
#: Gate ids with labels of their own; a policy has tens of gates, so the rest are made up.
MAX_GATES = 200
#: The branches whose latest values the gauge shows (`serve --metrics-branch`).
DEFAULT_BRANCHES = ("main", "master")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
#: The thread writing the access lines (`configure_logging`), once there is one.
_writer: logging.handlers.QueueListener | None = None


class CappedLabel:
    """A label's values, the first `limit` distinct ones as given and any later one as OTHER.  Changed by
    the event loop only."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.known: set[str] = set()

    def __call__(self, value: str) -> str:
        if value not in self.known:
            if len(self.known) >= self.limit:
                return OTHER
            self.known.add(value)
        return value


class LatestValues(Collector):
    """The gauge of the latest verdict's metric values per (project, branch), made when Prometheus scrapes
    rather than kept up to date on every upload (which set some twenty gauge children each time)."""

    def __init__(self) -> None:
        # (project, branch) -> (at, values) of the newest verdict seen: older uploads must not win.  The
        # event loop replaces entries; a scrape (in a thread) reads a copy.
        self.shown: dict[tuple[str, str], tuple[str, Mapping[str, float]]] = {}

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "gatekeeper_metric_value",
            "Metric values of the latest verdict per project and branch.",
            labels=["project", "branch", "metric"],
        )
        for (project, branch), (_, values) in sorted(self.shown.copy().items()):
            for name, value in values.items():
                family.add_metric([project, branch, name], value)
        yield family


#: Environments with delivery gauges of their own; the rest count under OTHER.
MAX_ENVIRONMENTS = 20
#: How old the delivery gauges' figures may be before a scrape has them recomputed (in the background);
#: at least ten times as long as computing them took, so the database spends at most a tenth of its time there.
DELIVERY_REFRESH_SECONDS = 60.0
#: How long the first scrape waits for the first figures (a large store's take longer: they come later).
DELIVERY_FIRST_WAIT_SECONDS = 5.0


class DeliveryGauges(Collector):
    """The four keys per project and environment over the last 30 days (issue 19), from the database.

    Computed when scraped, at most every DELIVERY_REFRESH_SECONDS, in a background thread: the first
    scrape waits for them up to DELIVERY_FIRST_WAIT_SECONDS, a later one shows the last figures (none
    until the first are there) while they are recomputed (on PostgreSQL at scale the grouped query
    takes seconds).  Labels are bounded: projects past the cap and environments past MAX_ENVIRONMENTS
    are left out, never summed into a made-up series."""

    def __init__(self, max_projects: int) -> None:
        self.source: Callable[[], Sequence[Any]] | None = None  # -> gatekeeper.server.web.delivery.Figures
        self.project = CappedLabel(max_projects)  # its own: changed under _lock, not by the event loop
        self.environment = CappedLabel(MAX_ENVIRONMENTS)
        self.shown: tuple[Any, ...] = ()
        self.computed_at: float | None = None
        self.took = 0.0  # seconds the last computation took
        self._lock = threading.Lock()
        self._refreshing = False
        self._first = threading.Event()
        self._waited = False  # a scrape has waited for the first figures: later ones do not

    def refresh(self) -> None:
        """Recompute the figures now (the caller's thread)."""
        if self.source is None:
            return
        started = time.monotonic()
        figures = self.source()
        with self._lock:
            kept = []
            for figure in figures:
                if self.project(figure.project) != OTHER and self.environment(figure.environment) != OTHER:
                    kept.append(figure)
            self.shown = tuple(kept)
            self.computed_at = time.monotonic()
            self.took = self.computed_at - started
            self._refreshing = False
        self._first.set()

    def _refresh_in_background(self) -> None:
        def run() -> None:
            try:
                self.refresh()
            except Exception:  # a database hiccup: keep the old figures, try again at the next scrape
                with self._lock:
                    self._refreshing = False
                self._first.set()
                access_log.exception("delivery gauges: refresh failed")

        threading.Thread(target=run, name="delivery-gauges", daemon=True).start()

    def collect(self) -> Iterator[Metric]:
        if self.source is not None:
            refresh = max(DELIVERY_REFRESH_SECONDS, 10 * self.took)
            if self.computed_at is None or time.monotonic() - self.computed_at > refresh:
                with self._lock:
                    start, self._refreshing = not self._refreshing, True
                if start:
                    self._refresh_in_background()
            if self.computed_at is None and not self._waited:
                self._waited = True
                self._first.wait(DELIVERY_FIRST_WAIT_SECONDS)
        labels = ["project", "environment"]
        frequency = GaugeMetricFamily(
            "gatekeeper_delivery_deployments_per_day",
            "Successful deployments per day over the last 30 days (deployment frequency).",
            labels=labels,
        )
        lead = GaugeMetricFamily(
            "gatekeeper_delivery_lead_time_seconds",
            "Lead time for changes over the last 30 days: commit to its first successful deployment.",
            labels=[*labels, "quantile"],
        )
        failure = GaugeMetricFamily(
            "gatekeeper_delivery_change_failure_ratio",
            "Failed deployments and deployments that caused an incident, over deployments, last 30 days.",
            labels=labels,
        )
        restore = GaugeMetricFamily(
            "gatekeeper_delivery_time_to_restore_seconds",
            "Median time to restore over incidents opened in the last 30 days.",
            labels=labels,
        )
        ungated = GaugeMetricFamily(
            "gatekeeper_delivery_deployments_without_passing_gate",
            "Deployments in the last 30 days that no passing gate verdict covers.",
            labels=labels,
        )
        for figure in self.shown:
            pair = [figure.project, figure.environment]
            frequency.add_metric(pair, figure.successful / 30)
            ungated.add_metric(pair, figure.ungated)
            if figure.deployments:
                failure.add_metric(pair, figure.change_failures / figure.deployments)
            if figure.lead_time_median is not None:
                lead.add_metric([*pair, "0.5"], figure.lead_time_median)
                lead.add_metric([*pair, "0.9"], figure.lead_time_p90)
            if figure.restore_median is not None:
                restore.add_metric(pair, figure.restore_median)
        yield from (frequency, lead, failure, restore, ungated)


class ServerMetrics:
    """The figures `/metrics` shows; fed by the upload handler and the request middleware.

    At most `max_projects` projects have labels of their own: the first seen (at start, those the gauge
    is refilled with, in name order; then as uploads come).  The gauge shows only the `branches` named,
    and only the contract's metric names."""

    def __init__(
        self, *, max_projects: int = DEFAULT_MAX_PROJECTS, branches: Collection[str] = DEFAULT_BRANCHES
    ) -> None:
        from gatekeeper.metrics import METRIC_NAMES

        self.project = CappedLabel(max_projects)
        self.gate = CappedLabel(MAX_GATES)
        self.branches = frozenset(branches)
        self.metric_names = frozenset(METRIC_NAMES)
        self.registry = CollectorRegistry()
        self.verdicts = Counter(
            "gatekeeper_verdicts",
            f"Verdicts stored, by project (past the cap: {OTHER}) and status.",
            ["project", "status"],
            registry=self.registry,
        )
        self.gate_failures = Counter(
            "gatekeeper_gate_failures",
            f"Failed gates in stored verdicts, by gate id (past {MAX_GATES} ids: {OTHER}).",
            ["gate"],
            registry=self.registry,
        )
        self.latest_values = LatestValues()
        self.registry.register(self.latest_values)
        self.delivery = DeliveryGauges(max_projects)
        self.registry.register(self.delivery)
        self.request_duration = Histogram(
            "gatekeeper_request_duration_seconds",
            "HTTP request latency.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        # The histogram's child per (route, method, status): `labels()` checks its arguments each call.
        self._durations: dict[tuple[str, str, str], Histogram] = {}

    def set_latest(self, project: str | None, branch: str | None, at: str, metrics: Mapping[str, float]) -> None:
        """Show these values for (project, branch) unless a newer verdict's are already shown: only for a
        branch the gauge shows and a project under the cap, and only the contract's metric names."""
        if branch not in self.branches or self.project(project or "") == OTHER:
            return
        key = (project or "", branch)
        shown = self.latest_values.shown.get(key)
        if shown is None or shown[0] <= at:
            values = {name: value for name, value in metrics.items() if name in self.metric_names}
            self.latest_values.shown[key] = (at, values)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """One request's duration in the latency histogram (any method not a standard one as OTHER)."""
        key = (route, method if method in _METHODS else OTHER, str(status))
        child = self._durations.get(key)
        if child is None:
            child = self._durations[key] = self.request_duration.labels(*key)
        child.observe(seconds)

    def fill(self, rows: Iterable[tuple[str | None, str | None, str, str, float]]) -> None:
        """Load the latest values per (project, branch) from the database, at start."""
        grouped: dict[tuple[str | None, str | None, str], dict[str, float]] = {}
        for project, branch, at, name, value in rows:
            grouped.setdefault((project, branch, at), {})[name] = value
        # In project order, so that past the cap the same projects keep their labels after every restart.
        for (project, branch, at), metrics in sorted(
            grouped.items(), key=lambda item: (item[0][0] or "", item[0][1] or "")
        ):
            self.set_latest(project, branch, at, metrics)

    def stored(self, verdict: Mapping[str, Any], at: str) -> None:
        """Count a newly stored verdict (not a repeated upload of one); `at` orders the latest values."""
        context = verdict.get("context") or {}
        self.verdicts.labels(self.project(context.get("project") or ""), verdict.get("status", "")).inc()
        for gate in verdict.get("gates") or []:
            if isinstance(gate, Mapping) and gate.get("status") == "fail":
                self.gate_failures.labels(self.gate(str(gate.get("id", "")))).inc()
        metrics = verdict.get("metrics") or {}
        numbers = {
            str(name): float(value)
            for name, value in metrics.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }
        self.set_latest(context.get("project"), context.get("branch"), at, numbers)


def configure_logging() -> None:
    """Access lines go to stderr as bare JSON (the formatting is done by `RequestObserver`).

    The event loop only queues a line; a thread of its own writes it.  A write to stderr lets go of
    the GIL, and getting it back from the threads running database calls stalled the event loop for
    every request under load.  `drain_logs` writes out what is queued (at shutdown)."""
    global _writer
    if access_log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _writer = logging.handlers.QueueListener(lines, handler)
    _writer.start()
    atexit.register(_writer.stop)
    access_log.addHandler(logging.handlers.QueueHandler(lines))
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


def drain_logs() -> None:
    """Write out every access line queued so far.  Called when the app stops: uvicorn ends a process it
    stopped by a signal by raising that signal again, so `atexit` hooks may never run."""
    if _writer is not None:
        _writer.stop()  # writes what is queued, then ends the thread
        _writer.start()  # and a new one for any line still to come


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
            self.metrics.observe(route, scope["method"], status, elapsed)
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
