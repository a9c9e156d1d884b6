"""A verdict the store server could never take is refused before anything is sent, by the server's own rule.

Review, session 9: `check --project bank/xxxx…(5,000) --upload URL` sent the verdict, the server answered 422
"project: longer than 1000 bytes", and it went to spool/rejected; README says a value the server could never
take is refused before sending, but only the id was.  Now every field the server indexes (project, branch,
commit, pipeline, job, policy name; gatekeeper.store.MAX_INDEXED_BYTES in UTF-8, no NUL) is checked first.

What `check` keeps: the decision and the embedded store's record (which takes any length).  The refused
upload is what any refused upload is: one line naming the field and the option or CI variable it came from,
the verdict set aside in spool/rejected, exit 0, or 4 with --require-upload, whose very meaning is "the
verdict could not be delivered": `check` does not turn a decision it could make into "could not decide".
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.sinks.spool import Spool
from gatekeeper.store import MAX_INDEXED_BYTES
from tests.client.realserver import ServeProcess, upload_server
from tests.client.test_spool import run
from tests.test_cli_check import PASSING_JUNIT

GITLAB = {"GITLAB_CI": "true", "CI_PROJECT_PATH": "group/app", "CI_COMMIT_BRANCH": "main", "CI_PIPELINE_ID": "7"}


def policy(name: str = "upload-test") -> str:
    return f"policy: {json.dumps(name)}\ngates:\n  - id: tests-all-pass\n    metric: tests.pass_percent\n    min: 100\n"


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, str]]:
    with upload_server(tmp_path_factory.mktemp("server")) as served:
        yield served


def check(
    cwd: Path, server: ServeProcess, token: str, *args: str, name: str = "upload-test", **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    (cwd / "policy.yaml").write_text(policy(name))
    (cwd / "pass.xml").write_text(PASSING_JUNIT)
    result = run(
        "check", "-p", "policy.yaml", "pass.xml", "--store", "local.db", "--format", "json",
        "--upload", server.url, *args, cwd=cwd, env={"GATEKEEPER_TOKEN": token, **GITLAB, **env},
    )  # fmt: skip
    verdict = json.loads(result.stdout) if result.stdout.startswith("{") else {}
    return result, verdict


def _recorded(cwd: Path) -> list[str]:
    with sqlite3.connect(cwd / "local.db") as db:
        return [row[0] for row in db.execute("SELECT id FROM verdicts")]


TOO_LONG = "x" * (MAX_INDEXED_BYTES + 1)
#: Each field the server indexes, set too long the way a user or a CI sets it, and how the line names it.
CASES = {
    "project": ((), {"CI_PROJECT_PATH": "group/" + TOO_LONG}, "", "context.project (--project or the CI's project)"),
    "--project": (("--project", "group/" + TOO_LONG), {}, "", "context.project (--project or the CI's project)"),
    "--branch": (("--branch", TOO_LONG), {}, "", "context.branch (--branch or the CI's branch)"),
    # --commit: check records only 7 to 64 hex digits (tests/test_check_commit.py), never too long to store
    "--pipeline": (("--pipeline", TOO_LONG), {}, "", "context.pipeline (--pipeline or the CI's pipeline id)"),
    "job": ((), {"CI_JOB_NAME": TOO_LONG}, "", "context.job (the CI's job name)"),
    "policy name": ((), {}, TOO_LONG, "policy.name (the policy's name)"),
    # UTF-8 bytes, not characters: 506 characters, 1,006 bytes
    "--project in UTF-8": (("--project", "group/" + "é" * 500), {}, "", "context.project (--project or"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("require", [False, True])
def test_a_field_the_server_never_takes_is_not_sent_and_the_decision_stands(
    tmp_path: Path, real_server: tuple[ServeProcess, str], case: str, require: bool
) -> None:
    server, token = real_server
    args, env, name, named = CASES[case]
    result, verdict = check(
        tmp_path, server, token, *args, *(["--require-upload"] if require else []), name=name or "upload-test", **env
    )
    assert result.returncode == (4 if require else 0), result.stderr
    assert verdict["status"] == "pass"
    assert _recorded(tmp_path) == [verdict["id"]]  # the embedded store keeps it: it takes any length
    assert verdict["id"] not in server.stored_ids()
    refused = [line for line in result.stderr.splitlines() if "not uploaded" in line]
    assert len(refused) == 1, result.stderr
    assert f"rejected {verdict['id']} (not sent): {named}" in refused[0]
    assert f"can never be stored: longer than {MAX_INDEXED_BYTES} bytes (UTF-8)" in refused[0]
    assert len(refused[0]) < 500  # the value is cut in the message, not 1,000 characters of it
    [(path, reason)] = Spool(tmp_path / ".gatekeeper" / "spool").rejected()
    assert reason["status_code"] is None and json.loads(path.read_text())["id"] == verdict["id"]


def test_the_longest_value_the_server_takes_is_sent(tmp_path: Path, real_server: tuple[ServeProcess, str]) -> None:
    """The boundary is the server's: exactly MAX_INDEXED_BYTES in UTF-8 goes and is stored."""
    server, token = real_server
    longest = "group/" + "é" * ((MAX_INDEXED_BYTES - len("group/")) // 2)
    assert len(longest.encode()) == MAX_INDEXED_BYTES
    result, verdict = check(tmp_path, server, token, "--project", longest, "--branch", "b" * MAX_INDEXED_BYTES)
    assert result.returncode == 0, result.stderr
    assert verdict["id"] in server.stored_ids()


def test_upload_refuses_such_a_verdict_file_before_sending(
    tmp_path: Path, real_server: tuple[ServeProcess, str]
) -> None:
    server, token = real_server
    _, made = check(tmp_path, server, token)  # a real verdict, then a copy with a new id and a project too long
    made.update(id="0123abcd-0000-4000-8000-000000000001", context={**made["context"], "project": "group/" + TOO_LONG})
    (tmp_path / "long.json").write_text(json.dumps(made))
    result = run("upload", "long.json", "--url", server.url, cwd=tmp_path, env={"GATEKEEPER_TOKEN": token})
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("gatekeeper: error: long.json: context.project (--project or the CI's project)")
    assert len(result.stderr.splitlines()) == 1
    assert made["id"] not in server.stored_ids()
