"""`gatekeeper check --push` against the real `prometheus-pushgateway` (Debian's package), scraped back."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from gatekeeper.sinks.push import group_path, metric_name, render
from gatekeeper.verdict import MaturityRecord, Verdict, parse
from tests.client.loopback import free_port
from tests.client.test_check_upload import FAILING_JUNIT
from tests.client.test_spool import run
from tests.outputs.cases import CASES

BINARY = shutil.which("prometheus-pushgateway")
POLICY = """policy: push-test
gates:
  - id: tests-all-pass
    metric: tests.pass_percent
    min: 100
  - id: enough-tests
    metric: tests.total
    min: 1
    severity: warn
"""


@pytest.fixture
def pushgateway() -> Iterator[str]:
    if BINARY is None:
        pytest.skip(
            "prometheus-pushgateway is not installed "
            "(apt-get install -y --no-install-recommends prometheus-pushgateway; .ci/run does)"
        )
    port = free_port()
    process = subprocess.Popen(
        [BINARY, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.trust_env = False
    try:
        for _ in range(200):
            try:
                if session.get(f"{url}/-/ready", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("prometheus-pushgateway did not become ready")
        yield url
    finally:
        process.terminate()
        process.wait(10)
        session.close()


Sample = tuple[str, frozenset[tuple[str, str]]]
SAMPLE = re.compile(r"^(gatekeeper_\w+)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def verdict(number: int, metrics: dict[str, float], maturity: MaturityRecord | None = None) -> Verdict:
    """A real verdict (the passing case) of project group/app on main, with these metrics (and maturity)."""
    case = parse(CASES["passing"](), "passing case")
    return replace(
        case,
        id=f"00000000-0000-4000-8000-{number:012d}",
        context=replace(case.context, project="group/app", branch="main"),
        metrics=metrics,
        maturity=maturity or case.maturity,
    )


def scrape(url: str) -> dict[Sample, float]:
    """gatekeeper_* samples of the Pushgateway's /metrics: (name, labels) -> value."""
    session = requests.Session()
    session.trust_env = False
    with session:
        text = session.get(f"{url}/metrics", timeout=5).text
    samples: dict[Sample, float] = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            labels = frozenset((k, v) for k, v in LABEL.findall(match.group(2) or "") if k != "instance")
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def key(name: str, **labels: str) -> Sample:
    return name, frozenset(labels.items())


def test_check_push_is_scraped_back_with_values_and_grouping_labels(tmp_path: Path, pushgateway: str) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "fail.xml").write_text(FAILING_JUNIT)
    result = run(
        "check",
        "-p",
        "policy.yaml",
        "fail.xml",
        "--no-store",
        "--format",
        "json",
        "--project",
        "group/sub/app",
        "--branch",
        "feature/login",
        "--push",
        pushgateway,
        "--require-upload",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr  # the gate's own code: the push worked
    produced = json.loads(result.stdout)
    samples = scrape(pushgateway)
    group = {"job": "gatekeeper", "project": "group/sub/app", "branch": "feature/login"}
    assert samples[key("gatekeeper_tests_total", **group)] == 2
    assert samples[key("gatekeeper_tests_failed", **group)] == 1
    assert samples[key("gatekeeper_tests_pass_percent", **group)] == 50
    assert samples[key("gatekeeper_verdict_status", **group, status="fail")] == 1
    assert samples[key("gatekeeper_verdict_status", **group, status="pass")] == 0
    assert samples[key("gatekeeper_gate_failed", **group, gate="tests-all-pass", severity="block")] == 1
    assert samples[key("gatekeeper_gate_failed", **group, gate="enough-tests", severity="warn")] == 0
    info = [labels for (name, labels) in samples if name == "gatekeeper_verdict_info"]
    assert len(info) == 1 and ("id", produced["id"]) in info[0]


def test_a_second_push_replaces_the_group(pushgateway: str) -> None:
    from gatekeeper.sinks.push import push

    first = verdict(
        1,
        metrics={"tests.total": 5, "coverage.lines.percent": 80.5},
        maturity=MaturityRecord(model="m", level=3, level_achieved=2),
    )
    assert push(first, pushgateway).ok
    samples = scrape(pushgateway)
    group = {"job": "gatekeeper", "project": "group/app", "branch": "main"}
    assert samples[key("gatekeeper_coverage_lines_percent", **group)] == 80.5
    assert samples[key("gatekeeper_maturity_level_achieved", **group, model="m")] == 2
    assert push(verdict(2, metrics={"tests.total": 7}), pushgateway).ok
    samples = scrape(pushgateway)
    assert samples[key("gatekeeper_tests_total", **group)] == 7
    assert not any(name == "gatekeeper_coverage_lines_percent" for name, _ in samples)  # PUT replaced the group


def test_names_and_grouping_paths() -> None:
    assert metric_name("coverage.lines.percent") == "gatekeeper_coverage_lines_percent"
    assert metric_name("weird-name.x") == "gatekeeper_weird_name_x"
    assert group_path("app", "main") == "job/gatekeeper/project/app/branch/main"
    assert group_path("g/app", None) == "job/gatekeeper/project@base64/Zy9hcHA=/branch@base64/="
    text = render(verdict(3, metrics={"tests.total": 3}))
    assert "gatekeeper_tests_total 3" in text
    # absent stays absent: a metric the run did not compute, a level none achieved (the case's is None)
    assert "pass_percent" not in text and "maturity_level_achieved" not in text
    assert 'gatekeeper_maturity_level_target{model="caict-devops-cd"} 3' in text
    assert 'gatekeeper_verdict_status{status="pass"} 1' in text and "Decision." not in text


def test_a_gate_that_failed_or_warned_counts_one() -> None:
    failing = parse(CASES["failing"](), "failing case")
    text = render(failing)
    for gate in failing.gates:
        failed = 1 if gate.status.value in ("fail", "warn") else 0
        assert f'gatekeeper_gate_failed{{gate="{gate.id}",severity="{gate.severity.value}"}} {failed}' in text
    assert {gate.status.value for gate in failing.gates} >= {"fail", "pass"}
    assert 'gatekeeper_verdict_status{status="fail"} 1' in text
