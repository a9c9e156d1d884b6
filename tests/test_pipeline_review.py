"""What a new user of parts tripped on (issue 18 review): bounds of --wait and --expect-parts, the
wording of an undecided pipeline, names outside ASCII, and the store server's refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_pipeline_cli import (  # noqa: F401 (fixtures: project, server)
    PIPELINE,
    environment,
    gatekeeper,
    part,
    project,
    server,
    shard,
)


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--wait", "nan", "not a number"),  # NaN passed the range check and waited forever
        ("--wait", "inf", "0<=x<=86400"),  # so did infinity ("up to inf s more")
        ("--wait", "1e400", "0<=x<=86400"),
        ("--expect-parts", "1001", "1<=x<=1000"),  # more than a store keeps: it could never be complete
        ("--expect-parts", "99999999999999999999", "1<=x<=1000"),
    ],
)
def test_waits_and_counts_that_can_never_end_are_usage_errors(
    project: Path,  # noqa: F811
    option: str,
    value: str,
    says: str,
) -> None:
    result = gatekeeper(project, "check", "-p", "gatekeeper.yaml", "--pipeline-final", *PIPELINE, option, value)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr and option in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("output", "line"), [("text", "pipeline: 0 parts arrived"), ("markdown", "0 parts arrived")])
def test_a_pipeline_no_part_reached_says_none_arrived_not_merged(
    project: Path,  # noqa: F811
    output: str,
    line: str,
) -> None:
    result = gatekeeper(
        project, "check", "-p", "gatekeeper.yaml", "--pipeline-final", *PIPELINE, "--wait", "0", "--format", output
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert line in result.stdout and "merged" not in result.stdout


def test_a_part_name_outside_ascii_is_said_as_written(project: Path) -> None:  # noqa: F811
    reports = shard(project / "s1", {"src/a.py": range(1, 11)}, ["test_a1"])
    said = part(project, "tëst ünï 1/1", reports, *PIPELINE)
    assert "part 'tëst ünï 1/1' of pipeline '77'" in said  # was 't\\xebst \\xfcn\\xef 1/1'


def test_the_store_servers_refusals_name_the_token_needed_and_are_not_waited_on(
    server: Any,  # noqa: F811
    project: Path,  # noqa: F811
) -> None:
    reports = str(shard(project / "s1", {"src/a.py": range(1, 11)}, ["test_a1"]))
    pipeline = ("--project", "bank/app", "--pipeline", f"refused-{project.name}")
    check = ("check", "-p", "gatekeeper.yaml", *pipeline, "--upload", server.url)
    # no token: a part needs an upload token (the hint asked for a read token, which cannot record one)
    result = gatekeeper(project, *check, "--part", "test 1/1", reports, env=environment())
    assert result.returncode == 4, result.stderr
    assert "set GATEKEEPER_TOKEN to an upload token allowed for the project" in result.stderr
    assert "read token" not in result.stderr
    # another project's token: the server is named once, not again as a "verdict store"
    other = environment(GATEKEEPER_TOKEN=server.tokens["other"])
    result = gatekeeper(project, *check, "--part", "test 1/1", reports, env=other)
    assert result.returncode == 4, result.stderr
    assert result.stderr.startswith(
        f"gatekeeper: error: part 'test 1/1' not recorded in the store server {server.url}:"
    )
    assert "verdict store" not in result.stderr and "403" in result.stderr
    # a revoked token stays revoked: the final job stops at once instead of retrying for --wait seconds
    revoked = environment(GATEKEEPER_TOKEN=server.tokens["revoked"])
    result = gatekeeper(project, *check, "--pipeline-final", "--no-store", "--wait", "600", env=revoked)
    assert result.returncode == 2, result.stderr
    assert "401" in result.stderr and "trying again" not in result.stderr


@pytest.mark.parametrize("name", ["test 4/3", "test 0/3", "test 1/0", "test 01/3", "test 1/1001"])
def test_a_part_named_as_no_series_expects_is_a_usage_error(project: Path, name: str) -> None:  # noqa: F811
    """`test 4/3` was recorded as a part of its own: the final job waited for test 1/3 … 3/3 beside it."""
    reports = str(shard(project / "s1", {"src/a.py": range(1, 11)}, ["test_a1"]))
    result = gatekeeper(project, "check", "-p", "gatekeeper.yaml", *PIPELINE, "--part", name, reports)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == (
        f"gatekeeper: error: --part '{name}': NAME i/N needs 1 <= i <= N <= 1000, without leading zeros "
        "(the final job waits for NAME 1/N … NAME N/N)\n"
    )
    assert not (project / ".gatekeeper" / "verdicts.db").exists()  # nothing recorded


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (("--wait", "30"), "--wait is"),
        (("--expect-parts", "3"), "--expect-parts is"),
        (("--expect-parts", "3", "--wait", "30"), "--expect-parts and --wait are"),
    ],
)
def test_the_final_jobs_options_on_a_part_are_usage_errors(
    project: Path,  # noqa: F811
    given: tuple[str, ...],
    said: str,
) -> None:
    """They were taken and ignored; the environment's GATEKEEPER_EXPECT_PARTS (set for every job) still is."""
    reports = str(shard(project / "s1", {"src/a.py": range(1, 11)}, ["test_a1"]))
    result = gatekeeper(project, "check", "-p", "gatekeeper.yaml", *PIPELINE, "--part", "a", *given, reports)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == f"gatekeeper: error: {said} for the --pipeline-final job: a part waits for nothing\n"
    assert "recorded" in part(project, "a", project / "s1", *PIPELINE, env=environment(GATEKEEPER_EXPECT_PARTS="3"))


def test_a_server_nobody_listens_on_is_said_in_one_readable_line(project: Path) -> None:  # noqa: F811
    """requests' nested message was cut to its last 200 characters: "(rl: /api/v1/parts?… (Caused by …"."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reports = str(shard(project / "s1", {"src/a.py": range(1, 11)}, ["test_a1"]))
    check = ("check", "-p", "gatekeeper.yaml", *PIPELINE, "--upload", f"http://127.0.0.1:{port}", "--part", "a")
    result = gatekeeper(project, *check, "--upload-timeout", "1", reports, env=environment(GATEKEEPER_TOKEN="t"))
    assert result.returncode == 4
    assert result.stderr == (
        f"gatekeeper: error: part 'a' not recorded in the store server http://127.0.0.1:{port}: cannot reach the "
        "store server (Failed to establish a new connection: [Errno 111] Connection refused)\n"
    )


@pytest.mark.parametrize(
    ("names", "missing"), [(("test 1/2", "test 2/2"), []), (("test 1/3", "test 2/3"), ["test 3/3"])]
)
def test_a_part_that_does_not_decode_still_lists_the_parts_and_the_pipeline(
    project: Path,  # noqa: F811
    names: tuple[str, str],
    missing: list[str],
) -> None:
    """Its error verdict carried neither `parts` nor `pipeline` (kept only for missing parts)."""
    import sqlite3

    part(project, names[0], shard(project / "s1", {"src/a.py": range(1, 11)}, ["test_a1", "test_a2"]), *PIPELINE)
    part(project, names[1], shard(project / "s2", {"src/b.py": range(1, 11)}, ["test_b1"]), *PIPELINE)
    with sqlite3.connect(project / ".gatekeeper" / "verdicts.db") as db:
        db.execute("UPDATE parts SET body = ? WHERE name = ?", (b"not a part", names[1]))
    result = gatekeeper(
        project, "check", "-p", "gatekeeper.yaml", "--pipeline-final", "-o", "json=verdict.json", *PIPELINE,
        "--wait", "0",
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"part '{names[1]}'" in result.stderr and "Traceback" not in result.stderr
    verdict = json.loads((project / "verdict.json").read_text(encoding="utf-8"))
    assert verdict["status"] == "error" and verdict["metrics"] == {}
    assert verdict["pipeline"] == {"expected": len(names) + len(missing), "missing": missing}
    listed = [(p["name"], p["counts"]["tests"], p.get("unreadable", False)) for p in verdict["parts"]]
    assert listed == [(names[0], 2, False), (names[1], 0, True)]


def test_a_gitlab_index_past_the_total_is_a_usage_error_recording_nothing(project: Path) -> None:  # noqa: F811
    """CI_NODE_INDEX=4 of CI_NODE_TOTAL=3 was recorded quietly as the plain `test`, which no series expects."""
    gitlab = {"GITLAB_CI": "true", "CI_PROJECT_PATH": "group/app", "CI_PIPELINE_ID": "91"}
    reports = shard(project / "s1", {"src/a.py": range(1, 11)}, ["test_a1"])
    result = gatekeeper(
        project, "check", "-p", "gatekeeper.yaml", "--part", "test", str(reports),
        env=environment(**gitlab, CI_NODE_INDEX="4", CI_NODE_TOTAL="3"),
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--part 'test': GitLab's CI_NODE_INDEX='4', CI_NODE_TOTAL='3' is no parallel job's index" in result.stderr
    assert "Traceback" not in result.stderr and "recorded" not in result.stdout
    assert not (project / ".gatekeeper" / "verdicts.db").exists()
