"""`gatekeeper check --upload/--push/--require-upload`: the decision and its exit code never depend on the
sink, unless --require-upload asks for 4 (which replaces a pass, never a gate failure)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gatekeeper.sinks.spool import Spool
from tests.client.loopback import LoopbackStore, free_port
from tests.client.realserver import ServeProcess, upload_server
from tests.client.test_spool import run
from tests.test_cli_check import FAILING_JUNIT, PASSING_JUNIT
from tests.verdicts import LEVEL_3, REPO

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


# --- issue 15: what the user reads (items 8, 10, 12, 13), against a real `gatekeeper serve` ---------------


COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def real_server(tmp_path: Path) -> Iterator[tuple[ServeProcess, str]]:
    (tmp_path / "server").mkdir()
    with upload_server(tmp_path / "server") as served:
        yield served


def test_check_upload_says_one_line_on_success_and_upload_says_already_stored(
    workspace: Path, real_server: tuple[ServeProcess, str]
) -> None:
    server, token = real_server
    env = {"GATEKEEPER_TOKEN": token}
    result = run(
        "check", "-p", "policy.yaml", "pass.xml", "--no-store", "--format", "json", "--project", "group/app",
        "--upload", server.url, cwd=workspace, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    verdict_id = json.loads(result.stdout)["id"]
    assert result.stderr.splitlines() == [f"gatekeeper: delivered {verdict_id} on {server.url}"]
    assert server.stored_ids() == [verdict_id]

    (workspace / "verdict.json").write_text(result.stdout)
    again = run("upload", "verdict.json", "--url", server.url, cwd=workspace, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [f"already stored {verdict_id}"]  # the server answered 200, not 201


def test_check_without_a_project_warns_once_and_the_server_never_says_none(
    workspace: Path, real_server: tuple[ServeProcess, str]
) -> None:
    server, token = real_server  # an upload token for group/* only
    result = run(
        "check", "-p", "policy.yaml", "pass.xml", "--no-store", "--format", "json",
        "--upload", server.url, cwd=workspace, env={"GATEKEEPER_TOKEN": token},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["context"]["project"] is None
    warnings = [line for line in result.stderr.splitlines() if "names no project" in line]
    assert len(warnings) == 1 and "--project NAME" in warnings[0], result.stderr
    refusal = [line for line in result.stderr.splitlines() if "not uploaded" in line]
    assert len(refusal) == 1 and "HTTP 403" in refusal[0] and "of no project" in refusal[0], result.stderr
    assert "None" not in result.stderr
    named = run("check", "-p", "policy.yaml", "pass.xml", "--no-store", "--project", "group/app", cwd=workspace)
    assert "names no project" not in named.stderr


def test_level_0_and_the_short_commit_read_the_same_in_text_markdown_list_and_pages(
    workspace: Path, real_server: tuple[ServeProcess, str]
) -> None:
    """A verdict of level 0 (tests fail) under the caict level-3 policy, with a full commit hash."""
    server, token = real_server
    reports = REPO / "examples" / "failing" / "reports"
    common = ("-p", str(LEVEL_3), "--project", "group/app", "--branch", "main", "--commit", COMMIT)
    common += tuple(str(reports / name) for name in ("junit.xml", "coverage.xml", "bandit.json"))
    short, level_0 = COMMIT[:12], "no level reached: level 1 is held back by tests-all-pass"
    for output_format in ("text", "markdown"):
        result = run("check", *common, "--no-store", "--format", output_format, cwd=workspace)
        assert result.returncode == 1, result.stderr
        assert level_0 in result.stdout.replace("\\", "") and short in result.stdout
        assert COMMIT[:13] not in result.stdout and "level 0" not in result.stdout

    result = run("check", *common, "--format", "json", "--upload", server.url, cwd=workspace,
                 env={"GATEKEEPER_TOKEN": token})  # fmt: skip
    verdict_id = json.loads(result.stdout)["id"]
    listed = run("verdicts", "list", cwd=workspace)
    assert listed.stdout.splitlines()[1].split()[7] == short, listed.stdout  # after the recorded and created times

    read = server.token("--scope", "read")
    client = requests.Session()
    client.trust_env = False
    client.cookies.set("gatekeeper_session", read, domain="127.0.0.1", path="/")
    with client:
        page = client.get(f"{server.url}/verdicts/{verdict_id}", timeout=30)
        overview = client.get(f"{server.url}/", timeout=30)
    assert page.status_code == 200 and overview.status_code == 200
    assert f"caict-devops-cd: {level_0}" in page.text and "level 0" not in page.text
    assert f'<dd class="mono">{COMMIT}</dd>' in page.text  # the verdict's own page: the whole hash, to copy
    row = overview.text[overview.text.index("group/app") :]
    assert f'<td class="mono">{short}</td>' in row and '<td class="num">none</td>' in row
