"""The four keys end to end: a git history built here, its deployments and incident recorded in the embedded
store (the store's clock set by the test), and `gatekeeper delivery` read back, against hand counts.

Times are hours after T0, 10 days before now (so the CLI's 14-day window holds them all):

    c0 "initial" (-24)
    branch proj-1: three commits (-16, -15, -14), squash-merged as S "PROJ-1 add ledger (#1)" (0)
    branch proj-2: P2 "proj-2 fix rounding" (-1), merged with a merge commit M (1)
    D1 success at M (21): first deployment, ships c0, S, P2, M (the squash's branch commits are not
       in main's history: the squash commit is the change, its time the commit time)
    P3 "PROJ-3 new fee" (46)                                 D2 FAILURE at P3 (48)
    F "PROJ-3 fix the fee" (49)                              D3 success at F (50): ships P3, F
    INC-1 opened (92), caused by F -> D3; recorded twice
    R = git revert F (93.5)                                  D4 success at R (94), recorded twice:
       ships R; the first successful deployment after INC-1 opened, which is not resolved: restored by D4
    a pass verdict at M (received 20), a fail verdict at F (49.5), nothing at R; D2 names a warn verdict

Hand counts: 4 deployments (D4 once), 3 successful, 1 failed, 1 that caused an incident (D3): change
failure 2 / 4 = 50 %.  Changes: c0 45 h, S 21 h, P2 22 h, M 20 h, P3 4 h, F 1 h, R 0.5 h: median 20 h,
p90 22 + 0.4 x (45 - 22) = 31.2 h.  Restore: INC-1 92 -> 94, 2 h.  Without a passing gate: D3 (its
commit's only verdict failed), D4 (none); D2 names a warn verdict, D1's commit passed: 2 of 4.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gatekeeper import dora
from gatekeeper.delivery import commits_from_git
from gatekeeper.store.delivery import DeploymentRequest
from gatekeeper.store.sqlite import SqliteStore
from tests.test_delivery import History
from tests.verdicts import GATEKEEPER

PROJECT, ENV = "bank/ledger", "prod"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
T0 = NOW - timedelta(days=10)
H = 3600.0


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def verdict(identifier: str, commit: str, status: str) -> dict[str, object]:
    return {
        "schema": "gatekeeper.verdict/v2",
        "id": identifier,
        "status": status,
        "created_at": NOW.isoformat(),
        "context": {"project": PROJECT, "commit": commit},
    }


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("dora-git")
    repo = History(tmp / "repo")
    ids = {"c0": repo.commit("initial", at(-24))}
    repo.git("checkout", "-q", "-b", "proj-1")
    for hour in (-16, -15, -14):
        ids[f"b{hour}"] = repo.commit(f"PROJ-1 step {hour}", at(hour))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--squash", "proj-1", when=at(0))
    repo.git("commit", "-q", "-m", "PROJ-1 add ledger (#1)", when=at(0))
    ids["S"] = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "proj-2")
    ids["P2"] = repo.commit("proj-2 fix rounding", at(-1))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'proj-2'", "proj-2", when=at(1))
    ids["M"] = repo.git("rev-parse", "HEAD")
    ids["P3"] = repo.commit("PROJ-3 new fee", at(46))
    ids["F"] = repo.commit("PROJ-3 fix the fee", at(49))
    repo.git("revert", "--no-edit", ids["F"], when=at(93.5))
    ids["R"] = repo.git("rev-parse", "HEAD")

    clock = [at(0)]
    path = tmp / "store.db"
    with SqliteStore(path, clock=lambda: clock[0]) as store:

        def deploy(commit: str, status: str, when: float, verdict_id: str | None = None) -> str:
            shipped = commits_from_git(repo.repository, commit, store.shipped_commits(PROJECT, ENV, 20))
            request = DeploymentRequest(
                project=PROJECT,
                environment=ENV,
                commit=commit,
                status=status,
                pipeline=f"p{when}",
                commits=shipped.commits,
                verdict_id=verdict_id,
            )
            deployment, _ = store.record_deployment(request, now=at(when))
            return deployment.id

        clock[0] = at(20)
        store.add(verdict("v-m", ids["M"], "pass"))
        clock[0] = at(47)
        store.add(verdict("v-p3", ids["P3"], "warn"))
        clock[0] = at(49.5)
        store.add(verdict("v-f", ids["F"], "fail"))
        ids["D1"] = deploy(ids["M"], "success", 21)
        ids["D2"] = deploy(ids["P3"], "failure", 48, verdict_id="v-p3")
        ids["D3"] = deploy(ids["F"], "success", 50)
        for _ in range(2):  # the alert fires twice
            store.open_incident(project=PROJECT, environment=ENV, incident="INC-1", caused_by=ids["F"], now=at(92))
        for _ in range(2):  # the job is retried
            ids["D4"] = deploy(ids["R"], "success", 94)
    return path, ids


def test_the_events_as_recorded(recorded: tuple[Path, dict[str, str]]) -> None:
    path, ids = recorded
    with SqliteStore(path, create=False) as store:
        deployments = store.deployments(PROJECT, ENV)
        incidents = store.incidents(PROJECT, ENV)
    assert [event.id for event in deployments] == [ids["D1"], ids["D2"], ids["D3"], ids["D4"]]
    shipped = {event.id: {commit.sha for commit in event.commits} for event in deployments}
    assert shipped[ids["D1"]] == {ids["c0"], ids["S"], ids["P2"], ids["M"]}  # not the squashed branch's
    assert shipped[ids["D3"]] == {ids["P3"], ids["F"]}  # D2 failed: its commit ships with D3
    assert shipped[ids["D4"]] == {ids["R"]}
    keys = {commit.sha: commit.keys for event in deployments for commit in event.commits}
    assert keys[ids["S"]] == ("PROJ-1",) and keys[ids["P2"]] == ("PROJ-2",) and keys[ids["M"]] == ("PROJ-2",)
    assert len(incidents) == 1
    assert (incidents[0].caused_by_deployment, incidents[0].resolved_at) == (ids["D3"], None)  # D4 restores it


def test_delivery_reads_the_hand_counts(recorded: tuple[Path, dict[str, str]]) -> None:
    path, _ = recorded
    completed = subprocess.run(
        [GATEKEEPER, "delivery", "--store", str(path), "--project", PROJECT, "--days", "14", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    (found,) = json.loads(completed.stdout)["environments"]
    assert found["environment"] == ENV
    assert (found["deployments"], found["successful"], found["failed"], found["caused_incident"]) == (4, 3, 1, 1)
    assert found["change_failure_percent"] == pytest.approx(50.0)
    assert found["changes"] == 7
    assert found["lead_time_median_seconds"] == pytest.approx(20 * H)
    assert found["lead_time_p90_seconds"] == pytest.approx(31.2 * H)
    assert (found["incidents"], found["restored"], found["open_incidents"]) == (1, 1, 0)
    assert found["restore_median_seconds"] == pytest.approx(2 * H)
    assert found["ungated"] == 2
    assert found["buckets"]["lead_time"] == {"bucket": "elite", "label": "One day"}
    assert found["buckets"]["change_failure_rate"] == {"bucket": "low", "label": "46-100%"}
    assert found["buckets"]["overall"] == "low"
    # Four deployments are too few to speak of their failure rate (dora.MIN_SAMPLE): the gate only.
    assert len(found["recommendations"]) == 1
    assert found["recommendations"][0].startswith("2 of 4 deployments (50%) went out without a passing gate")
    keys, advice = dora.from_document(found, "test")
    assert keys.change_failures == 2 and advice == found["recommendations"]


def test_delivery_as_text(recorded: tuple[Path, dict[str, str]]) -> None:
    path, _ = recorded
    completed = subprocess.run(
        [GATEKEEPER, "delivery", "--store", str(path), "--project", PROJECT, "--days", "14"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    advice = "2 of 4 deployments (50%) went out without a passing gate verdict: record the verdict with "
    advice += "`deploy record --verdict ID` or run the gate before deploying"
    assert lines[0].startswith(f"{PROJECT} to {ENV}, last 14 days (") and lines[0].endswith("Four Keys bucket LOW")
    assert lines[1].split()[:3] == ["deployment", "frequency", "1.5"]  # 3 in 14 days
    assert lines[1].endswith("3 successful deployments")
    assert "median 20.0 h, p90 31.2 h" in lines[2] and "elite (One day)" in lines[2]
    assert lines[3].split()[3:5] == ["50%", "low"]
    assert "median 2.0 h" in lines[4] and "1 of 1 incident restored" in lines[4]
    assert lines[5] == "  deployed without a passing gate: 2 of 4 deployments"
    assert lines[6:8] == ["  recommendations:", f"    - {advice}"] and len(lines) == 8


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--days", "0"], "--days must be 1 to 366"),
        (["--environment", "<prod>"], "--environment must be 1 to 100 characters"),
        (["--store", "/nonexistent/store.db"], "no store here"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    recorded: tuple[Path, dict[str, str]], arguments: list[str], message: str
) -> None:
    path, _ = recorded
    completed = subprocess.run(
        [GATEKEEPER, "delivery", "--store", str(path), "--project", PROJECT, *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2, completed.stderr
    assert message in completed.stderr and "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


def test_report_includes_the_four_keys(recorded: tuple[Path, dict[str, str]]) -> None:
    path, _ = recorded
    command = [GATEKEEPER, "report", "--store", str(path), "--project", PROJECT, "--since", "14d"]
    markdown = subprocess.run([*command, "--format", "markdown"], capture_output=True, text=True, timeout=60)
    assert markdown.returncode == 0, markdown.stderr
    section = markdown.stdout.split("## Delivery: the four keys", 1)[1].split("## Verdicts", 1)[0]
    lines = [line for line in section.splitlines() if line]
    assert lines[0].startswith(f"{PROJECT} to {ENV}, last 14 days")
    assert lines[5].startswith("| change failure rate | 50% | low")
    assert "median 20.0 h, p90 31.2 h" in lines[4]
    assert lines[7] == "deployed without a passing gate: 2 of 4 deployments"
    assert lines[8].startswith("- 2 of 4 deployments (50%) went out without a passing gate verdict: record")
    html = subprocess.run([*command, "--format", "html"], capture_output=True, text=True, timeout=60)
    assert html.returncode == 0, html.stderr
    assert '<h2 id="delivery">Delivery: the four keys</h2>' in html.stdout
    assert '<tr><th scope="row">change failure rate</th><td class="num">50%</td>' in html.stdout
