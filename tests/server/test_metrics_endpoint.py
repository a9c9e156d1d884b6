"""`/metrics`: a read token, labels no uploader can multiply, and a scrape that never holds up an upload."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.client.loopback import free_port
from tests.server.conftest import GATEKEEPER, Server, make_tokens, start_server

pytest.importorskip("fastapi", reason="the store server needs gatekeeper[server]")

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from gatekeeper.metrics import METRIC_NAMES
from gatekeeper.server.observability import MAX_GATES, OTHER


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def _label_values(samples: list[tuple[str, dict[str, str], float]], name: str, label: str) -> set[str]:
    return {labels[label] for sample_name, labels, _ in samples if sample_name == name}


def test_metrics_need_a_read_token(sqlite_server: Server) -> None:
    url = f"{sqlite_server.url}/metrics"
    missing = requests.get(url, timeout=30)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert "gatekeeper_" not in missing.text
    for token, status in (("gk_000000000000_wrong", 401), ("expired", 401), ("bank", 403), ("read", 200)):
        assert sqlite_server.get("/metrics", token=token).status_code == status, token
    assert "gatekeeper_verdicts_total" in sqlite_server.get("/metrics", token="admin").text


def test_public_metrics_only_on_loopback(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    refused = subprocess.run(
        [GATEKEEPER, "serve", "--db", db_url, "--host", "0.0.0.0", "--port", str(free_port()), "--metrics-public"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("gatekeeper: error: --metrics-public needs a loopback --host")
    server = start_server(db_url, tmp_path, "--metrics-public")
    try:
        assert requests.get(f"{server.url}/metrics", timeout=30).status_code == 200
    finally:
        server.stop()


def test_labels_stay_bounded_whatever_uploads_bring(tmp_path: Path, make_verdict: Any) -> None:
    """200 verdicts on 200 branches of 20 projects, with 2,000 made-up failed gate ids and metric names,
    and requests with 30 made-up HTTP methods: every label keeps a small set of values, and no count is
    lost to the caps (the capped values add up under OTHER)."""
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    server = start_server(db_url, tmp_path, "--metrics-projects", "5")
    server.tokens = make_tokens(db_url)
    try:
        expected_failures = 0
        for n in range(200):
            letters = "".join(chr(ord("a") + int(digit)) for digit in str(n))
            verdict = make_verdict(
                "failing", project=f"flood/p{n % 20}", branch="main" if n % 10 == 0 else f"feature/b{n}"
            )
            template = next(gate for gate in verdict["gates"] if gate["status"] == "fail")
            verdict["gates"] += [template | {"id": f"made-up-{n}-{k}"} for k in range(10)]
            verdict["metrics"][f"made.up_{letters}"] = 1.0
            expected_failures += sum(gate["status"] == "fail" for gate in verdict["gates"])
            assert server.put(verdict).status_code == 201
        for n in range(30):
            requests.request(f"MADEUP{n:02d}", f"{server.url}/healthz", timeout=30)
        text = server.get("/metrics").text
    finally:
        server.stop()

    samples = _samples(text)
    gates = _label_values(samples, "gatekeeper_gate_failures_total", "gate")
    assert OTHER in gates and len(gates) <= MAX_GATES + 1
    failures = [value for name, _, value in samples if name == "gatekeeper_gate_failures_total"]
    assert sum(failures) == expected_failures
    projects = _label_values(samples, "gatekeeper_verdicts_total", "project")
    assert OTHER in projects and len(projects) == 6
    assert sum(value for name, _, value in samples if name == "gatekeeper_verdicts_total") == 200
    assert _label_values(samples, "gatekeeper_metric_value", "branch") == {"main"}
    assert _label_values(samples, "gatekeeper_metric_value", "project") <= projects - {OTHER}
    assert _label_values(samples, "gatekeeper_metric_value", "metric") <= set(METRIC_NAMES)
    methods = _label_values(samples, "gatekeeper_request_duration_seconds_count", "method")
    assert methods <= {"GET", "PUT", OTHER}
    assert len(samples) < 2_000 and len(text) < 300_000


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    """The app under uvicorn in a thread of this process, so a test can reach into its registry."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)


def test_a_scrape_in_progress_holds_up_no_upload(tmp_path: Path, make_verdict: Any) -> None:
    """A collector that does not return until told holds a scrape inside `generate_latest`; meanwhile an
    upload and /healthz are answered.  Before, the upload took a lock the scrape held, in the event
    loop, so the whole server waited for the scrape (the 10 s timeouts bound a hang; no time is asserted)."""
    from gatekeeper.server.app import create_app
    from gatekeeper.server.db import open_database

    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    tokens = make_tokens(db_url)
    app = create_app(open_database(db_url))
    entered, release = threading.Event(), threading.Event()

    class HeldScrape(Collector):
        def collect(self) -> Iterator[Any]:
            entered.set()
            release.wait(60)
            return iter(())

    app.state.metrics.registry.register(HeldScrape())
    verdict = make_verdict(project="bank/held", branch="main")
    with _serving(app) as url, ThreadPoolExecutor(1) as pool:
        scrape = pool.submit(
            requests.get, f"{url}/metrics", headers={"Authorization": f"Bearer {tokens['read']}"}, timeout=60
        )
        try:
            assert entered.wait(30), "the scrape never reached the collectors"
            put = requests.put(
                f"{url}/api/v1/verdicts/{verdict['id']}",
                json=verdict,
                headers={"Authorization": f"Bearer {tokens['admin']}"},
                timeout=10,
            )
            assert put.status_code == 201
            assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
            assert not scrape.done()  # the upload was answered while the scrape was held
        finally:
            release.set()
        assert scrape.result().status_code == 200
        again = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {tokens['read']}"}, timeout=30)
        assert 'gatekeeper_verdicts_total{project="bank/held",status="pass"} 1.0' in again.text
