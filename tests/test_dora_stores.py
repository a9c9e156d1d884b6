"""The server's four keys on SQLite (rows read, gatekeeper.dora computes) and on PostgreSQL (aggregated in
SQL) give the hand counts of tests/test_dora.py, for the window and for each week of the trend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gatekeeper import dora
from gatekeeper.server import db
from gatekeeper.server.web import delivery
from gatekeeper.store.codec import utc_text
from tests import test_dora as history

H = 3600.0


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'server.db'}"
        made = db.open_database(url)
        yield made
        made.dispose()
        return
    from tests.client.realserver import postgres_database

    with postgres_database() as url:
        made = db.open_database(url)
        try:
            yield made
        finally:
            made.dispose()


def verdict_row(verdict_id: str, commit: str, status: str, received: datetime, keys: list[str]) -> dict[str, object]:
    body = {"id": verdict_id, "status": status, "trace": {"pattern": "x", "commits": [], "keys": keys}}
    return {
        "id": verdict_id,
        "created_at": utc_text(received),
        "status": status,
        "project": history.P,
        "commit": commit,
        "body": json.dumps(body),
        "received_at": utc_text(received),
    }


def fill(engine: Engine, shift: timedelta = timedelta(0)) -> None:
    """The history of tests/test_dora.py as the server's rows (D3 and I2 once: the store is idempotent),
    every time moved by `shift`."""
    with engine.begin() as connection:
        for event in history.dora.unique(history.DEPLOYMENTS):
            connection.execute(
                text(
                    'INSERT INTO deployments (id, project, environment, "commit", status, verdict_id, pipeline, '
                    "url, deployed_at, claimed_at, body) VALUES (:id, :project, :environment, :commit, :status, "
                    ":verdict_id, NULL, NULL, :deployed_at, NULL, '{}')"
                ),
                {
                    "id": event.id,
                    "project": event.project,
                    "environment": event.environment,
                    "commit": event.commit,
                    "status": event.status,
                    "verdict_id": event.verdict_id,
                    "deployed_at": utc_text(event.deployed_at + shift),
                },
            )
            for commit in event.commits:
                connection.execute(
                    text(
                        "INSERT INTO deployment_commits (deployment_id, sha, committed_at, keys) "
                        "VALUES (:deployment, :sha, :committed, :keys)"
                    ),
                    {
                        "deployment": event.id,
                        "sha": commit.sha,
                        "committed": utc_text(commit.committed_at + shift),
                        "keys": " ".join(commit.keys),
                    },
                )
        for incident in {incident.id: incident for incident in history.INCIDENTS}.values():
            connection.execute(
                text(
                    "INSERT INTO incidents (id, project, environment, incident, opened_at, resolved_at, caused_by, "
                    "caused_by_deployment, resolved_by_deployment) VALUES (:id, :project, :environment, :incident, "
                    ":opened, :resolved, :caused_by, :caused_dep, :resolved_dep)"
                ),
                {
                    "id": incident.id,
                    "project": incident.project,
                    "environment": incident.environment,
                    "incident": incident.incident,
                    "opened": utc_text(incident.opened_at + shift),
                    "resolved": None if incident.resolved_at is None else utc_text(incident.resolved_at + shift),
                    "caused_by": incident.caused_by,
                    "caused_dep": incident.caused_by_deployment,
                    "resolved_dep": incident.resolved_by_deployment,
                },
            )
        # The gate: D2 names a failing verdict, D3 a warn one; D1 and D5's commits passed; D4's did not.
        rows = [
            verdict_row("v-fail", history.C3.sha, "fail", history.at(3, 11), []),
            verdict_row("v-warn", history.C4.sha, "warn", history.at(3, 13.5), ["PROJ-3"]),
            verdict_row("v-d1", history.C2.sha, "pass", history.at(1, 13), ["PROJ-1", "PROJ-2"]),
            verdict_row("v-d5", history.C6.sha, "pass", history.at(9, 10), ["PROJ-4"]),
            verdict_row("v-d4", history.C5.sha, "fail", history.at(5, 9.75), ["PROJ-3"]),
        ]
        for row in rows:
            moved = utc_text(datetime.fromisoformat(str(row["received_at"]).replace("Z", "+00:00")) + shift)
            connection.execute(db.verdicts.insert(), row | {"created_at": moved, "received_at": moved})


def test_both_databases_give_the_hand_counts(engine: Engine) -> None:
    fill(engine)
    found = delivery.delivery(engine, history.P, history.ENV, history.SINCE, history.UNTIL)
    keys = found.keys
    assert (keys.deployments, keys.successful, keys.failed, keys.caused_incident) == (5, 4, 1, 2)
    assert keys.changes == 6
    assert keys.lead_time_median == pytest.approx(12.5 * H)
    assert keys.lead_time_p90 == pytest.approx(24 * H)
    assert (keys.incidents, keys.restored, keys.open_incidents) == (3, 2, 1)
    assert keys.restore_median == pytest.approx(13 * H)
    assert keys.deployment_days == history.keys().deployment_days
    assert keys.ungated == 2  # D2 (its verdict failed) and D4 (no passing verdict at its commit)
    assert keys.bucket is dora.Bucket.LOW
    assert [(week.deployments, week.failed, week.caused_incident, week.changes) for week in found.trend] == [
        (4, 1, 1, 5),
        (1, 0, 1, 1),
    ]
    assert [week.restore_median for week in found.trend] == [pytest.approx(2 * H), pytest.approx(24 * H)]
    # Waits from the last passing verdict: D1 20 h (2 changes), D3 0.5 h (2), D5 23 h (2); D4 has none.
    assert found.advice[:2] == dora.recommendations(history.keys(passing=lambda e: e.id not in {"D2", "D4"}))[:2]
    assert delivery.four_keys(engine, history.P, history.ENV, history.SINCE, history.UNTIL) == keys
    assert delivery.environments(engine, history.P) == ["prod", "staging"]


def add_dated_after(engine: Engine) -> None:
    """A deployment DX on day 6 shipping two commits dated after it: a clock ahead (f1) and a forged date (f2)."""
    ahead = history.commit("f1", history.at(6, 11))
    forged = history.commit("f2", history.at(1, 0, 12))
    with engine.begin() as connection:
        connection.execute(
            text(
                'INSERT INTO deployments (id, project, environment, "commit", status, deployed_at, body) '
                "VALUES ('DX', :project, :environment, :commit, 'success', :at, '{}')"
            ),
            {"project": history.P, "environment": history.ENV, "commit": ahead.sha, "at": utc_text(history.at(6, 10))},
        )
        for item in (ahead, forged):
            connection.execute(
                text(
                    "INSERT INTO deployment_commits (deployment_id, sha, committed_at, keys) "
                    "VALUES ('DX', :sha, :at, '')"
                ),
                {"sha": item.sha, "at": utc_text(item.committed_at)},
            )


def test_commits_dated_after_their_deployment_are_left_out_on_both_databases(engine: Engine) -> None:
    """SQLite (dora computes) and PostgreSQL (SQL aggregates) leave the same commits out and count them."""
    fill(engine)
    add_dated_after(engine)
    found = delivery.delivery(engine, history.P, history.ENV, history.SINCE, history.UNTIL)
    assert (found.keys.changes, found.keys.dated_after_deployment) == (6, 2)
    assert found.keys.lead_time_median == pytest.approx(12.5 * H)  # as without them
    assert found.keys.lead_time_p90 == pytest.approx(24 * H)
    assert [week.dated_after_deployment for week in found.trend] == [2, 0]


def test_deployments_listed_with_their_gate(engine: Engine) -> None:
    fill(engine)
    rows = delivery.recent_deployments(engine, history.P, history.ENV)
    assert [(row.id, row.verdict_id, row.gated) for row in rows] == [
        ("D5", "v-d5", True),
        ("D4", "v-d4", False),
        ("D3", "v-warn", True),
        ("D2", "v-fail", False),
        ("D1", "v-d1", True),
        ("D0", None, False),
    ]
    assert [row.commits for row in rows] == [2, 1, 2, 1, 2, 1]
    older = delivery.recent_deployments(
        engine, history.P, history.ENV, before=(utc_text(rows[1].deployed_at), rows[1].id), limit=2
    )
    assert [row.id for row in older] == ["D3", "D2"]


def test_a_releases_issue_keys_and_which_no_passing_verdict_names(engine: Engine) -> None:
    fill(engine)
    deployment, keys = delivery.deployment_keys(engine, "D1")
    assert deployment is not None and deployment.commit == history.C2.sha
    assert [(key.key, key.passed) for key in keys] == [("PROJ-1", True), ("PROJ-2", True)]
    _, keys = delivery.deployment_keys(engine, "D4")
    assert [(key.key, key.passed) for key in keys] == [("PROJ-3", False)]  # its only verdict failed
    _, keys = delivery.deployment_keys(engine, "D5")
    assert [(key.key, key.passed) for key in keys] == [("PROJ-1", False), ("PROJ-4", True)]
    assert delivery.deployment_keys(engine, "nope") == (None, [])


def test_an_empty_window(engine: Engine) -> None:
    fill(engine)
    since = history.UNTIL + timedelta(days=30)
    keys = delivery.four_keys(engine, history.P, history.ENV, since, since + timedelta(days=7))
    assert (keys.deployments, keys.changes, keys.incidents) == (0, 0, 0)
    assert keys.lead_time_median is None and keys.restore_median is None and keys.change_failure_percent is None


def test_the_gauges_figures_on_both_databases(engine: Engine) -> None:
    fill(engine)
    # The last 30 days before Nov 15 hold D0 too: 6 deployments, 5 successful; D0's commit c0 is a change.
    found = delivery.all_figures(engine, history.UNTIL)
    # "other" deployed nothing, but its incident X (open since Nov 5) is in the window: listed, not restored.
    assert [(f.project, f.environment) for f in found] == [
        (history.P, "prod"),
        (history.P, "staging"),
        ("other", "prod"),
    ]
    prod, staging, other = found
    assert (other.deployments, other.change_failures, other.restore_median) == (0, 0, None)
    assert (prod.deployments, prod.successful, prod.change_failures, prod.ungated) == (6, 5, 3, 3)
    assert prod.lead_time_median == pytest.approx(21 * H)  # 0.5, 1, 4, 21, 24, 24, 24: the fourth
    assert prod.lead_time_p90 == pytest.approx(24 * H)
    assert prod.restore_median == pytest.approx(13 * H)
    assert (staging.deployments, staging.successful, staging.change_failures) == (1, 0, 1)
    assert staging.lead_time_median is None and staging.restore_median is None


def test_the_gauges_leave_out_commits_dated_after_their_deployment_on_both_databases(engine: Engine) -> None:
    """/metrics' lead time is the page's and `gatekeeper delivery`'s: PostgreSQL's all-projects query once
    counted such commits as 0 s, pulling the median down (21 h -> 4 h here), where SQLite left them out."""
    fill(engine)
    add_dated_after(engine)
    prod = delivery.all_figures(engine, history.UNTIL)[0]
    assert (prod.project, prod.environment) == (history.P, "prod")
    assert prod.lead_time_median == pytest.approx(21 * H)  # as without them: 0.5, 1, 4, 21, 24, 24, 24
    assert prod.lead_time_p90 == pytest.approx(24 * H)
    keys = delivery.four_keys(engine, history.P, "prod", history.UNTIL - timedelta(days=30), history.UNTIL)
    assert (prod.lead_time_median, prod.lead_time_p90) == (keys.lead_time_median, keys.lead_time_p90)


def test_an_environment_with_incidents_and_no_deployments_is_listed(engine: Engine) -> None:
    # A disaster-recovery site nothing is deployed to has an incident, open Nov 8 09:00 to 14:00: 5 h to restore.
    fill(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO incidents (id, project, environment, incident, opened_at, resolved_at) "
                "VALUES ('DR1', :project, 'dr', 'INC-9', :opened, :resolved)"
            ),
            {"project": history.P, "opened": utc_text(history.at(8, 9)), "resolved": utc_text(history.at(8, 14))},
        )
    assert delivery.environments(engine, history.P) == ["dr", "prod", "staging"]
    keys = delivery.four_keys(engine, history.P, "dr", history.SINCE, history.UNTIL)
    assert (keys.deployments, keys.incidents, keys.restored) == (0, 1, 1)
    assert keys.restore_median == pytest.approx(5 * H)
    found = {(f.project, f.environment): f for f in delivery.all_figures(engine, history.UNTIL)}
    assert sorted(found) == [(history.P, "dr"), (history.P, "prod"), (history.P, "staging"), ("other", "prod")]
    dr = found[(history.P, "dr")]
    assert (dr.deployments, dr.successful, dr.change_failures, dr.ungated, dr.lead_time_median) == (0, 0, 0, 0, None)
    assert dr.restore_median == pytest.approx(5 * H)


def test_a_passing_verdict_at_a_prefix_of_the_deployed_commit_gates_it(engine: Engine) -> None:
    # D4 shipped c5c5c5c5c5c5c5c5 and no verdict passed it (ungated 2: D2 and D4). Passing verdicts at
    # 'c5c5c5' (6 digits: too short to be a commit) and 'c5c5c5c0' (not its prefix) change nothing; one
    # at 'c5c5c5c5c' (`check --commit c5c5c5c5c` outside a clone) gates it.
    fill(engine)
    sha = history.C5.sha

    def add(verdict_id: str, commit: str) -> None:
        with engine.begin() as connection:
            connection.execute(db.verdicts.insert(), verdict_row(verdict_id, commit, "pass", history.at(5, 9.8), []))

    add("v-short", sha[:6])
    add("v-other", sha[:7] + "0")
    keys = delivery.four_keys(engine, history.P, history.ENV, history.SINCE, history.UNTIL)
    assert keys.ungated == 2
    add("v-prefix", sha[:9])
    keys = delivery.four_keys(engine, history.P, history.ENV, history.SINCE, history.UNTIL)
    assert keys.ungated == 1  # D2 alone: it names a failing verdict
    rows = {row.id: row for row in delivery.recent_deployments(engine, history.P, history.ENV)}
    assert (rows["D4"].verdict_id, rows["D4"].gated) == ("v-prefix", True)
    assert (rows["D5"].verdict_id, rows["D5"].gated) == ("v-d5", True)  # exact ids still match
