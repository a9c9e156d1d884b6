"""The four keys against hand counts (gatekeeper.dora).

One history, two weeks of a project's production (2026-11-01, a Sunday, to 2026-11-15):

    before   D0 ok   Oct 30 09:00  ships c0 (Oct 29)                       - before the window
    Nov 2    D1 ok   09:00  ships c1 (squash merge of PROJ-1, Nov 1 09:00) and c2 (PROJ-2, Nov 1 12:00)
    Nov 3    D2 FAIL 12:00  ships c3 (PROJ-3, Nov 3 10:00)                 - a failed deployment
    Nov 3    D3 ok   14:00  ships c3 again and c4 (the fix, 13:00)         - then a fix; recorded twice
    Nov 5    I1 opened 08:00, caused by c4 (so by D3), not resolved, restored by the next deployment:
    Nov 5    D4 ok   10:00  ships c5 (Revert "PROJ-3 …", 09:30)
    Nov 10   D5 ok   09:00  ships c6 (Nov 9 09:00) and c1 again (a redeploy of a shipped commit)
    Nov 10   I2 opened 10:00 caused by D5, resolved Nov 11 10:00 (recorded twice)
    Nov 12   I3 opened, neither resolved nor followed by a deployment

Hand counts: 5 deployments (D1-D5; D0 is before, D3 once), 4 successful, 1 failed, 2 that caused an
incident (D3, D5): change failure 3 / 5 = 60 %.  Lead times: c1 24 h, c2 21 h, c3 4 h (to D3, its first
*successful* deployment), c4 1 h, c5 0.5 h, c6 24 h (c1's redeploy is not a new change; c0 was first
shipped before the window): median (4 + 21) / 2 = 12.5 h, p90 24 h.  Restore: I1 2 h (to D4), I2 24 h,
I3 open: median 13 h.  Frequency: 4 successful in 14 days = 2 a week; days deployed per week 3 and 1.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from gatekeeper import dora
from gatekeeper.delivery import DeployedCommit, Deployment, Incident

P, ENV = "bank/ledger", "prod"
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 15, tzinfo=UTC)
H = 3600.0


def at(day: int, hour: float, month: int = 11) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour)


def commit(sha: str, when: datetime, *keys: str) -> DeployedCommit:
    return DeployedCommit(sha=sha * 8, committed_at=when, keys=keys)


C0 = commit("c0", at(29, 9, 10))
C1 = commit("c1", at(1, 9), "PROJ-1")
C2 = commit("c2", at(1, 12), "PROJ-2")
C3 = commit("c3", at(3, 10), "PROJ-3")
C4 = commit("c4", at(3, 13), "PROJ-3")
C5 = commit("c5", at(5, 9.5), "PROJ-3")
C6 = commit("c6", at(9, 9), "PROJ-4")


def deployment(
    name: str, when: datetime, head: DeployedCommit, *commits: DeployedCommit, ok: bool = True, **extra: str
) -> Deployment:
    return Deployment(
        id=name,
        project=P,
        environment=ENV,
        commit=head.sha,
        status="success" if ok else "failure",
        deployed_at=when,
        commits=commits or (head,),
        verdict_id=extra.get("verdict"),
    )


D0 = deployment("D0", at(30, 9, 10), C0)
D1 = deployment("D1", at(2, 9), C2, C1, C2)
D2 = deployment("D2", at(3, 12), C3, C3, ok=False, verdict="v-fail")
D3 = deployment("D3", at(3, 14), C4, C3, C4, verdict="v-warn")
D4 = deployment("D4", at(5, 10), C5)
D5 = deployment("D5", at(10, 9), C6, C6, C1)
OTHER_ENV = Deployment(id="S1", project=P, environment="staging", commit=C1.sha, status="failure", deployed_at=at(2, 8))
DEPLOYMENTS = [D0, D1, D2, D3, D3, D4, D5, OTHER_ENV]

I1 = Incident(
    id="I1",
    project=P,
    environment=ENV,
    incident="INC-1",
    opened_at=at(5, 8),
    caused_by=C4.sha,
    caused_by_deployment="D3",
)
I2 = Incident(
    id="I2",
    project=P,
    environment=ENV,
    incident="INC-2",
    opened_at=at(10, 10),
    resolved_at=at(11, 10),
    caused_by_deployment="D5",
)
I3 = Incident(id="I3", project=P, environment=ENV, incident="INC-3", opened_at=at(12, 0))
ELSEWHERE = Incident(
    id="X", project="other", environment=ENV, incident="INC-1", opened_at=at(5, 8), caused_by_deployment="D1"
)
INCIDENTS = [I1, I2, I2, I3, ELSEWHERE]


def keys(**extra: object) -> dora.FourKeys:
    return dora.compute(DEPLOYMENTS, INCIDENTS, project=P, environment=ENV, since=SINCE, until=UNTIL, **extra)  # type: ignore[arg-type]


def test_counts_over_deployments_once_each() -> None:
    result = keys()
    assert (result.deployments, result.successful, result.failed, result.caused_incident) == (5, 4, 1, 2)
    assert result.change_failures == 3
    assert result.change_failure_percent == pytest.approx(60.0)


def test_lead_time_to_the_first_successful_deployment() -> None:
    result = keys()
    assert result.changes == 6
    assert result.lead_time_median == pytest.approx(12.5 * H)
    assert result.lead_time_p90 == pytest.approx(24 * H)
    assert dict(dora.first_deployment_lead_times(DEPLOYMENTS[:-1], SINCE, UNTIL)) == {
        C1.sha: 24 * H,
        C2.sha: 21 * H,
        C3.sha: 4 * H,
        C4.sha: 1 * H,
        C5.sha: 0.5 * H,
        C6.sha: 24 * H,
    }


def test_a_commit_dated_after_its_deployment_is_left_out_of_lead_time_and_counted() -> None:
    """A commit time is the committer's claim: one after the deployment that shipped it (a clock ahead, a
    forged date) would be a lead time of 0 and pull the median down; it is left out and counted instead."""
    ahead = commit("f1", at(6, 11))  # an hour after DX
    forged = commit("f2", at(1, 0, 12))  # a month after DX
    dx = deployment("DX", at(6, 10), ahead, ahead, forged)
    result = dora.compute([*DEPLOYMENTS, dx], INCIDENTS, project=P, environment=ENV, since=SINCE, until=UNTIL)
    assert result.dated_after_deployment == 2
    assert result.changes == 6  # the six dated before their deployment
    assert (result.lead_time_median, result.lead_time_p90) == (keys().lead_time_median, keys().lead_time_p90)
    assert dora.dated_after_note(result) == "2 commits dated after their deployment left out"
    assert dora.dated_after_note(replace(result, dated_after_deployment=1)) == (
        "1 commit dated after its deployment left out"
    )
    assert dora.dated_after_note(keys()) is None
    # Counted in the week of the deployment that shipped them, like the changes.
    weeks = dora.trend([*DEPLOYMENTS, dx], INCIDENTS, project=P, environment=ENV, since=SINCE, until=UNTIL)
    assert [week.dated_after_deployment for week in weeks] == [2, 0]
    # JSON: an additive field, read back; a server that does not send it has counted none.
    document = dora.document(result)
    assert document["dated_after_deployment"] == 2
    assert dora.from_document(document, "here")[0] == result
    del document["dated_after_deployment"]
    assert dora.from_document(document, "here")[0].dated_after_deployment == 0
    # A commit dated exactly at its deployment is a lead time of 0, not left out.
    exact = commit("f3", at(6, 10))
    on_time = dora.compute(
        [deployment("DY", at(6, 10), exact)], [], project=P, environment=ENV, since=SINCE, until=UNTIL
    )
    assert (on_time.changes, on_time.dated_after_deployment, on_time.lead_time_median) == (1, 0, 0.0)


def test_time_to_restore_to_resolution_or_the_next_deployment() -> None:
    result = keys()
    assert (result.incidents, result.restored, result.open_incidents) == (3, 2, 1)
    assert result.restore_median == pytest.approx(13 * H)


def test_frequency_and_buckets() -> None:
    result = keys()
    assert result.per_week == pytest.approx(2.0)
    assert result.per_day == pytest.approx(4 / 14)
    assert result.deployment_days == (date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 5), date(2026, 11, 10))
    assert result.frequency_rating == dora.Rated(bucket=dora.Bucket.HIGH, label="Weekly")
    assert result.lead_time_rating == dora.Rated(bucket=dora.Bucket.ELITE, label="One day")
    assert result.restore_rating == dora.Rated(bucket=dora.Bucket.ELITE, label="One day")
    assert result.change_failure_rating == dora.Rated(bucket=dora.Bucket.LOW, label="46-100%")
    assert result.bucket is dora.Bucket.LOW


def test_the_four_keys_thresholds() -> None:
    assert dora.rate_lead_time(23.9 * H).bucket is dora.Bucket.ELITE  # type: ignore[union-attr]
    assert dora.rate_lead_time(24 * H).label == "One week"  # type: ignore[union-attr]
    assert dora.rate_lead_time(729 * H).label == "One month"  # type: ignore[union-attr]
    assert dora.rate_lead_time(730 * H).label == "Six months"  # type: ignore[union-attr]
    assert dora.rate_lead_time(4380 * H).label == "One year"  # type: ignore[union-attr]
    assert dora.rate_restore(700 * H).label == "Six months"  # type: ignore[union-attr]  (672 h there)
    assert dora.rate_change_failure(15, 100).bucket is dora.Bucket.ELITE  # type: ignore[union-attr]
    assert dora.rate_change_failure(16, 100).bucket is dora.Bucket.MEDIUM  # type: ignore[union-attr]
    assert dora.rate_change_failure(45, 100).bucket is dora.Bucket.MEDIUM  # type: ignore[union-attr]
    assert dora.rate_change_failure(46, 100).bucket is dora.Bucket.LOW  # type: ignore[union-attr]
    assert dora.rate_change_failure(0, 0) is None
    # Daily: the median week has deployments on 3 days or more (Sunday-started weeks).
    days = [date(2026, 11, d) for d in (2, 3, 4, 9, 10, 11)]
    assert dora.rate_frequency(days, SINCE, UNTIL).label == "Daily"  # type: ignore[union-attr]
    # One week in two with a deployment: the median week has none, but its month has one: Monthly.
    assert dora.rate_frequency([date(2026, 11, 2)], SINCE, UNTIL).label == "Monthly"  # type: ignore[union-attr]
    assert dora.rate_frequency([], SINCE, UNTIL).label == "Yearly"  # type: ignore[union-attr]


def test_percentile_is_postgresqls_percentile_cont() -> None:
    # SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY x) FROM unnest('{1,2,3,4,10}'::float[]) x; -> 7.6
    assert dora.percentile([10, 1, 3, 2, 4], 0.9) == pytest.approx(7.6)
    assert dora.percentile([1, 2, 3, 4], 0.5) == pytest.approx(2.5)
    assert dora.percentile([], 0.5) is None


def test_deployments_without_a_passing_gate() -> None:
    statuses = {"v-fail": "fail", "v-warn": "warn"}
    passed_commits = {(P, C2.sha), (P, C6.sha)}

    def passing(event: Deployment) -> bool:
        return dora.gate_passing(
            event,
            verdict_status=statuses.get,
            commit_passed=lambda project, sha: (project, sha) in passed_commits,
        )

    flagged = [event.id for event in dora.unique(DEPLOYMENTS) if event.environment == ENV and not passing(event)]
    assert flagged == ["D0", "D2", "D4"]  # D2 names a failing verdict, D0 and D4 have none
    assert keys(passing=passing).ungated == 2  # D0 is before the window


def test_trend_by_week() -> None:
    weeks = dora.trend(DEPLOYMENTS, INCIDENTS, project=P, environment=ENV, since=SINCE, until=UNTIL)
    assert [(week.deployments, week.failed, week.caused_incident, week.changes) for week in weeks] == [
        (4, 1, 1, 5),
        (1, 0, 1, 1),
    ]
    assert [week.restore_median for week in weeks] == [2 * H, 24 * H]


def test_recommendations_only_with_their_numbers() -> None:
    advice = dora.recommendations(keys(passing=lambda event: event.id not in {"D2", "D4"}))
    assert advice[0].startswith("3 of 5 deployments (60%) failed (1) or caused an incident (2)")
    assert advice[1].startswith("2 of 5 deployments (40%) went out without a passing gate verdict")
    assert advice[2].startswith("1 of 3 incidents opened in the window is neither resolved")
    assert len(advice) == 3  # restore and lead time are elite: nothing to say about them


def test_waiting_for_deployment_is_said_only_when_most_changes_wait() -> None:
    # Five changes, each committed 4 days before its deployment and passed by the gate 3 days before it.
    events = [
        Deployment(
            id=f"W{n}",
            project=P,
            environment=ENV,
            commit=f"{n:07x}",
            status="success",
            deployed_at=at(5 + 2 * n, 12),
            commits=(DeployedCommit(sha=f"{n:07x}", committed_at=at(1 + 2 * n, 12)),),
        )
        for n in range(5)
    ]
    result = dora.compute(events, [], project=P, environment=ENV, since=SINCE, until=UNTIL)
    assert result.lead_time_median == pytest.approx(4 * 24 * H)

    def waits(days_before: list[float]) -> list[float]:
        passed = {f"W{n}": at(5 + 2 * n, 12) - timedelta(days=days) for n, days in enumerate(days_before)}
        return dora.verdict_waits(events, since=SINCE, until=UNTIL, last_pass=lambda event: passed.get(event.id))

    advice = dora.recommendations(result, waits([3, 3, 3, 3, 0.5]))
    assert advice == [
        "lead time is dominated by waiting for deployment: 80% of changes (4 of 5) waited more than "
        "2 days after their last passing verdict (median lead time 4.0 d); deploying passed changes "
        "sooner would shorten it"
    ]
    assert dora.recommendations(result, waits([3, 3, 0.5, 0.5, 0.5])) == []  # 2 of 5: not dominated
    assert dora.recommendations(result, waits([3, 3, 3])) == []  # 3 changes with a verdict: too few to say


def test_the_low_change_failure_band_is_labelled_with_its_real_range() -> None:
    # 5 of 5 deployments failed: Four Keys' own label "46-60%" would show 100% as "low (46-60%)"
    assert dora.rate_change_failure(5, 5) == dora.Rated(bucket=dora.Bucket.LOW, label="46-100%")
    assert dora.rate_change_failure(23, 50) == dora.Rated(bucket=dora.Bucket.LOW, label="46-100%")
    assert dora.rate_change_failure(22, 50) == dora.Rated(bucket=dora.Bucket.MEDIUM, label="16-45%")
