"""A pipeline of parallel jobs end to end (issue 18): the installed `gatekeeper` records each job's
reports with `check --part`, and `check --pipeline-final` merges the parts and decides once — on the
embedded store, and on a real store server over loopback (SQLite and PostgreSQL).

Every figure is counted by hand in the comments.  The four-part pipeline's coverage is 30 of 40 lines
(75 %), where the average of its parts' percentages is 31.25 %: a gate at 70 % passes on the pipeline
and would fail on GitLab's average.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
_OUTSIDE = ("GATEKEEPER_", "CI_", "GITLAB", "GITHUB_", "JENKINS")

POLICY = """policy: pipeline
gates:
  - id: coverage
    criterion: the pipeline's tests run most lines
    metric: coverage.lines.percent
    min: 70
  - id: tests-pass
    criterion: every test passes
    metric: tests.pass_percent
    min: 100
"""

#: a.py has statements 1-10, b.py 1-30: 40 lines in all.
STATEMENTS = {"src/a.py": range(1, 11), "src/b.py": range(1, 31)}


def cobertura(covered: Mapping[str, range]) -> str:
    """Every file's statements, hit where `covered` says (as a shard's coverage.py run writes it)."""
    classes = "".join(
        f'<class name="{name}" filename="{name}"><lines>'
        + "".join(f'<line number="{n}" hits="{int(n in covered.get(name, ()))}"/>' for n in statements)
        + "</lines></class>"
        for name, statements in STATEMENTS.items()
    )
    return (
        '<?xml version="1.0" ?>\n<coverage version="7.4"><sources><source>.</source></sources>'
        f'<packages><package name="."><classes>{classes}</classes></package></packages></coverage>\n'
    )


def junit(passing: Sequence[str], failing: Sequence[str] = ()) -> str:
    cases = "".join(f'<testcase classname="tests.test_app" name="{name}" time="0.1"/>' for name in passing)
    cases += "".join(
        f'<testcase classname="tests.test_app" name="{name}"><failure message="boom">boom</failure></testcase>'
        for name in failing
    )
    return f'<testsuite name="app">{cases}</testsuite>\n'


def shard(directory: Path, covered: Mapping[str, range], passing: Sequence[str], failing: Sequence[str] = ()) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "coverage.xml").write_text(cobertura(covered), encoding="utf-8")
    (directory / "junit.xml").write_text(junit(passing, failing), encoding="utf-8")
    return directory


def environment(**extra: str) -> dict[str, str]:
    """This machine's environment without any CI's variables or gatekeeper's own settings."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE)}, **extra}


def gatekeeper(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GATEKEEPER, *args],
        cwd=cwd,
        env=dict(env) if env is not None else environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "gatekeeper.yaml").write_text(POLICY, encoding="utf-8")
    return tmp_path


def part(cwd: Path, name: str, reports: Path, *more: str, env: Mapping[str, str] | None = None) -> str:
    result = gatekeeper(cwd, "check", "-p", "gatekeeper.yaml", "--part", name, *more, str(reports), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def final(cwd: Path, *more: str, code: int = 0, env: Mapping[str, str] | None = None) -> tuple[dict[str, Any], str]:
    """The pipeline-final's verdict (as its JSON output file) and its standard error."""
    result = gatekeeper(
        cwd, "check", "-p", "gatekeeper.yaml", "--pipeline-final", "-o", "json=verdict.json", *more, env=env
    )
    assert result.returncode == code, result.stdout + result.stderr
    return json.loads((cwd / "verdict.json").read_text(encoding="utf-8")), result.stdout + result.stderr


PIPELINE = ("--project", "group/app", "--pipeline", "77")


def four_parts(root: Path) -> list[Path]:
    """Four shards: lines covered 10, 20, 10, 10 of 40 (25 %, 50 %, 25 %, 25 %: 31.25 % on average);
    together a.py 1-10 and b.py 1-20: 30 of 40 (75 %).  Tests: 2 + 2 + 1 + 1 = 6, all passing."""
    return [
        shard(root / "s1", {"src/a.py": range(1, 11)}, ["test_a1", "test_a2"]),
        shard(root / "s2", {"src/a.py": range(1, 11), "src/b.py": range(1, 11)}, ["test_ab1", "test_ab2"]),
        shard(root / "s3", {"src/b.py": range(1, 11)}, ["test_b1"]),
        shard(root / "s4", {"src/b.py": range(11, 21)}, ["test_b2"]),
    ]


def test_four_parts_decide_on_the_pipelines_lines_not_the_average_of_percentages(project: Path) -> None:
    for index, reports in enumerate(four_parts(project / "shards"), start=1):
        said = part(project, f"test {index}/4", reports, *PIPELINE)
        assert f"part 'test {index}/4' of pipeline '77' (group/app) recorded in the store" in said
        tests = ("2 tests", "2 tests", "1 test", "1 test")[index - 1]  # each Cobertura file lists both files
        assert f": 2 reports, {tests}, coverage of 2 files, 0 findings; " in said
    verdict, output = final(project, *PIPELINE)
    assert verdict["status"] == "pass", output
    metrics = verdict["metrics"]
    assert (metrics["coverage.lines.covered"], metrics["coverage.lines.total"]) == (30, 40)
    assert metrics["coverage.lines.percent"] == 75.0  # the average of the parts' percentages is 31.25
    assert (metrics["tests.total"], metrics["tests.passed"]) == (6, 6)
    assert [p["name"] for p in verdict["parts"]] == ["test 1/4", "test 2/4", "test 3/4", "test 4/4"]
    assert verdict["pipeline"] == {"expected": 4, "missing": []}  # N from the names 'test i/4'
    assert [p["counts"]["tests"] for p in verdict["parts"]] == [2, 2, 1, 1]
    assert not any(p["replaced"] for p in verdict["parts"])
    assert "pipeline: 4 parts merged (4 expected): test 1/4, test 2/4, test 3/4, test 4/4" in output
    # The verdict is recorded in the embedded store like any other.
    with sqlite3.connect(project / ".gatekeeper" / "verdicts.db") as db:
        assert db.execute("SELECT count(*) FROM parts").fetchone() == (4,)
        assert db.execute("SELECT count(*) FROM verdicts WHERE id = ?", (verdict["id"],)).fetchone() == (1,)


def test_a_retried_part_replaces_its_first_attempt_and_its_test_is_flaky(project: Path) -> None:
    """Part 2's first attempt fails test_b1; the retried job passes it: 3 tests, 3 passed, 1 flaky."""
    s1 = shard(project / "s1", {"src/a.py": range(1, 11)}, ["test_a1"])
    first = shard(project / "s2-first", {"src/b.py": range(1, 21)}, ["test_b2"], ["test_b1"])
    retry = shard(project / "s2-retry", {"src/b.py": range(1, 21)}, ["test_b1", "test_b2"])
    part(project, "test 1/2", s1, *PIPELINE)
    part(project, "test 2/2", first, *PIPELINE)
    part(project, "test 2/2", retry, *PIPELINE)
    verdict, output = final(project, *PIPELINE)
    assert verdict["status"] == "pass", output
    metrics = verdict["metrics"]
    assert (metrics["tests.total"], metrics["tests.passed"], metrics["tests.failed"]) == (3, 3, 0)
    assert metrics["tests.flaky"] == 1
    # Every attempt is listed, the first one of part 2 as replaced by the retry, received after it.
    listed = [(p["name"], p["replaced"]) for p in verdict["parts"]]
    assert listed == [("test 1/2", False), ("test 2/2", True), ("test 2/2", False)]
    assert verdict["parts"][1]["received_at"] < verdict["parts"][2]["received_at"]
    assert verdict["parts"][1]["counts"]["tests"] == verdict["parts"][2]["counts"]["tests"] == 2
    assert "pipeline: 2 parts merged (2 expected): test 1/2, test 2/2 (retried)" in output


def test_a_missing_part_leaves_the_gate_undecided_naming_it(project: Path) -> None:
    shards = four_parts(project / "shards")[:2]
    for index, reports in enumerate(shards, start=1):
        part(project, f"test {index}/3", reports, *PIPELINE)
    verdict, output = final(project, *PIPELINE, "--wait", "1", code=2)
    assert "gatekeeper: error: 2 of 3 parts arrived; missing: test 3/3" in output
    assert verdict["status"] == "error"
    assert verdict["pipeline"] == {"expected": 3, "missing": ["test 3/3"]}
    assert [p["name"] for p in verdict["parts"]] == ["test 1/3", "test 2/3"]
    assert verdict["metrics"] == {}  # nothing decided on partial data


def test_expect_parts_counts_parts_no_name_announces(project: Path) -> None:
    """Parts named freely (a GitHub matrix): --expect-parts 3 with two there is one unnamed part missing."""
    shards = four_parts(project / "shards")
    part(project, "py3.11", shards[0], *PIPELINE)
    part(project, "py3.12", shards[1], *PIPELINE)
    verdict, output = final(project, *PIPELINE, "--expect-parts", "3", "--wait", "0", code=2)
    assert "2 of 3 parts arrived; missing: 1 part" in output
    assert verdict["pipeline"] == {"expected": 3, "missing": ["1 part"]}
    part(project, "py3.13", shards[2], *PIPELINE)
    verdict, output = final(project, *PIPELINE, "--expect-parts", "3", "--wait", "0", code=1)
    assert [p["name"] for p in verdict["parts"]] == ["py3.11", "py3.12", "py3.13"]
    assert verdict["metrics"]["coverage.lines.covered"] == 20  # a.py 1-10 and b.py 1-10: under 70 %, it fails
    assert verdict["status"] == "fail" and verdict["pipeline"] == {"expected": 3, "missing": []}


def test_a_part_uploaded_twice_is_stored_once(project: Path) -> None:
    reports = four_parts(project / "shards")[0]
    assert "recorded in the store" in part(project, "test 1/1", reports, *PIPELINE)
    assert "already recorded (the same part, not stored twice)" in part(project, "test 1/1", reports, *PIPELINE)
    with sqlite3.connect(project / ".gatekeeper" / "verdicts.db") as db:
        assert db.execute("SELECT count(*) FROM parts").fetchone() == (1,)
    verdict, _ = final(project, *PIPELINE, code=1)  # 10 of 40 lines: the coverage gate fails
    assert [(p["name"], p["replaced"]) for p in verdict["parts"]] == [("test 1/1", False)]


def test_gitlab_parallel_index_names_the_part(project: Path) -> None:
    """In a GitLab `parallel: 3` job, `--part test` is `test 2/3`; project and pipeline come from GitLab."""
    gitlab = {"GITLAB_CI": "true", "CI_PROJECT_PATH": "group/app", "CI_PIPELINE_ID": "91", "CI_NODE_TOTAL": "3"}
    reports = four_parts(project / "shards")
    for index in (1, 2, 3):
        said = part(project, "test", reports[index - 1], env=environment(**gitlab, CI_NODE_INDEX=str(index)))
        assert f"part 'test {index}/3' of pipeline '91' (group/app)" in said
    # The final job is no parallel one (GitLab gives it CI_NODE_TOTAL=1): 3 comes from the names.
    final_env = environment(**{**gitlab, "CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "1"})
    verdict, _ = final(project, env=final_env, code=1)  # 20 of 40 lines: under 70 %
    assert [p["name"] for p in verdict["parts"]] == ["test 1/3", "test 2/3", "test 3/3"]
    assert verdict["context"]["pipeline"] == "91"


def test_a_part_needs_a_pipeline_id(project: Path) -> None:
    reports = four_parts(project / "shards")[0]
    result = gatekeeper(project, "check", "-p", "gatekeeper.yaml", "--part", "test", "--project", "a", str(reports))
    assert result.returncode == 2
    assert "--pipeline" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_report_records_no_part(project: Path) -> None:
    (project / "broken.xml").write_text("<testsuite><testcase", encoding="utf-8")
    result = gatekeeper(project, "check", "-p", "gatekeeper.yaml", "--part", "x", *PIPELINE, "broken.xml")
    assert result.returncode == 2, result.stderr
    assert "broken.xml" in result.stderr
    assert not (project / ".gatekeeper" / "verdicts.db").exists() or _parts(project) == 0


def _parts(project: Path) -> int:
    with sqlite3.connect(project / ".gatekeeper" / "verdicts.db") as db:
        try:
            return int(db.execute("SELECT count(*) FROM parts").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


# -- on a store server -------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real `gatekeeper serve` on loopback, on SQLite and on PostgreSQL (skipped, saying why, without one)."""
    from tests.client.realserver import postgres_database, require_server
    from tests.server.conftest import make_tokens, start_server

    require_server()
    tmp = tmp_path_factory.mktemp(f"parts-server-{request.param}")
    if request.param == "sqlite":
        db_url = f"sqlite:///{tmp / 'server.db'}"
        running = start_server(db_url, tmp)
        running.tokens = make_tokens(db_url)
        yield running
        running.stop()
        return
    with postgres_database() as db_url:
        tokens = make_tokens(db_url)
        running = start_server(db_url, tmp)
        running.tokens = tokens
        yield running
        running.stop()


def test_parts_on_a_store_server(server: Any, project: Path) -> None:
    """The same four parts through the server's API (one of them sent twice, stored once); the final
    job reads them with the same upload token and uploads its verdict there."""
    pipeline = ("--project", "bank/app", "--pipeline", f"srv-{project.name}")
    env = environment(GATEKEEPER_TOKEN=server.tokens["bank"])
    before = server.rows("parts")
    for index, reports in enumerate(four_parts(project / "shards"), start=1):
        said = part(project, f"test {index}/4", reports, *pipeline, "--upload", server.url, env=env)
        assert "recorded in the store server" in said
    again = part(project, "test 4/4", project / "shards" / "s4", *pipeline, "--upload", server.url, env=env)
    assert "already recorded" in again
    assert server.rows("parts") - before == 4
    assert not (project / ".gatekeeper" / "verdicts.db").exists()  # parts went to the server only
    verdict, output = final(project, *pipeline, "--upload", server.url, "--require-upload", "--no-store", env=env)
    assert verdict["status"] == "pass", output
    assert verdict["metrics"]["coverage.lines.percent"] == 75.0
    assert verdict["pipeline"] == {"expected": 4, "missing": []}
    stored = server.get(f"/api/v1/verdicts/{verdict['id']}")
    assert stored.status_code == 200, stored.text
    assert [p["name"] for p in stored.json()["parts"]] == ["test 1/4", "test 2/4", "test 3/4", "test 4/4"]


def test_free_names_without_a_count_are_undecided_naming_expect_parts(project: Path) -> None:
    """A matrix's own names and no --expect-parts: nothing says how many to wait for, so no waiting either."""
    part(project, "py3.11", four_parts(project / "shards")[0], *PIPELINE)
    verdict, output = final(project, *PIPELINE, code=2)  # the default --wait (300 s) is not waited out
    assert "1 part arrived, and nothing says how many to expect: give --expect-parts N" in output
    assert verdict["status"] == "error" and verdict["pipeline"] == {"expected": None, "missing": []}


def test_no_part_at_all_is_undecided(project: Path) -> None:
    verdict, output = final(project, *PIPELINE, "--expect-parts", "2", "--wait", "0", code=2)
    assert "no part of this pipeline arrived (of 2 parts expected)" in output
    assert verdict["parts"] == [] and verdict["pipeline"] == {"expected": 2, "missing": ["2 parts"]}


def test_options_that_mean_nothing_for_parts_are_usage_errors(project: Path) -> None:
    reports = str(four_parts(project / "shards")[0])
    check = ("check", "-p", "gatekeeper.yaml", *PIPELINE)
    for args, words in [
        (("--part", "a", "--pipeline-final", reports), "give one"),
        (("--part", "a", "-o", "json=v.json", reports), "a part is none"),
        (("--part", "a", "--diff-base", "main", reports), "--pipeline-final job"),
        (("--pipeline-final", reports), "not on reports"),
        (("--pipeline-final", "--no-store"), "--pipeline-final reads a store: drop --no-store, or give --upload URL"),
        (("--part", "a", "--no-store", reports), "--part records its part in a store"),
        (("--part", "bad\tname", reports), "non-printable"),
    ]:
        result = gatekeeper(project, *check, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)


def test_a_store_server_that_cannot_be_read_leaves_the_gate_undecided(project: Path) -> None:
    """Nobody listens on the port: the final job tries while --wait lasts, then records an error verdict."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = environment(GATEKEEPER_TOKEN="not-a-real-token")
    verdict, output = final(
        project, *PIPELINE, "--upload", url, "--upload-timeout", "1", "--wait", "1", code=2, env=env
    )
    assert verdict["status"] == "error"
    assert f"127.0.0.1:{port}" in verdict["reason"]
    assert "not-a-real-token" not in output
