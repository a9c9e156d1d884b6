"""Every reader still reads gatekeeper.verdict/v1 (issue 14, item 2), on the v1 verdicts the release
before v2 recorded (tests/data/verdicts/v1), kept beside v2 verdicts in one embedded store: `verdicts
show` in every format, `explain --store`, `report` and a release's readiness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.release import Member, MemberState, Release, assess
from gatekeeper.store.sqlite import SqliteStore
from tests.conftest import REPO
from tests.outputs.cases import CASES

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
V1 = REPO / "tests" / "data" / "verdicts" / "v1"


def _gatekeeper(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS"))}
    environment.pop("GATEKEEPER_STORE", None)
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """A store with the recorded v1 example (project group/app) and a v2 verdict of the same project."""
    v1: dict[str, Any] = json.loads((V1 / "example-failing" / "verdict.json").read_text(encoding="utf-8"))
    v1["context"] |= {"project": "group/app", "branch": "main", "commit": "c1"}
    v2 = CASES["passing"]()
    v2["context"] |= {"project": "group/app", "branch": "main", "commit": "c2"}  # report: the default branch
    path = tmp_path / "verdicts.db"
    with SqliteStore(path) as opened:
        opened.add(v1)
        opened.add(v2)
    return path, v1, v2


@pytest.mark.parametrize("output_format", ["text", "markdown", "junit", "gitlab-codequality", "json"])
def test_verdicts_show_reads_v1_and_v2(store: tuple[Path, dict[str, Any], dict[str, Any]], output_format: str) -> None:
    path, v1, v2 = store
    for verdict in (v1, v2):
        result = _gatekeeper(
            "verdicts", "show", verdict["id"], "--store", str(path), "--format", output_format, cwd=path.parent
        )
        assert result.returncode == 0, result.stderr
        if output_format == "json":
            assert json.loads(result.stdout) == verdict  # the document as stored
        else:
            assert all(gate["id"] in result.stdout for gate in verdict["gates"] if gate["status"] == "fail")


def test_explain_and_report_read_a_store_holding_v1_and_v2(store: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    path, v1, v2 = store
    explained = _gatekeeper("explain", v1["id"], "--store", str(path), cwd=path.parent)
    assert explained.returncode == 0, explained.stderr
    assert "to pass: fix or waive the 3 high findings" in explained.stdout
    report = _gatekeeper(
        "report",
        "--project",
        "group/app",
        "--store",
        str(path),
        "--format",
        "markdown",
        "--since",
        "3650d",
        "-o",
        str(path.parent / "report.md"),
        cwd=path.parent,
    )
    assert report.returncode == 0, report.stderr
    text = (path.parent / "report.md").read_text(encoding="utf-8")
    assert "2 verdicts" in text and v1["id"] in text and v2["id"] in text


def test_a_release_reads_a_v1_verdict() -> None:
    v1 = json.loads((V1 / "example-failing" / "verdict.json").read_text(encoding="utf-8"))
    readiness = assess(Release(name="r", level=3, members=(Member(project="p", commit="c"),)), lambda _: v1).members[0]
    assert readiness.state is MemberState.FAILED
    assert readiness.blockers[0].startswith("gate tests-all-pass failed: test pass rate 91.9% < 100%")


def test_a_stored_document_that_is_no_verdict_holds_its_release_back() -> None:
    """A store may hold anything: a document the schema refuses is an error state naming what is wrong."""
    document = {"id": "not-a-verdict", "status": "pass"}
    (readiness,) = assess(
        Release(name="r", level=None, members=(Member(project="p", commit="c"),)), lambda _: document
    ).members
    assert readiness.state is MemberState.ERROR
    assert readiness.verdict_id == "not-a-verdict"
    assert readiness.blockers[0].startswith("verdict not-a-verdict: not a gatekeeper verdict: ")
