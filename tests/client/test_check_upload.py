"""`gatekeeper check --upload/--push/--require-upload`: the decision and its exit code never depend on the
sink, unless --require-upload asks for 4 (which replaces a pass, never a gate failure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.sinks.spool import Spool
from tests.client.loopback import LoopbackStore, free_port
from tests.client.test_spool import run
from tests.test_cli_check import FAILING_JUNIT, PASSING_JUNIT

POLICY = """policy: upload-test
gates:
  - id: tests-all-pass
    metric: tests.pass_percent
    min: 100
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "pass.xml").write_text(PASSING_JUNIT)
    (tmp_path / "fail.xml").write_text(FAILING_JUNIT)
    return tmp_path


def check(workspace: Path, report: str, *extra: str) -> tuple[int, dict[str, object], str]:
    result = run(
        "check",
        "-p",
        "policy.yaml",
        report,
        "--no-store",
        "--format",
        "json",
        "--project",
        "group/app",
        "--branch",
        "feature/x",
        *extra,
        cwd=workspace,
    )
    return result.returncode, json.loads(result.stdout), result.stderr


def test_uploads_the_verdict_it_decided(workspace: Path, store: LoopbackStore) -> None:
    code, verdict, stderr = check(workspace, "pass.xml", "--upload", store.url)
    assert code == 0, stderr
    assert store.stored() == {verdict["id"]: verdict}


@pytest.mark.parametrize(("report", "gate_code"), [("pass.xml", 0), ("fail.xml", 1)])
def test_server_down_keeps_the_gate_code_and_spools(workspace: Path, report: str, gate_code: int) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    code, verdict, stderr = check(workspace, report, "--upload", down, "--upload-timeout", "1")
    assert code == gate_code
    warnings = [line for line in stderr.splitlines() if "not uploaded" in line]
    assert len(warnings) == 1 and verdict["id"] in warnings[0]
    assert [e.verdict_id for e in Spool(workspace / ".gatekeeper" / "spool").entries()] == [verdict["id"]]


@pytest.mark.parametrize(("report", "code_wanted"), [("pass.xml", 4), ("fail.xml", 1)])
def test_require_upload_exits_4_unless_the_gate_failed(workspace: Path, report: str, code_wanted: int) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    code, _, stderr = check(workspace, report, "--upload", down, "--upload-timeout", "1", "--require-upload")
    assert code == code_wanted, stderr


def test_the_next_check_delivers_the_spooled_verdict_first(workspace: Path, store: LoopbackStore) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    _, first, _ = check(workspace, "fail.xml", "--upload", down, "--upload-timeout", "1")
    code, second, stderr = check(workspace, "pass.xml", "--upload", store.url, "--require-upload")
    assert code == 0, stderr
    assert store.order == [first["id"], second["id"]]
    assert Spool(workspace / ".gatekeeper" / "spool").entries() == []


def test_a_rejected_upload_is_reported_and_kept(workspace: Path) -> None:
    from tests.client.loopback import serving

    with serving(LoopbackStore(token="right")) as store:
        result = run(
            "check",
            "-p",
            "policy.yaml",
            "pass.xml",
            "--no-store",
            "--upload",
            store.url,
            "--require-upload",
            cwd=workspace,
            env={"GATEKEEPER_TOKEN": "wrong"},
        )
    assert result.returncode == 4
    assert "rejected" in result.stderr and "HTTP 401" in result.stderr
    assert len(Spool(workspace / ".gatekeeper" / "spool").rejected()) == 1


def test_a_failed_push_is_reported_and_counts_for_require_upload(workspace: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    code, _, stderr = check(workspace, "pass.xml", "--push", down, "--upload-timeout", "1")
    assert code == 0 and "metrics not pushed" in stderr
    code, _, _ = check(workspace, "pass.xml", "--push", down, "--upload-timeout", "1", "--require-upload")
    assert code == 4


def test_a_ci_variable_that_is_not_utf8_does_not_stop_the_upload(workspace: Path, store: LoopbackStore) -> None:
    """A branch name with bytes that are not UTF-8 reached the upload as lone surrogates: exit 3."""
    env = {"GITLAB_CI": "true", "CI_PROJECT_PATH": "group/\udcff", "CI_COMMIT_REF_NAME": "br\udcfe"}
    result = run(
        "check",
        "-p",
        "policy.yaml",
        "pass.xml",
        "--no-store",
        "--format",
        "json",
        "--upload",
        store.url,
        "--require-upload",
        cwd=workspace,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["context"]["project"] == "group/\ufffd" and verdict["context"]["branch"] == "br\ufffd"
    assert store.stored() == {verdict["id"]: verdict}
